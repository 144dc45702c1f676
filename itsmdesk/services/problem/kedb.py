"""The known error database: suggestions while recording an incident, linking, workarounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.incident import Incident
from itsmdesk.models.problem import KnownError
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.textsearch import fts_ids


@dataclass(frozen=True)
class KnownErrorHit:
    id: Any
    ref: str
    title: str
    workaround: str
    error_code: str | None
    solution_status: str
    rank: float


def suggest(text: str, limit: int = 10, include_retired: bool = False) -> list[KnownErrorHit]:
    """Known errors matching the words of ``text`` (an incident's title/description), best first."""
    ranked = fts_ids("known_error", text, limit * 3)
    if not ranked:
        return []
    rows = {ke.id: ke for ke in KnownError.select().where(KnownError.id.in_([r[0] for r in ranked]))}
    hits = []
    for ke_id, rank, _snippet in ranked:
        ke = rows.get(ke_id)
        if ke is None or (ke.status == "retired" and not include_retired):
            continue
        hits.append(KnownErrorHit(ke.id, ke.ref, ke.title, ke.workaround or "", ke.error_code,
                                  ke.solution_status, rank))
    return hits[:limit]


def link_incident(incident_id: Any, ke_id: Any, actor: Actor = SYSTEM,
                  version: int | None = None) -> Incident:
    """One-click link: the incident is a case of this known error (and of its problem).
    ``version``: the incident's version as the agent saw it (a stale link conflicts)."""
    with records.atomic():
        ke = records.get(KnownError, ke_id)
        inc = records.get(Incident, incident_id)
        changes: dict[str, Any] = {"known_error": ke.id}
        if ke.problem_id and not inc.problem_id:
            changes["problem"] = ke.problem_id
        return records.update(Incident, inc.id, version, changes, actor)


def apply_workaround(incident_id: Any, ke_id: Any, actor: Actor = SYSTEM,
                     version: int | None = None) -> Incident:
    """Link the incident to the known error and note the workaround in its work log."""
    from itsmdesk.services.servicedesk.incidents import add_work_log

    with records.atomic():
        ke = records.get(KnownError, ke_id)
        if not (ke.workaround or "").strip():
            raise ValidationError(N_("{ref} has no workaround to apply"), field="workaround",
                                  ref=ke.ref)
        inc = link_incident(incident_id, ke.id, actor, version)
        add_work_log(inc.id, f"Workaround from {ke.ref} ({ke.title}) applied:\n"
                     f"{ke.workaround.strip()}", actor)
        return records.get(Incident, inc.id)


def incidents_of(ke_id: Any, limit: int = 200) -> list[Incident]:
    return list(Incident.select().where(Incident.known_error == ke_id)
                .order_by(Incident.opened_at.desc()).limit(limit))
