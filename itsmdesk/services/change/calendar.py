"""What the change calendar shows for a date range, as plain data (read on the DB worker).

``load(start, end, filters)`` returns a :class:`CalendarData`: changes (with their CIs, impacted
services and whether they conflict), releases, blackout and maintenance occurrences, and the
conflicts themselves.  No Qt here; the calendar dock paints it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from itsmdesk.models.change import Change, ChangeCI
from itsmdesk.models.cmdb import CI, CIClass
from itsmdesk.services.change.conflicts import Conflict, Occurrence, analyse, windows_between


@dataclass
class CalendarItem:
    kind: str  # change | release
    id: uuid.UUID
    ref: str
    title: str
    start: dt.datetime
    end: dt.datetime
    status: str
    risk: str | None = None
    type: str = ""
    team_id: uuid.UUID | None = None
    version: int = 1
    ci_ids: tuple = ()
    ci_names: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    conflict: bool = False


@dataclass
class CalendarData:
    start: dt.datetime
    end: dt.datetime
    items: list[CalendarItem] = field(default_factory=list)
    windows: list[Occurrence] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # what the conflict check compared (the conflicts view says it): the changes still on the
    # calendar in the range; a change without an end counted as ``stretch_minutes``
    compared: int = 0
    stretch_minutes: int = 60
    pairs: int = 0
    stretched_pairs: int = 0


@dataclass(frozen=True)
class Filters:
    team_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    status: str | None = None
    show_releases: bool = True


def business_services() -> list[tuple[uuid.UUID, str]]:
    """(id, name) of every business service, for the service filter."""
    return list(CI.select(CI.id, CI.name).join(CIClass)
                .where(CIClass.is_service == True).order_by(CI.name).tuples())  # noqa: E712


def teams() -> list[tuple[uuid.UUID, str]]:
    from itsmdesk.models.people import Team

    return list(Team.select(Team.id, Team.name).order_by(Team.name).tuples())


def _services_by_ci(ci_ids: set) -> dict:
    """CI id -> names of the business services it impacts (one joint walk for all of them)."""
    from itsmdesk.services.cmdb.impact_many import services_by_ci

    return {ci: tuple(sorted(s.name for s in found))
            for ci, found in services_by_ci(sorted(ci_ids, key=str)).items()}


def load(start: dt.datetime, end: dt.datetime, filters: Filters = Filters(),
         with_services: bool = True, with_conflicts: bool = True) -> CalendarData:
    query = (Change.select(Change.id, Change.ref, Change.title, Change.planned_start,
                           Change.planned_end, Change.status, Change.risk_level,
                           Change.risk_override, Change.type, Change.team, Change.version)
             .where(Change.planned_start.is_null(False) & (Change.planned_start < end)
                    & (Change.planned_end.is_null(True) | (Change.planned_end > start)))
             .order_by(Change.planned_start, Change.ref))
    if filters.team_id:
        query = query.where(Change.team == filters.team_id)
    if filters.status:
        query = query.where(Change.status == filters.status)
    rows = list(query.tuples())
    ids = [r[0] for r in rows]
    cis: dict = defaultdict(list)
    for i in range(0, len(ids), 900):
        for cid, ci, name in (ChangeCI.select(ChangeCI.change, CI.id, CI.name).join(CI)
                              .where(ChangeCI.change.in_(ids[i:i + 900])).tuples()):
            cis[cid].append((ci, name))
    services = _services_by_ci({ci for v in cis.values() for ci, _n in v}) \
        if with_services or filters.service_id else {}
    service_name = None
    if filters.service_id:
        found = CI.get_or_none(CI.id == filters.service_id)
        service_name = found.name if found else None
    data = CalendarData(start, end)
    for cid, ref, title, s, e, status, level, override, ctype, team, version in rows:
        ci_list = cis.get(cid, [])
        svc = tuple(sorted({n for ci, _ in ci_list for n in services.get(ci, ())}))
        if service_name and service_name not in svc:
            continue
        data.items.append(CalendarItem(
            "change", cid, ref, title, s, e if e and e > s else s + dt.timedelta(hours=1),
            status, override or level, ctype, team, version,
            tuple(ci for ci, _ in ci_list), tuple(n for _, n in ci_list), svc))
    if filters.show_releases and not filters.team_id and not filters.status:
        from itsmdesk.services.release.releases import releases_between

        for r in releases_between(start, end):
            data.items.append(CalendarItem("release", r.id, r.ref, r.name, r.start, r.end,
                                           r.status, r.risk_level, r.type))
    data.windows = windows_between(start, end)
    if with_conflicts:
        report = analyse(start, end)
        data.conflicts = report.conflicts
        data.compared, data.stretch_minutes = report.compared, report.stretch_minutes
        data.pairs, data.stretched_pairs = report.pairs, report.stretched_pairs
        flagged = {c.change_id for c in data.conflicts} | {c.other_id for c in data.conflicts}
        for item in data.items:
            item.conflict = item.id in flagged
    return data
