"""Problem Management: problems and known errors (create/update/get/link)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError
from itsmdesk.models.incident import Incident
from itsmdesk.models.problem import (
    KE_SOLUTION_STATUSES,
    PROBLEM_STATUSES,
    KnownError,
    KnownErrorCI,
    Problem,
    ProblemCI,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.validation import one_of, required_text


def create_problem(values: dict[str, Any], actor: Actor = SYSTEM, cis: list | None = None) -> Problem:
    required_text(values, "title", "Title")
    one_of(values, "status", PROBLEM_STATUSES, "Status")
    with records.atomic():
        problem = records.create(Problem, values, actor, ref_prefix="PRB")
        records.set_links(ProblemCI, problem.id, "ci", [getattr(ci, "id", ci) for ci in cis or []],
                          actor)
        return problem


def update_problem(problem_id, version: int | None, changes: dict[str, Any],
                   actor: Actor = SYSTEM) -> Problem:
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "status", PROBLEM_STATUSES, "Status")
    with records.atomic():
        return records.update(Problem, problem_id, version, changes, actor)


def link_incidents(problem_id, incident_ids: list, actor: Actor = SYSTEM,  # noqa: ANN001
                   versions: dict | None = None) -> int:
    """Point incidents at a problem (each incident's change is journalled).  ``versions``
    (incident id -> version the caller saw) makes a stale incident raise a conflict."""
    with records.atomic():
        problem = records.get(Problem, problem_id)
        count = 0
        for incident_id in incident_ids:
            inc = records.get(Incident, incident_id)
            if inc.problem_id != problem.id:
                records.update(Incident, inc.id, (versions or {}).get(incident_id),
                               {"problem": problem.id}, actor)
                count += 1
        return count


def create_known_error(values: dict[str, Any], actor: Actor = SYSTEM,
                       cis: list | None = None) -> KnownError:
    required_text(values, "title", "Title")
    one_of(values, "solution_status", KE_SOLUTION_STATUSES, "Solution status")
    with records.atomic():
        ke = records.create(KnownError, values, actor, ref_prefix="KE")
        records.set_links(KnownErrorCI, ke.id, "ci", [getattr(ci, "id", ci) for ci in cis or []],
                          actor)
        return ke


def update_known_error(ke_id, version: int | None, changes: dict[str, Any],
                       actor: Actor = SYSTEM) -> KnownError:
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "solution_status", KE_SOLUTION_STATUSES, "Solution status")
    with records.atomic():
        return records.update(KnownError, ke_id, version, changes, actor)


# --- queries for the views and the CLI -----------------------------------------------------------

def get_problem(problem_id) -> Problem:  # noqa: ANN001
    return records.get(Problem, problem_id)


def get_known_error(ke_id) -> KnownError:  # noqa: ANN001
    return records.get(KnownError, ke_id)


def list_problems(statuses: tuple[str, ...] | list[str] | None = None, text: str = "",
                  limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """Problems as plain rows (ref, title, status, priority, CI/service name, incident count),
    newest first; ``text`` searches the full text (ranked) or a reference."""
    from itsmdesk.models.cmdb import CI

    query = Problem.select(Problem.id, Problem.ref, Problem.title, Problem.status,
                           Problem.priority, Problem.ci, Problem.service, Problem.created_at,
                           Problem.updated_at)
    if statuses:
        query = query.where(Problem.status.in_(list(statuses)))
    order: list = [Problem.created_at.desc()]
    if text and text.strip():
        term = text.strip()
        if term.upper().startswith("PRB-"):
            query = query.where(Problem.ref.startswith(term.upper()))
        else:
            from itsmdesk.services.textsearch import fts_ids

            ranked = [r[0] for r in fts_ids("problem", term, 500)]
            query = query.where(Problem.id.in_(ranked or [None]))
    rows = list(query.order_by(*order).limit(limit).offset(offset))
    ids = [p.id for p in rows]
    counts: dict = {}
    if ids:
        from peewee import fn

        for pid, n in (Incident.select(Incident.problem, fn.COUNT(Incident.id))
                       .where(Incident.problem.in_(ids)).group_by(Incident.problem).tuples()):
            counts[pid] = n
    ci_ids = {p.ci_id for p in rows if p.ci_id} | {p.service_id for p in rows if p.service_id}
    names = {c.id: c.name for c in CI.select(CI.id, CI.name).where(CI.id.in_(list(ci_ids)))} \
        if ci_ids else {}
    return [{"id": p.id, "ref": p.ref, "title": p.title, "status": p.status,
             "priority": p.priority, "ci": names.get(p.ci_id, ""),
             "service": names.get(p.service_id, ""), "incidents": counts.get(p.id, 0),
             "created_at": p.created_at} for p in rows]


def list_known_errors(text: str = "", limit: int = 200, include_retired: bool = False
                      ) -> list[dict[str, Any]]:
    """Known errors as plain rows; with ``text`` ranked by full-text search."""
    from peewee import fn

    if text and text.strip():
        from itsmdesk.services.problem.kedb import suggest

        hits = suggest(text, limit, include_retired)
        ids = [h.id for h in hits]
    else:
        query = KnownError.select(KnownError.id).order_by(KnownError.created_at.desc())
        if not include_retired:
            query = query.where(KnownError.status != "retired")
        ids = [k.id for k in query.limit(limit)]
    if not ids:
        return []
    rows = {k.id: k for k in KnownError.select().where(KnownError.id.in_(ids))}
    counts = dict(Incident.select(Incident.known_error, fn.COUNT(Incident.id))
                  .where(Incident.known_error.in_(ids)).group_by(Incident.known_error).tuples())
    out = []
    for ke_id in ids:
        k = rows[ke_id]
        out.append({"id": k.id, "ref": k.ref, "title": k.title, "error_code": k.error_code or "",
                    "solution_status": k.solution_status, "status": k.status,
                    "workaround": k.workaround or "", "incidents": counts.get(k.id, 0)})
    return out


def linked_incidents(problem_id, limit: int = 1000) -> list[dict[str, Any]]:  # noqa: ANN001
    from itsmdesk.models.cmdb import CI

    rows = list(Incident.select(Incident.id, Incident.ref, Incident.title, Incident.status,
                                Incident.opened_at, Incident.resolved_at, Incident.priority,
                                Incident.ci)
                .where(Incident.problem == problem_id).order_by(Incident.opened_at.desc())
                .limit(limit))
    ci_ids = list({r.ci_id for r in rows if r.ci_id})
    names = {c.id: c.name for c in CI.select(CI.id, CI.name).where(CI.id.in_(ci_ids))} \
        if ci_ids else {}
    return [{"id": r.id, "ref": r.ref, "title": r.title, "status": r.status,
             "priority": r.priority, "opened_at": r.opened_at, "resolved_at": r.resolved_at,
             "ci": names.get(r.ci_id, "")} for r in rows]


def affected_ci_names(kind: str, record_id) -> list[tuple[Any, str]]:  # noqa: ANN001
    from itsmdesk.models.cmdb import CI

    link, field = (ProblemCI, ProblemCI.problem) if kind == "problem" else \
        (KnownErrorCI, KnownErrorCI.known_error)
    query = (CI.select(CI.id, CI.name).join(link, on=(link.ci == CI.id))
             .where(field == record_id).order_by(CI.name))
    return [(c.id, c.name) for c in query]


def set_known_error_cis(ke_id, cis: list, actor: Actor = SYSTEM,  # noqa: ANN001
                        version: int | None = None) -> None:
    """The known error's CIs become exactly ``cis`` (a stale ``version`` conflicts)."""
    records.set_links(KnownErrorCI, ke_id, "ci", [getattr(ci, "id", ci) for ci in cis], actor,
                      version)


def business_services(limit: int = 1000) -> list[tuple[Any, str]]:
    """(id, name) of business services, for pickers."""
    from itsmdesk.models.cmdb import CI, CIClass

    query = (CI.select(CI.id, CI.name).join(CIClass).where(CIClass.is_service == True)  # noqa: E712
             .order_by(CI.name).limit(limit))
    return [(c.id, c.name) for c in query]


def load_problem(problem_id) -> dict[str, Any]:  # noqa: ANN001
    """Everything the problem form shows, in one call (run on the worker)."""
    from itsmdesk.services.problem import rca
    from itsmdesk.services.records import history

    problem = records.get(Problem, problem_id)
    return {
        "problem": problem,
        "ci_name": problem.ci.name if problem.ci_id else "",
        "incidents": linked_incidents(problem.id),
        "known_errors": [{"id": k.id, "ref": k.ref, "title": k.title,
                          "solution_status": k.solution_status}
                         for k in KnownError.select().where(KnownError.problem == problem.id)],
        "changes": [{"id": c.id, "ref": c.ref, "title": c.title, "status": c.status}
                    for c in problem.changes],
        "cis": affected_ci_names("problem", problem.id),
        "timeline": rca.timeline(problem.id),
        "history": history("problem", problem.id, limit=500),
    }


def ci_id_by_name(name: str):  # noqa: ANN201
    """A CI's id by its exact name, None for an empty name; ValidationError when unknown."""
    from itsmdesk.errors import N_, ValidationError
    from itsmdesk.models.cmdb import CI

    name = (name or "").strip()
    if not name:
        return None
    ci = CI.get_or_none(CI.name == name)
    if ci is None:
        raise ValidationError(N_("No CI is named '{name}'"), field="ci", name=name)
    return ci.id


@dataclass(frozen=True)
class LinkedRow:
    """A record listed on a form (an incident of a known error, a change raised for it)."""

    id: Any
    ref: str
    title: str
    status: str
    opened_at: dt.datetime | None = None


@dataclass(frozen=True)
class KnownErrorView:
    """Everything the known error form shows."""

    id: Any
    version: int
    ref: str
    title: str
    error_code: str | None
    solution_status: str
    status: str
    problem_ref: str
    symptom: str | None
    root_cause: str | None
    workaround: str | None
    cis: tuple[tuple[Any, str], ...]
    incidents: tuple[LinkedRow, ...]
    changes: tuple[LinkedRow, ...]

    @property
    def ci_names(self) -> list[str]:
        return [name for _id, name in self.cis]


def known_error_view(ke_id: Any) -> KnownErrorView:
    """The known error form's read model: four queries."""
    from itsmdesk.models.change import Change

    row = (KnownError.select(KnownError, Problem.ref.alias("problem_ref"))
           .join(Problem, pw.JOIN.LEFT_OUTER, on=(KnownError.problem == Problem.id))
           .where(KnownError.id == ke_id).objects().first())
    if row is None:
        raise NotFoundError(N_("No {kind} with id {id}"), kind="known_error", id=ke_id)
    incidents = tuple(LinkedRow(*r) for r in
                      Incident.select(Incident.id, Incident.ref, Incident.title, Incident.status,
                                      Incident.opened_at)
                      .where(Incident.known_error == row.id)
                      .order_by(Incident.opened_at.desc()).limit(500).tuples())
    changes = tuple(LinkedRow(*r) for r in
                    Change.select(Change.id, Change.ref, Change.title, Change.status)
                    .where(Change.known_error == row.id).order_by(Change.ref).tuples())
    return KnownErrorView(row.id, row.version, row.ref, row.title, row.error_code,
                          row.solution_status, row.status, row.problem_ref or "", row.symptom,
                          row.root_cause, row.workaround,
                          tuple(affected_ci_names("known_error", row.id)), incidents, changes)


KNOWN_ERROR_FIELDS = ("title", "error_code", "solution_status", "status", "symptom", "root_cause",
                      "workaround")


def save_known_error(ke_id: Any, version: int | None, edits: dict[str, Any],
                     actor: Actor = SYSTEM, new_id: Any = None) -> KnownError:
    """Create (``ke_id`` None, with key ``new_id``) or update a known error from the form's
    edits, in one transaction: its fields, ``problem_ref`` (a PRB reference or "") and
    ``ci_names`` (the affected CIs by name)."""
    values = {k: v for k, v in edits.items() if k in KNOWN_ERROR_FIELDS}
    with records.atomic():
        if "problem_ref" in edits:
            values["problem"] = problem_id_by_ref(edits["problem_ref"])
        cis = None
        if "ci_names" in edits:
            cis = [ci_id_by_name(n) for n in edits["ci_names"] if (n or "").strip()]
        if ke_id is None:
            if new_id is not None:
                values["id"] = new_id
            return create_known_error(values, actor, cis=cis)
        ke = update_known_error(ke_id, version, values, actor)
        if cis is not None:
            set_known_error_cis(ke.id, cis, actor, version)
        return ke


def problem_id_by_ref(ref: str):  # noqa: ANN201
    from itsmdesk.errors import N_, ValidationError

    ref = (ref or "").strip().upper()
    if not ref:
        return None
    problem = Problem.get_or_none(Problem.ref == ref)
    if problem is None:
        raise ValidationError(N_("No problem {ref}"), field="problem", ref=ref)
    return problem.id
