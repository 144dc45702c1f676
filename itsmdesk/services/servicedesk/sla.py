"""The SLA clock: one definition, used for due dates, the queue, the form, the tick and imports.

docs/servicedesk.md ("The SLA clock") says the rules in words.  In short:

- A ticket's **history** is its opening time, its statuses over time and its priorities over
  time (:class:`History`, read from the journal by :func:`history_of`).
- The clock **runs** while the ticket is open and not pending; it stops while pending and once
  resolved/closed/fulfilled/cancelled (a reopen starts it again).
- **Elapsed** time is the business time (on the target's calendar) of the running stretches.
- The **target** is the one of the priority in force now; a priority change keeps the elapsed
  time and earlier pauses: what is left is the new target minus the elapsed time.
- The **due** is the first instant at which elapsed reaches the target.  Before that instant it
  is a projection: from now if the clock runs, from the start of the current pause otherwise
  (while pending the due stays where it was when the ticket was set pending).
- **Breached**: the target was reached before now (for a finished ticket: before it was
  resolved).  A pause at or after the due never undoes it; a later due (a lower priority)
  clears it only when elapsed is then below the new target.
- **At risk**: elapsed x 100 >= target x share (integer arithmetic: exactly at the share is at
  risk).  ``escalation_level`` is 2 when breached, 1 at risk (also while paused), else 0.
- The stored ``response_due``/``resolution_due``/``sla_state``/``escalation_level`` are what
  :func:`reading` says; every write that changes the history stores them again, the tick moves
  running tickets up (at risk, breached) as time passes, and ``itsmdesk check`` compares.

Everything is exact: business time is a :class:`datetime.timedelta` (integer microseconds).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from itsmdesk import config
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import Setting
from itsmdesk.models.incident import CLOSED_STATUSES, OPEN_STATUSES, Incident
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.servicedesk import BusinessCalendar, SLADefinition
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.servicedesk import calendars

# priority -> (response minutes, resolution minutes), used when no SLA row exists
DEFAULT_TARGETS = {1: (15, 240), 2: (30, 480), 3: (120, 1440), 4: (480, 4320), 5: (1440, 10080)}
ESCALATE_SETTING = config.ESCALATE_PCT.key
DEFAULT_ESCALATE_PCT = config.ESCALATE_PCT.default
STOPPED = ("pending",) + tuple(CLOSED_STATUSES)  # the clock does not run in these
RUNNING = tuple(s for s in OPEN_STATUSES if s != "pending")
ZERO = dt.timedelta(0)
LEVELS = {"ok": 0, "paused": 0, "at_risk": 1, "breached": 2, "met": 0}


@dataclass(frozen=True)
class Target:
    response_minutes: int
    resolution_minutes: int
    escalate_at_pct: int
    calendar_id: object | None


# -- targets ---------------------------------------------------------------------------------------
def escalate_pct() -> int:
    row = Setting.get_or_none(Setting.key == ESCALATE_SETTING)
    return int(row.value) if row and row.value else DEFAULT_ESCALATE_PCT


def set_escalate_pct(pct: int, actor: Actor = SYSTEM, version: int | None = None) -> int:
    """Store the share of the resolution time at which tickets are flagged at risk (the
    setting ``sla_escalate_at_pct``, versioned and journalled) and give it to every target row;
    returns the setting's new version.  Open tickets' states are stored again."""
    require(actor or SYSTEM, "catalog.manage")
    if not 1 <= int(pct) <= 100:
        raise ValidationError(N_("The escalation share must be 1-100 %, not {pct}"), pct=pct)
    pct = int(pct)
    with records.atomic():
        current = records.setting_version(ESCALATE_SETTING)
        if current is not None and escalate_pct() == pct and (version is None or version == current):
            return current
        new_version = records.set_setting(ESCALATE_SETTING, pct, actor, version)
        for row in SLADefinition.select().where(SLADefinition.escalate_at_pct != pct):
            records.update(SLADefinition, row.id, None, {"escalate_at_pct": pct}, actor)
        refresh_open(actor=actor)
        return new_version


def _id(value: Any) -> Any:
    return getattr(value, "id", value)


def _row(kind: str, priority: int, service: Any = None, team: Any = None) -> SLADefinition | None:
    """The target row of a kind and priority: the general one, a service's (an SLA of its own)
    or a team's (an OLA)."""
    service, team = _id(service), _id(team)
    return SLADefinition.get_or_none(
        (SLADefinition.ticket_kind == kind) & (SLADefinition.priority == priority)
        & (SLADefinition.service.is_null() if service is None else SLADefinition.service == service)
        & (SLADefinition.team.is_null() if team is None else SLADefinition.team == team))


