"""The SLA breach report: every ticket of a period read on the one SLA clock (sla.reading).

A ticket belongs to the period [start, end) when it was finished in it (resolved, fulfilled,
cancelled or closed), or when it was still open at the period's end.  Each is read as of the
period's end (a finished ticket at its finish): met or breached, elapsed business time against
its target, and the wall-clock time it spent pending.  Totals per service, team and priority;
each breach with its timeline (statuses and priorities over time, from the journal).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.cmdb import CI
from itsmdesk.models.incident import CLOSED_STATUSES, OPEN_STATUSES, Incident
from itsmdesk.models.people import Team
from itsmdesk.services import csv_safe
from itsmdesk.services.servicedesk import sla

MINUTE = dt.timedelta(minutes=1)


@dataclass
class TicketLine:
    ref: str
    kind: str
    title: str
    service: str
    team: str
    priority: int
    state: str  # met / breached / open (still running, not breached) / paused
    opened_at: dt.datetime
    finished_at: dt.datetime | None
    resolution_due: dt.datetime
    elapsed_minutes: float  # business minutes on the clock
    target_minutes: float
    paused_minutes: float  # wall-clock minutes pending
    timeline: list[tuple[dt.datetime, str]] = field(default_factory=list)
    olas: list[tuple[str, str]] = field(default_factory=list)  # (team, met/breached)


@dataclass
class OlaGroup:
    """A team's OLA: the tickets it held, met or breached on its own stretches."""

    team: str
    priority: int
    met: int = 0
    breached: int = 0


@dataclass
class Group:
    service: str
    team: str
    priority: int
    met: int = 0
    breached: int = 0
    open: int = 0
    paused_minutes: float = 0.0

    @property
    def total(self) -> int:
        return self.met + self.breached + self.open

    @property
    def met_pct(self) -> float | None:
        done = self.met + self.breached
        return 100.0 * self.met / done if done else None


@dataclass
class BreachReport:
    start: dt.datetime
    end: dt.datetime
    tickets: list[TicketLine]
    groups: list[Group]
    olas: list[OlaGroup] = field(default_factory=list)

    @property
    def breaches(self) -> list[TicketLine]:
        return [t for t in self.tickets if t.state == "breached"]


def _paused(history: sla.History, until: dt.datetime) -> dt.timedelta:
    total = dt.timedelta()
    for i, (at, status) in enumerate(history.statuses):
        end = history.statuses[i + 1][0] if i + 1 < len(history.statuses) else until
        if status == "pending" and min(end, until) > at:
            total += min(end, until) - at
    return total


def breach_report(start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
                  ) -> BreachReport:
    if end <= start:
        raise ValidationError(N_("The report period must end after it starts"))
    at = min(end, now or utcnow())
    finished = ((Incident.status.in_(CLOSED_STATUSES))
                & (((Incident.resolved_at >= start) & (Incident.resolved_at < end))
                   | (Incident.resolved_at.is_null() & (Incident.closed_at >= start)
                      & (Incident.closed_at < end))))
    still_open = Incident.status.in_(OPEN_STATUSES) & (Incident.opened_at < end)
    rows = list(Incident.select().where(finished | still_open).order_by(Incident.opened_at))
    services = {c.id: c.name for c in CI.select(CI.id, CI.name)
                .where(CI.id.in_({r.service_id for r in rows if r.service_id}))} if rows else {}
    teams = {t.id: t.name for t in Team.select(Team.id, Team.name)}
    lookup = sla.Targets()
    found = sla.histories(rows)
    lines: list[TicketLine] = []
    groups: dict[tuple[str, str, int], Group] = {}
    olas: dict[tuple[str, int], OlaGroup] = {}
    ola_targets: dict[tuple[str, int, object], tuple[sla.Target, object] | None] = {}
    for row in rows:
        history = found[row.id]
        reading = sla.reading(history, at, lookup)
        status, _since = history.status_at(at)
        finished_at = history.finished_since(at) if status in CLOSED_STATUSES else None
        if reading.state in ("met", "breached"):
            state = reading.state
        else:
            state = "paused" if reading.state == "paused" else "open"
        line = TicketLine(row.ref, row.kind, row.title, services.get(row.service_id, ""),
                          teams.get(row.team_id, ""), history.priority_at(finished_at or at),
                          state, row.opened_at, finished_at, reading.resolution_due,
                          reading.elapsed / MINUTE, reading.target / MINUTE,
                          _paused(history, finished_at or at) / MINUTE,
                          sorted([(a, s) for a, s in history.statuses]
                                 + [(a, f"P{p}") for a, p in history.priorities[1:]]))
        t_end = finished_at or at
        for team in dict.fromkeys(t for _a, t in history.teams if t is not None):
            key = (row.kind, line.priority, team)
            if key not in ola_targets:
                target = sla.ola(*key)
                ola_targets[key] = (target, sla.hours_for(target)) if target else None
            if ola_targets[key] is None:
                continue
            target, hours = ola_targets[key]
            clock = sla._clock(history.only_team(team), hours,
                               dt.timedelta(minutes=target.resolution_minutes), t_end)
            verdict = "breached" if clock.breached else "met"
            line.olas.append((teams.get(team, str(team)), verdict))
            group_ = olas.setdefault((teams.get(team, str(team)), line.priority),
                                     OlaGroup(teams.get(team, str(team)), line.priority))
            if clock.breached:
                group_.breached += 1
            else:
                group_.met += 1
        lines.append(line)
        key = (line.service, line.team, line.priority)
        group = groups.setdefault(key, Group(*key))
        if state == "met":
            group.met += 1
        elif state == "breached":
            group.breached += 1
        else:
            group.open += 1
        group.paused_minutes += line.paused_minutes
    return BreachReport(start, end, lines, [groups[k] for k in sorted(groups)],
                        [olas[k] for k in sorted(olas)])


CSV_COLUMNS = ["ref", "kind", "service", "team", "priority", "state", "opened_at", "finished_at",
               "resolution_due", "elapsed_business_minutes", "target_minutes", "paused_minutes",
               "timeline", "olas", "title"]


def _t(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def write_csv(report: BreachReport, path: str | Path) -> int:
    """One row per ticket (UTC times); returns the number of rows."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv_safe.writer(handle)  # (a service or title such as '=cmd' stays text)
        out.writerow(CSV_COLUMNS)
        for t in report.tickets:
            out.writerow([t.ref, t.kind, t.service, t.team, t.priority, t.state, _t(t.opened_at),
                          _t(t.finished_at), _t(t.resolution_due), f"{t.elapsed_minutes:g}",
                          f"{t.target_minutes:g}", f"{t.paused_minutes:g}",
                          "; ".join(f"{_t(a)} {s}" for a, s in t.timeline),
                          "; ".join(f"{team}: {verdict}" for team, verdict in t.olas), t.title])
    return len(report.tickets)
