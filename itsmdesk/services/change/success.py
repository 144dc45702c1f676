"""Change success rate: per period (month), type or team.

A change *succeeds* when it was implemented without harming the business: it reached
``implemented``/``in_review``/``closed`` (not ``failed`` or ``backed_out``), its PIR outcome is not
"failed" or "partially", and the PIR links no incident it caused.  Only finished changes count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.change import Change
from itsmdesk.models.incident import ChangeIncident
from itsmdesk.models.people import Team
from itsmdesk.services.change.lifecycle import FINISHED

GROUPINGS = ("type", "team", "month")


@dataclass
class SuccessRow:
    key: str
    finished: int = 0
    successful: int = 0
    failed: int = 0  # failed or backed out
    caused_incidents: int = 0

    @property
    def rate(self) -> float:
        return round(self.successful / self.finished, 4) if self.finished else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rate"] = self.rate
        return d


def is_successful(status: str, pir_outcome: str | None, caused: int) -> bool:
    return (status not in ("failed", "backed_out") and pir_outcome not in ("failed", "partially")
            and caused == 0)


def success_rate(by: str = "month", start: dt.datetime | None = None,
                 end: dt.datetime | None = None) -> list[SuccessRow]:
    """Rows per group plus a final ``total`` row."""
    if by not in GROUPINGS:
        raise ValidationError(N_("Group by '{value}' is not one of: {allowed}"), field="by",
                              value=by, allowed=", ".join(GROUPINGS))
    when = Change.actual_end
    query = (Change.select(Change.id, Change.type, Change.team, Change.status, Change.pir_outcome,
                           Change.actual_end, Change.planned_end, Change.updated_at)
             .where(Change.status.in_(FINISHED)))
    if start:
        query = query.where(when >= start)
    if end:
        query = query.where(when < end)
    caused: dict = defaultdict(int)
    for cid, _inc in (ChangeIncident.select(ChangeIncident.change, ChangeIncident.incident)
                      .tuples()):
        caused[cid] += 1
    teams = dict(Team.select(Team.id, Team.name).tuples()) if by == "team" else {}
    groups: dict[str, SuccessRow] = {}
    total = SuccessRow("total")
    for cid, ctype, team, status, pir, actual_end, planned_end, updated in query.tuples():
        if by == "type":
            key = ctype
        elif by == "team":
            key = teams.get(team, "(no team)")
        else:
            moment = actual_end or planned_end or updated
            key = moment.strftime("%Y-%m") if moment else "(undated)"
        row = groups.setdefault(key, SuccessRow(key))
        n = caused.get(cid, 0)
        for r in (row, total):
            r.finished += 1
            r.caused_incidents += n
            if status in ("failed", "backed_out"):
                r.failed += 1
            if is_successful(status, pir, n):
                r.successful += 1
    return [groups[k] for k in sorted(groups)] + [total]