def ola(kind: str, priority: int, team: Any) -> Target | None:
    """A team's OLA for this kind and priority (None: it has none)."""
    row = _row(kind, priority, None, team) if team is not None else None
    if row is None:
        return None
    return Target(row.response_minutes, row.resolution_minutes,
                  row.escalate_at_pct or escalate_pct(), row.calendar_id)


def target(kind: str, priority: int, service: Any = None) -> Target:
    """The SLA target of a ticket of this kind and priority: its service's own, else the
    general one, else :data:`DEFAULT_TARGETS`."""
    row = (_row(kind, priority, service) if service is not None else None) or _row(kind, priority)
    if row:
        return Target(row.response_minutes, row.resolution_minutes,
                      row.escalate_at_pct or escalate_pct(), row.calendar_id)
    response, resolution = DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[5])
    return Target(response, resolution, escalate_pct(), None)


def targets(kind: str, priority: int) -> tuple[int, int]:
    t = target(kind, priority)
    return t.response_minutes, t.resolution_minutes


def hours_for(t: Target) -> calendars.Hours:
    """The calendar a target counts on: its own, else the one named "Default", else 24x7."""
    cal = None
    if t.calendar_id is not None:
        cal = BusinessCalendar.get_or_none(BusinessCalendar.id == t.calendar_id)
    return calendars.load(cal or calendars.default_calendar())


class Targets:
    """Targets and calendars for one computation (a write, a tick, an import, a check, a
    report): every target row, the share setting, the calendars and their holidays are read
    once (four queries), then looked up in memory."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, Any], tuple[Target, calendars.Hours]] = {}
        self._rows: dict[tuple[str, int, Any, Any], SLADefinition] | None = None
        self._hours: dict[Any, calendars.Hours] = {}

    def _load(self) -> dict[tuple[str, int, Any, Any], SLADefinition]:
        if self._rows is None:
            from itsmdesk.models.servicedesk import Holiday

            self._rows = {(r.ticket_kind, r.priority, r.service_id, r.team_id): r
                          for r in SLADefinition.select()}
            self._pct = escalate_pct()
            self._calendars = {c.id: c for c in BusinessCalendar.select()}
            self._default = next((c for c in self._calendars.values() if c.name == "Default"),
                                 None)
            self._holidays: dict[Any, set[dt.date]] = {}
            for h in Holiday.select(Holiday.calendar, Holiday.day):
                self._holidays.setdefault(h.calendar_id, set()).add(h.day)
        return self._rows

    def services(self, kind: str, priority: int) -> list[Any]:
        """The services with an SLA of their own for this kind and priority."""
        return [key[2] for key in self._load() if key[0] == kind and key[1] == priority
                and key[2] is not None and key[3] is None]

    def _calendar_hours(self, calendar_id: Any) -> calendars.Hours:
        cal = self._calendars.get(calendar_id) if calendar_id is not None else None
        cal = cal or self._default
        if cal is None:
            return calendars.ALWAYS
        if cal.id not in self._hours:
            if not any((cal.working_hours or {}).values()):
                raise ValidationError(N_("The business calendar {name} has no working hours"),
                                      name=cal.name)
            self._hours[cal.id] = calendars.hours_from(cal.working_hours, cal.timezone,
                                                       self._holidays.get(cal.id, set()), cal.name)
        return self._hours[cal.id]

    def __call__(self, kind: str, priority: int, service: Any = None
                 ) -> tuple[Target, calendars.Hours]:
        kind, priority, service = kind or "incident", int(priority or 5), _id(service)
        key = (kind, priority, service)
        if key not in self._cache:
            rows = self._load()
            row = (rows.get((kind, priority, service, None)) if service is not None else None) \
                or rows.get((kind, priority, None, None))
            if row is not None:
                t = Target(row.response_minutes, row.resolution_minutes,
                           row.escalate_at_pct or self._pct, row.calendar_id)
            else:
                response, resolution = DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[5])
                t = Target(response, resolution, self._pct, None)
            self._cache[key] = (t, self._calendar_hours(t.calendar_id))
        return self._cache[key]


TargetLookup = Callable[..., tuple[Target, calendars.Hours]]


# -- the clock -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class History:
    """What the clock needs of a ticket: when it opened, its statuses and priorities over time
    (each list starts at the opening), and when it was first responded to."""

    kind: str
    opened: dt.datetime
    statuses: tuple[tuple[dt.datetime, str], ...]
    priorities: tuple[tuple[dt.datetime, int], ...]
    responded_at: dt.datetime | None = None
    service: Any = None  # the ticket's service (its own SLA, if it has one): the current one
    teams: tuple[tuple[dt.datetime, Any], ...] = ()  # the team holding it over time (OLAs)

    @staticmethod
    def build(kind: str, opened: dt.datetime, statuses: Iterable[tuple[dt.datetime, str]],
              priorities: Iterable[tuple[dt.datetime, int]],
              responded_at: dt.datetime | None = None, service: Any = None,
              teams: Iterable[tuple[dt.datetime, Any]] = ()) -> History:
        """A history with its times made monotonic (never before the opening or an earlier
        change: the journal's order wins over a clock that went back)."""
        def clean(items: Iterable[tuple[dt.datetime, Any]]) -> tuple:
            out: list[tuple[dt.datetime, Any]] = []
            last = opened
            for at, value in items:
                at = max(at or opened, last)
                if out and out[-1][1] == value:
                    continue
                if out and out[-1][0] == at:
                    out[-1] = (at, value)
                else:
                    out.append((at, value))
                last = at
            return tuple(out)
        return History(kind or "incident", opened, clean(statuses), clean(priorities),
                       max(responded_at, opened) if responded_at else None, _id(service),
                       clean((at, _id(team)) for at, team in teams) if teams else ())

    def with_event(self, at: dt.datetime, status: str | None = None,
                   priority: int | None = None, responded_at: dt.datetime | None = None) -> History:
        """This history with a status and/or priority change at ``at``."""
        statuses = self.statuses + (((at, status),) if status else ())
        priorities = self.priorities + (((at, priority),) if priority else ())
        return History.build(self.kind, self.opened, statuses, priorities,
                             self.responded_at or responded_at, self.service, self.teams)

    def only_team(self, team: Any) -> History:
        """The history with the clock stopped whenever another team held the ticket (a team's
        OLA counts only its own stretches)."""
        marks = sorted({at for at, _s in self.statuses} | {at for at, _t in self.teams})
        statuses = []
        for at in marks:
            status, _since = self.status_at(at)
            holder = None
            for when, t in self.teams:
                if when > at:
                    break
                holder = t
            statuses.append((at, status if holder == team else "pending"))
        return History.build(self.kind, self.opened, statuses, self.priorities,
                             self.responded_at, self.service, self.teams)

    def status_at(self, t: dt.datetime) -> tuple[str, dt.datetime]:
        """The status in force at ``t`` and since when."""
        current, since = self.statuses[0][1], self.opened
        for at, status in self.statuses:
            if at > t:
                break
            current, since = status, at
        return current, since

    def finished_since(self, t: dt.datetime) -> dt.datetime:
        """For a ticket finished at ``t``: when it was finished (resolved, then closed: the
        resolution)."""
        since = t
        for at, status in self.statuses:
            if at > t:
                break
            if status in CLOSED_STATUSES:
                since = min(since, at)
            else:
                since = t
        return since

    def priority_at(self, t: dt.datetime) -> int:
        current = self.priorities[0][1]
        for at, p in self.priorities:
            if at > t:
                break
            current = p
        return current

    def running(self, until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """The stretches in which the clock ran, up to ``until``."""
        out = []
        for i, (at, status) in enumerate(self.statuses):
            end = self.statuses[i + 1][0] if i + 1 < len(self.statuses) else until
            a, b = max(at, self.opened), min(end, until)
            if status not in STOPPED and b > a:
                out.append((a, b))
        return out


@dataclass(frozen=True)
class Clock:
    """One clock (response or resolution) at an instant."""

    target: dt.timedelta
    elapsed: dt.timedelta
    due: dt.datetime
    reached: dt.datetime | None  # when elapsed reached the target (None: not yet)
    breached: bool


def _clock(history: History, hours: calendars.Hours, goal: dt.timedelta,
           t: dt.datetime) -> Clock:
    stretches = history.running(t)
    elapsed = ZERO
    reached = None
    for a, b in stretches:
        part = calendars.business_between(hours, a, b)
        if reached is None and elapsed + part >= goal:
            reached = calendars.add_business(hours, a, goal - elapsed)
        elapsed += part
    if reached is not None:
        due = reached
    else:
        status, since = history.status_at(t)
        anchor = since if status in STOPPED else t
        due = calendars.add_business(hours, max(anchor, history.opened), goal - elapsed)
    return Clock(goal, elapsed, due, reached, reached is not None and reached < t)


@dataclass(frozen=True)
class Reading:
    """The SLA of a ticket at an instant: what the row stores, with the figures behind it."""

    at: dt.datetime
    response_due: dt.datetime
    resolution_due: dt.datetime
    state: str  # ok / at_risk / breached / paused / met
    escalation_level: int  # 0 none, 1 at risk, 2 breached
    elapsed: dt.timedelta  # resolution clock's business time
    target: dt.timedelta
    escalate_at_pct: int
    response_breached: bool

    def fields(self) -> dict[str, Any]:
        return {"response_due": self.response_due, "resolution_due": self.resolution_due,
                "sla_state": self.state, "escalation_level": self.escalation_level}

    @property
    def left(self) -> dt.timedelta:
        return self.target - self.elapsed


def reading(history: History, now: dt.datetime, lookup: TargetLookup | None = None) -> Reading:
    """The clock of ``history`` at ``now`` (the one computation every place uses)."""
    lookup = lookup or Targets()
    status, since = history.status_at(now)
    closed = status in CLOSED_STATUSES
    t = history.finished_since(now) if closed else now  # read a finished ticket at its finish
    t = max(t, history.opened)
    tgt, hours = lookup(history.kind, history.priority_at(t), history.service)
    res = _clock(history, hours, dt.timedelta(minutes=tgt.resolution_minutes), t)
    t_resp = min(t, history.responded_at) if history.responded_at else t
    r_tgt, r_hours = lookup(history.kind, history.priority_at(t_resp), history.service)
    responded = history.responded_at is not None and history.responded_at <= t
    resp = _clock(_until(history, t_resp) if responded else history, r_hours,
                  dt.timedelta(minutes=r_tgt.response_minutes), t_resp)
    pct = int(tgt.escalate_at_pct)
    if res.breached:
        level = 2
    elif res.elapsed * 100 >= res.target * pct:
        level = 1
    else:
        level = 0
    if closed:
        state = "breached" if res.breached else "met"
    elif res.breached:
        state = "breached"
    elif status == "pending":
        state = "paused"
    else:
        state = "at_risk" if level == 1 else "ok"
    return Reading(now, resp.due, res.due, state, level, res.elapsed, res.target, pct,
                   resp.breached)


def _until(history: History, t: dt.datetime) -> History:
    """The history with the clock stopped at ``t`` (the response clock stops at the response)."""
    return History.build(history.kind, history.opened,
                         [s for s in history.statuses if s[0] < t] + [(t, "resolved")],
                         history.priorities, history.responded_at, history.service,
                         history.teams)


# -- histories -----------------------------------------------------------------------------------
def history_from_values(values: dict[str, Any]) -> History:
    """The history a ticket row (or a new ticket's values) implies on its own: opened, set
    pending at ``paused_since``, finished at ``resolved_at`` (or ``closed_at``)."""
    opened = values["opened_at"]
    status = values.get("status") or "new"
    statuses: list[tuple[dt.datetime, str]] = [(opened, "new")]
    if status == "pending":
        statuses.append((values.get("paused_since") or opened, "pending"))
    elif status in CLOSED_STATUSES:
        statuses.append((values.get("resolved_at") or values.get("closed_at") or opened, status))
    else:
        statuses = [(opened, status)]
    return History.build(values.get("kind") or "incident", opened, statuses,
                         [(opened, int(values.get("priority") or 5))],
                         values.get("responded_at"), values.get("service"),
                         [(opened, values.get("team"))])


def _row_values(row: Incident) -> dict[str, Any]:
    out = {name: getattr(row, name) for name in
           ("kind", "opened_at", "status", "priority", "paused_since", "resolved_at",
            "closed_at", "responded_at")}
    out.update(service=row.service_id, team=row.team_id)
    return out


_FIELDS = ("*created*", "status", "priority", "opened_at", "paused_since", "resolved_at",
           "closed_at", "responded_at", "kind", "service", "team")  # the journal rows a history is read from


def _decode(name: str, text: str | None) -> Any:
    return records.from_text(Incident._meta.fields[name], text)


def history_from_changes(first: dict[str, Any],
                         changes: Iterable[tuple[dt.datetime, dict[str, Any]]]) -> History:
    """A ticket's history from its first values and its later changes, each (when, {field:
    new value}) in order: a status change happens at the ``paused_since`` (to pending) or
    ``resolved_at`` (to resolved/fulfilled) it brings, else at its time; a priority change at
    its time.  The journal reader and the mapped import both read histories with this."""
    values = dict(first)
    start = history_from_values(values)
    statuses, priorities = list(start.statuses), list(start.priorities)
    teams = list(start.teams)
    for at, change in changes:
        if "service" in change:
            values["service"] = change["service"]
        if "team" in change:
            teams.append((at, change["team"]))
        if change.get("opened_at"):
            values["opened_at"] = change["opened_at"]
        if "responded_at" in change:
            values["responded_at"] = change["responded_at"]
        if change.get("status"):
            new = change["status"]
            when = at
            if new == "pending" and change.get("paused_since"):
                when = change["paused_since"]
            elif new in CLOSED_STATUSES and change.get("resolved_at"):
                when = change["resolved_at"]
            statuses.append((when, new))
        if change.get("priority") is not None:
            priorities.append((at, int(change["priority"])))
    opened = values["opened_at"]
    return History.build(values.get("kind") or "incident", opened,
                         [(max(a, opened), st) for a, st in statuses], priorities,
                         values.get("responded_at"), values.get("service"),
                         [(max(a, opened), t) for a, t in teams])


HISTORY_FIELDS = ("kind", "opened_at", "status", "priority", "paused_since", "resolved_at",
                   "closed_at", "responded_at", "service", "team")


def _history_from_rows(rows: list[JournalEntry], fallback: Incident | None) -> History | None:
    """A ticket's history from its journal rows (in journal order): the ``*created*`` snapshot,
    then each write's changes (rows of one batch at one time)."""
    first: dict[str, Any] | None = None
    batches: list[tuple[Any, dt.datetime, dict[str, Any]]] = []
    for row in rows:
        if row.field == records.CREATED:
            snapshot = json.loads(row.new or "{}")
            first = {name: _decode(name, snapshot.get(name)) for name in HISTORY_FIELDS
                     if name in snapshot}
            if first.get("opened_at") is None:
                first["opened_at"] = row.at
            batches = []
            continue
        if first is None or row.field not in HISTORY_FIELDS:
            continue
        if batches and batches[-1][0] == row.batch and batches[-1][1] == row.at:
            batches[-1][2][row.field] = _decode(row.field, row.new)
        else:
            batches.append((row.batch, row.at, {row.field: _decode(row.field, row.new)}))
    if first is None:
        return history_from_values(_row_values(fallback)) if fallback is not None else None
    return history_from_changes(first, [(at, change) for _b, at, change in batches])


def histories(rows: list[Incident]) -> dict[Any, History]:
    """The histories of these tickets from the journal (one query per 500 tickets); a ticket
    with no journal (bulk data) gets the history its row implies."""
    out: dict[Any, History] = {}
    for i in range(0, len(rows), 500):
        chunk = rows[i:i + 500]
        by_id: dict[Any, list[JournalEntry]] = {r.id: [] for r in chunk}
        query = (JournalEntry.select()
                 .where((JournalEntry.record_kind == Incident.RECORD_KIND)
                        & JournalEntry.record_id.in_([r.id for r in chunk])
                        & JournalEntry.field.in_(_FIELDS))
                 .order_by(JournalEntry.id))
        for entry in query:
            by_id.setdefault(entry.record_id, []).append(entry)
        for row in chunk:
            history = _history_from_rows(by_id.get(row.id, []), row)
            if history is not None:
                out[row.id] = history
    return out


def history_of(row: Incident) -> History:
    return histories([row])[row.id]


# -- what the services call ------------------------------------------------------------------------
def due_dates(kind: str, priority: int, opened_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Response and resolution due of a ticket opened at ``opened_at`` (no pauses yet)."""
    r = reading(History.build(kind, opened_at, [(opened_at, "new")], [(opened_at, priority)]),
                opened_at)
    return r.response_due, r.resolution_due


def fields_for_new(values: dict[str, Any], now: dt.datetime,
                   lookup: TargetLookup | None = None) -> dict[str, Any]:
    """The SLA fields of a new ticket (its history is what its values say)."""
    history = history_from_values(values)
    last = max([history.opened, now] + [a for a, _s in history.statuses])
    return reading(history, last, lookup).fields()


def fields_after(current: Incident, now: dt.datetime, status: str | None = None,
                 priority: int | None = None, responded_at: dt.datetime | None = None,
                 opened_at: dt.datetime | None = None, service: Any = None,
                 service_changed: bool = False) -> dict[str, Any]:
    """The SLA fields of ``current`` after a status, priority, opening or service change at
    ``now``."""
    history = history_of(current)
    if (opened_at is not None and opened_at != history.opened) or service_changed:
        history = History.build(history.kind, opened_at or history.opened, history.statuses,
                                history.priorities, history.responded_at,
                                _id(service) if service_changed else history.service,
                                history.teams)
    history = history.with_event(now, status if status != current.status else None,
                                 priority if priority != current.priority else None,
                                 responded_at)
    return reading(history, now).fields()


def shown_state(stored: str | None, status: str | None, due: dt.datetime | None,
                now: dt.datetime) -> str:
    """The SLA state a queue row or a form shows between two escalation ticks, from what the
    row holds (no database read): the stored state, but 'breached' from the moment an open,
    running ticket passes its due time (the tick stores it within a minute)."""
    state_ = stored or "ok"
    if state_ in ("ok", "at_risk") and due is not None and now > due \
            and status not in CLOSED_STATUSES and status != "pending":
        return "breached"
    return state_


def state(incident: Incident, now: dt.datetime) -> str:
    """The SLA state of a ticket at ``now``, from its history."""
    return reading(history_of(incident), now).state


def risk_threshold(kind: str, priority: int, now: dt.datetime,
                   lookup: TargetLookup | None = None, service: Any = None) -> dt.datetime:
    """Running tickets of this kind/priority whose resolution due is at or before this moment
    have used at least the escalation share of their target: what is left, ``target - elapsed``,
    is the business time from now to the due, and left x 100 <= target x (100 - share) is
    left <= floor(target x (100 - share) / 100) in whole microseconds."""
    tgt, hours = (lookup or Targets())(kind, priority, service)
    goal = dt.timedelta(minutes=tgt.resolution_minutes)
    micro = goal // dt.timedelta(microseconds=1)
    left = dt.timedelta(microseconds=micro * (100 - int(tgt.escalate_at_pct)) // 100)
    return calendars.add_business(hours, now, left)


# -- keeping stored states right -------------------------------------------------------------------
@dataclass
class Drift:
    """An open ticket whose stored SLA fields differ from its clock."""

    ref: str
    stored: dict[str, Any]
    computed: dict[str, Any]

    @property
    def lag(self) -> bool:
        """Only the tick's work pending: a running ticket whose stored state is consistent and
        behind the clock (at risk or breached since the last tick)."""
        s, c = self.stored, self.computed
        return (s["response_due"] == c["response_due"] and s["resolution_due"] == c["resolution_due"]
                and s["sla_state"] in ("ok", "at_risk")
                and LEVELS[s["sla_state"]] == s["escalation_level"]
                and s["escalation_level"] < c["escalation_level"])


STATE_FIELDS = ("response_due", "resolution_due", "sla_state", "escalation_level")


def stored_fields(row: Incident) -> dict[str, Any]:
    """The SLA fields as the ticket stores them (compare with ``reading(...).fields()``)."""
    return _stored(row)


def _stored(row: Incident) -> dict[str, Any]:
    return {"response_due": row.response_due, "resolution_due": row.resolution_due,
            "sla_state": row.sla_state, "escalation_level": row.escalation_level}


def _same(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < dt.timedelta(seconds=1)


def drift(rows: list[Incident], now: dt.datetime) -> list[Drift]:
    """The open tickets among ``rows`` whose stored SLA fields are not what their history gives
    at ``now``."""
    lookup = Targets()
    out = []
    found = histories(rows)
    for row in rows:
        computed = reading(found[row.id], now, lookup).fields()
        stored = _stored(row)
        if all(_same(stored[k], computed[k]) if k.endswith("_due") else stored[k] == computed[k]
               for k in computed):
            continue
        out.append(Drift(row.ref, stored, computed))
    return out


def open_tickets(kind: str | None = None, priority: int | None = None) -> Any:
    query = Incident.select().where(Incident.status.in_(OPEN_STATUSES))
    if kind:
        query = query.where(Incident.kind == kind)
    if priority:
        query = query.where(Incident.priority == priority)
    return query.order_by(Incident.id)


def check_open(now: dt.datetime, batch: int = 2000) -> tuple[int, list[Drift]]:
    """(open tickets checked, those whose stored SLA state drifted from their history); tickets
    only waiting for the next tick are not drift."""
    checked, found = 0, []
    for rows in open_ticket_pages(batch):
        checked += len(rows)
        found += [d for d in drift(rows, now) if not d.lag]
    return checked, found


def open_ticket_pages(batch: int = 2000) -> Any:
    """Every open ticket, ``batch`` rows at a time (keyset on id: memory stays flat)."""
    last = None
    while True:
        query = open_tickets()
        if last is not None:
            query = query.where(Incident.id > last)
        rows = list(query.limit(batch))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def refresh_open(kind: str | None = None, priority: int | None = None,
                 actor: Actor = SYSTEM, now: dt.datetime | None = None) -> int:
    """Store again the SLA fields of open tickets (after a target, share or calendar changed);
    returns how many changed.  Raising a level notifies like the tick."""
    from itsmdesk.models.base import utcnow
    from itsmdesk.services.servicedesk import escalation

    now = now or utcnow()
    lookup = Targets()
    changed = 0
    with records.atomic():
        rows = list(open_tickets(kind, priority))
        found = histories(rows)
        for row in rows:
            computed = reading(found[row.id], now, lookup).fields()
            if computed == _stored(row):
                continue
            before = row.escalation_level or 0
            records.update(Incident, row.id, None, computed, actor)
            escalation.notify_raised(row, before, computed["escalation_level"], now)
            changed += 1
    return changed


# -- settings --------------------------------------------------------------------------------------
def set_target(kind: str, priority: int, response_minutes: int, resolution_minutes: int,
               calendar_id=None, escalate_at_pct: int | None = None,  # noqa: ANN001
               actor=None, version: int | None = None, keep_calendar: bool = False,  # noqa: ANN001
               service=None, team=None) -> SLADefinition:  # noqa: ANN001
    """Set one kind and priority's targets: the general ones, a ``service``'s own SLA, or a
    ``team``'s OLA.  ``escalate_at_pct`` None keeps the row's share (a new row gets the
    escalation share setting); ``keep_calendar`` keeps the row's calendar.  ``version``: the
    target's version as it was read (0 when it had no row), checked like any record's; None
    skips the check.  Open tickets of that priority are stored again."""
    require(actor or SYSTEM, "catalog.manage")
    if response_minutes <= 0 or resolution_minutes <= 0:
        raise ValidationError(N_("SLA targets must be positive minutes"))
    if response_minutes > resolution_minutes:
        raise ValidationError(N_("The response target cannot be longer than the resolution target"))
    if escalate_at_pct is not None and not 1 <= int(escalate_at_pct) <= 100:
        raise ValidationError(N_("The escalation share must be 1-100 %, not {pct}"),
                              pct=escalate_at_pct)
    calendar_id = getattr(calendar_id, "id", calendar_id)
    service, team = _id(service), _id(team)
    if service is not None and team is not None:
        raise ValidationError(N_("A target is for a service (an SLA) or for a team (an OLA), "
                                 "not both"))
    with records.atomic():
        row = _row(kind, priority, service, team)
        if calendar_id is not None:
            calendars.load(records.get(BusinessCalendar, calendar_id))  # no hours: refused
        if keep_calendar and row is not None:
            calendar_id = row.calendar_id
        pct = int(escalate_at_pct) if escalate_at_pct is not None else (
            row.escalate_at_pct if row is not None else escalate_pct())
        name = f"{kind} P{priority}"
        if service is not None:
            from itsmdesk.models.cmdb import CI

            name += f" {records.get(CI, service).name}"
        if team is not None:
            from itsmdesk.models.people import Team

            name += f" OLA {records.get(Team, team).name}"
        values = {"name": name[:200], "ticket_kind": kind, "priority": priority,
                  "service": service, "team": team,
                  "response_minutes": int(response_minutes),
                  "resolution_minutes": int(resolution_minutes),
                  "calendar": calendar_id, "escalate_at_pct": pct}
        if row is None:
            out = records.create(SLADefinition, values, actor or SYSTEM)
        else:
            if version == 0:  # created by someone else since it was read
                records.raise_conflict(row, 0)
            out = records.update(SLADefinition, row.id, version, values, actor or SYSTEM)
        refresh_open(kind, priority, actor or SYSTEM)
        return out


@dataclass(frozen=True)
class SlaSettings:
    """What the SLA dialog shows for one ticket kind, with the versions to save against."""

    kind: str
    targets: dict[int, tuple[int, int]]  # priority -> (response, resolution) minutes
    versions: dict[int, int]  # priority -> the target's version (0: no row yet)
    escalate_pct: int
    escalate_version: int  # the setting's version (0: never saved)
    calendars: dict[int, str] = field(default_factory=dict)  # priority -> calendar name shown


def settings_for(kind: str = "incident") -> SlaSettings:
    rows = {r.priority: r for r in SLADefinition.select()
            .where((SLADefinition.ticket_kind == kind) & SLADefinition.service.is_null()
                   & SLADefinition.team.is_null())}
    names = {c.id: c.name for c in BusinessCalendar.select(BusinessCalendar.id,
                                                           BusinessCalendar.name)}
    default = calendars.default_calendar()
    targets_, versions, cals = {}, {}, {}
    for p in (1, 2, 3, 4, 5):
        t = target(kind, p)
        targets_[p] = (t.response_minutes, t.resolution_minutes)
        versions[p] = rows[p].version if p in rows else 0
        cals[p] = names.get(t.calendar_id) or (default.name if default else "24x7")
    return SlaSettings(kind, targets_, versions, escalate_pct(),
                       records.setting_version(ESCALATE_SETTING) or 0, cals)


def save_settings(kind: str, targets: dict[int, tuple[int, int]], pct: int, actor: Actor = SYSTEM,
                  versions: dict[int, int] | None = None,
                  escalate_version: int | None = None) -> SlaSettings:
    """The SLA dialog's save: the escalation share and every priority's targets in one
    transaction, each checked against the version it was read at (a stale edit writes
    nothing).  What is unchanged is not written (saving an unchanged dialog changes nothing);
    each row keeps its calendar (the dialog shows it, it does not change it).  Returns what is
    stored now."""
    require(actor or SYSTEM, "catalog.manage")
    versions = versions or {}
    with records.atomic():
        rows = {p: _row(kind, p) for p in targets}
        for p, row in rows.items():  # every version checked before anything is written
            version = versions.get(p)
            if version is not None and (row.version if row else 0) != version:
                if row is None:
                    raise ValidationError(N_("The SLA target P{priority} was removed by someone "
                                             "else; nothing was saved."), priority=p)
                records.raise_conflict(row, version)
        share_changed = int(pct) != escalate_pct()
        if share_changed or (escalate_version is not None and escalate_version
                             != (records.setting_version(ESCALATE_SETTING) or 0)):
            set_escalate_pct(pct, actor, escalate_version)
        for p, (response, resolution) in sorted(targets.items()):
            row = rows[p]
            if (int(response), int(resolution)) == targets_of(row, kind, p) \
                    and (row is not None or not share_changed):
                continue
            set_target(kind, p, response, resolution, None, int(pct), actor,
                       version=None if row is not None else versions.get(p),
                       keep_calendar=True)
    return settings_for(kind)


def targets_of(row: SLADefinition | None, kind: str, priority: int) -> tuple[int, int]:
    if row is None:
        return DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[5])
    return row.response_minutes, row.resolution_minutes


def special_targets() -> list[dict[str, Any]]:
    """The services' own SLAs and the teams' OLAs, for listing."""
    from itsmdesk.models.cmdb import CI
    from itsmdesk.models.people import Team

    names = {c.id: c.name for c in BusinessCalendar.select(BusinessCalendar.id,
                                                           BusinessCalendar.name)}
    default = calendars.default_calendar()
    out = []
    for row in (SLADefinition.select()
                .where(SLADefinition.service.is_null(False) | SLADefinition.team.is_null(False))
                .order_by(SLADefinition.ticket_kind, SLADefinition.priority)):
        if row.service_id is not None:
            ci = CI.get_or_none(CI.id == row.service_id)
            label = f"service {ci.name if ci else row.service_id}"
        else:
            team = Team.get_or_none(Team.id == row.team_id)
            label = f"OLA {team.name if team else row.team_id}"
        out.append({"kind": row.ticket_kind, "priority": row.priority, "for": label,
                    "response": row.response_minutes, "resolution": row.resolution_minutes,
                    "escalate_pct": row.escalate_at_pct,
                    "calendar": names.get(row.calendar_id) or (default.name if default else "24x7")})
    return out


def list_targets() -> list[Target]:
    return [target(k, p) for k in ("incident", "request") for p in (1, 2, 3, 4, 5)]
