"""The SLA clock against a slow reference: a minute-by-minute walk on the wall clock.

Random calendars (split and odd hours, night shifts across midnight, 24x7), zones with DST
changes, holidays, pauses, resolutions and reopenings, reprioritisations: at sampled instants
the due dates, the elapsed business minutes, the state and the escalation level of
:func:`itsmdesk.services.servicedesk.sla.reading` equal the reference's.

The reference is written from the rules in docs/servicedesk.md ("The SLA clock"), not from the
code: a UTC minute is working time when its wall time in the calendar's zone lies in a span of a
day that is not a holiday (a night shift belongs to the day it starts); the clock counts the
working minutes in which the ticket was open and not pending.
"""

from __future__ import annotations

import bisect
import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itsmdesk.errors import ValidationError
from itsmdesk.services.servicedesk import calendars, sla

ZONES = ["Europe/Stockholm", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
# a few days before a DST change in one of the zones (and two ordinary dates)
BASES = [dt.datetime(2026, 3, 26), dt.datetime(2026, 10, 22), dt.datetime(2026, 3, 5),
         dt.datetime(2026, 10, 29), dt.datetime(2026, 4, 2), dt.datetime(2026, 10, 1),
         dt.datetime(2026, 6, 15), dt.datetime(2026, 1, 9)]
EPOCH = dt.datetime(2026, 1, 1)
HORIZON = 400 * 24 * 60  # the most minutes walked after the opening
STOPPED = ("pending", "resolved", "closed")
CLOSED = ("resolved", "closed")


def _hhmm(minutes: int) -> str:
    return "24:00" if minutes == 1440 else f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def calendars_(draw):  # noqa: ANN001, ANN201
    """Working hours as stored, or None for 24x7."""
    kind = draw(st.sampled_from(["office", "split", "night", "odd", "24x7", "sparse", "dst",
                                 "dst"]))
    if kind == "24x7":
        return {str(d): [["00:00", "24:00"]] for d in range(7)}
    if kind == "dst":  # spans that start or end around the hours the clocks change
        a = draw(st.integers(0, 7)) * 30
        b = draw(st.integers(a // 30 + 1, 10)) * 30
        extra = [[_hhmm(b + 60), "12:00"]] if b + 60 < 720 and draw(st.booleans()) else []
        return {str(d): [[_hhmm(a), _hhmm(b)]] + extra for d in range(7)}
    week: dict[str, list[list[str]]] = {}
    for d in range(7):
        if kind == "sparse" and draw(st.integers(0, 3)):
            continue
        n = draw(st.integers(0 if kind in ("odd", "sparse") else 1, 3))
        step = 30 if kind != "odd" else 15
        points = sorted(draw(st.sets(st.integers(0, 1440 // step), min_size=2 * n,
                                     max_size=2 * n)))
        spans = [[_hhmm(points[i] * step), _hhmm(points[i + 1] * step)]
                 for i in range(0, len(points), 2)]
        if kind == "night" and draw(st.booleans()):
            start = draw(st.integers(18 * 2, 23 * 2)) * 30
            end = draw(st.integers(1, 8 * 2)) * 30
            spans = [s for s in spans if s[1] != "24:00" and int(s[1][:2]) * 60
                     + int(s[1][3:]) <= start] + [[_hhmm(start), _hhmm(end)]]
        if spans:
            week[str(d)] = spans
    return week


@st.composite
def tickets(draw):  # noqa: ANN001, ANN201
    zone = draw(st.sampled_from(ZONES))
    hours = draw(calendars_())
    try:
        hours = calendars.validate_hours(hours)
    except ValidationError:
        hours = {str(d): [["08:00", "17:00"]] for d in range(5)}
    base = draw(st.sampled_from(BASES))
    opened = base + dt.timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
    holidays = {(base + dt.timedelta(days=draw(st.integers(0, 20)))).date()
                for _ in range(draw(st.integers(0, 4)))}
    targets = {}
    for p in (1, 2, 3, 4, 5):
        resolution = draw(st.integers(1, 600))
        targets[p] = (draw(st.integers(1, resolution)), resolution, draw(st.integers(1, 100)))
    # events: minutes after the opening, each a status or a priority change
    t = 0
    status = "new"
    statuses = [(0, "new")]
    priorities = [(0, draw(st.integers(1, 5)))]
    responded = None
    for _ in range(draw(st.integers(0, 6))):
        t += draw(st.integers(0, 4 * 24 * 60))
        if draw(st.integers(0, 2)) == 0:
            priorities.append((t, draw(st.integers(1, 5))))
            continue
        options = {"new": ["in_progress", "pending", "resolved"],
                   "in_progress": ["pending", "resolved"], "pending": ["in_progress", "resolved"],
                   "resolved": ["closed", "in_progress"], "closed": ["in_progress"]}[status]
        status = draw(st.sampled_from(options))
        statuses.append((t, status))
        if responded is None:
            responded = t
    samples = draw(st.lists(st.integers(0, t + 10 * 24 * 60), min_size=1, max_size=6))
    return zone, hours, holidays, opened, targets, statuses, priorities, responded, samples


class Reference:
    """The slow one: every UTC minute looked at on the wall clock (the walk is kept as prefix
    sums: ``work[m]`` is the number of working minutes before minute ``m`` after the opening,
    ``counted[m]`` those in which the ticket was also open and not pending)."""

    def __init__(self, zone: str, week: dict, holidays: set[dt.date], opened: dt.datetime,
                 statuses, priorities, responded) -> None:  # noqa: ANN001
        self.opened = opened
        self.tz = ZoneInfo(zone)
        self.spans = {int(d): [calendars._span_minutes(s) for s in v] for d, v in week.items()}
        self.holidays = holidays
        self.statuses = statuses  # (minute after opening, status)
        self.priorities = priorities
        self.responded = responded
        self.work = [0]
        self.counted = [0]

    def working(self, m: int) -> bool:
        utc = self.opened + dt.timedelta(minutes=m)
        wall = utc.replace(tzinfo=dt.UTC).astimezone(self.tz).replace(tzinfo=None)
        day = wall.date()
        of_day = wall.hour * 60 + wall.minute
        for d, minute in ((day, of_day), (day - dt.timedelta(days=1), of_day + 1440)):
            if d not in self.holidays and any(a <= minute < b
                                              for a, b in self.spans.get(d.weekday(), [])):
                return True
        return False

    def ensure(self, n: int) -> None:
        """Walk the minutes up to ``n``."""
        while len(self.work) <= n:
            m = len(self.work) - 1
            if m > HORIZON:
                raise AssertionError("the reference walked past its horizon")
            w = self.working(m)
            self.work.append(self.work[-1] + w)
            running = self.status_at(m)[0] not in STOPPED
            self.counted.append(self.counted[-1] + (w and running))

    def status_at(self, m: int) -> tuple[str, int]:
        current, since = self.statuses[0][1], 0
        for at, s in self.statuses:
            if at > m:
                break
            if s != current:
                current, since = s, at
        return current, since

    def priority_at(self, m: int) -> int:
        return [p for at, p in self.priorities if at <= m][-1]

    def clock(self, goal: int, until: int, stopped_at_until: bool = False
              ) -> tuple[int, int, int | None]:
        """(elapsed, due, reached) in minutes after the opening, read at ``until``."""
        self.ensure(until)
        elapsed = self.counted[until]
        if elapsed >= goal:
            reached = bisect.bisect_left(self.counted, goal)  # the goal-th minute's end
            return elapsed, reached, reached
        status, since = self.status_at(until)
        anchor = until if stopped_at_until or status not in STOPPED else since
        want = self.work[anchor] + goal - elapsed
        while self.work[-1] < want:
            self.ensure(len(self.work) + 7 * 24 * 60)
        return elapsed, bisect.bisect_left(self.work, want), None

    def reading(self, now: int, targets: dict) -> dict:  # noqa: ANN001
        status, since = self.status_at(now)
        t = now
        if status in CLOSED:
            t = since
            for at, s in reversed([x for x in self.statuses if x[0] <= now]):
                if s not in CLOSED:
                    break
                t = at
        response, resolution, pct = targets[self.priority_at(t)]
        elapsed, due, reached = self.clock(resolution, t)
        breached = reached is not None and reached < t
        level = 2 if breached else 1 if elapsed * 100 >= resolution * pct else 0
        if status in CLOSED:
            state = "breached" if breached else "met"
        elif breached:
            state = "breached"
        elif status == "pending":
            state = "paused"
        else:
            state = "at_risk" if level == 1 else "ok"
        if self.responded is not None and self.responded <= t:
            r_response = targets[self.priority_at(self.responded)][0]
            _e, r_due, _r = self.clock(r_response, self.responded, stopped_at_until=True)
        else:
            _e, r_due, _r = self.clock(response, t)
        minute = dt.timedelta(minutes=1)
        return {"elapsed": elapsed, "resolution_due": self.opened + due * minute,
                "response_due": self.opened + r_due * minute, "state": state, "level": level}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tickets())
def test_clock_agrees_with_the_minute_walk(ticket):  # noqa: ANN001
    zone, week, holidays, opened, targets, statuses, priorities, responded, samples = ticket
    hours = calendars.hours_from(week, zone, holidays)

    def lookup(kind: str, priority: int, service=None):  # noqa: ANN001, ANN202
        response, resolution, pct = targets[priority]
        return sla.Target(response, resolution, pct, None), hours

    minute = dt.timedelta(minutes=1)
    history = sla.History.build("incident", opened, [(opened + a * minute, s) for a, s in statuses],
                                [(opened + a * minute, p) for a, p in priorities],
                                opened + responded * minute if responded is not None else None)
    ref = Reference(zone, week, holidays, opened, statuses, priorities, responded)
    for now in samples + [a for a, _s in statuses]:
        got = sla.reading(history, opened + now * minute, lookup)
        want = ref.reading(now, targets)
        assert (got.elapsed / minute, got.resolution_due, got.response_due, got.state,
                got.escalation_level) == (want["elapsed"], want["resolution_due"],
                                          want["response_due"], want["state"], want["level"]), (
            f"at +{now} min: {zone} {week} holidays={sorted(holidays)}")


# -- through the services: the stored fields equal the clock of the history the journal keeps --
@st.composite
def service_histories(draw):  # noqa: ANN001, ANN201
    steps = []
    status = "new"
    for _ in range(draw(st.integers(1, 6))):
        gap = draw(st.integers(1, 3 * 24 * 60))
        if draw(st.integers(0, 2)) == 0:
            steps.append((gap, "impact", draw(st.integers(1, 3))))
            continue
        options = {"new": ["in_progress", "pending", "resolved"],
                   "in_progress": ["pending", "resolved"], "pending": ["in_progress", "resolved"],
                   "resolved": ["closed", "in_progress"], "closed": ["in_progress"]}[status]
        status = draw(st.sampled_from(options))
        steps.append((gap, "status", status))
    return (draw(st.sampled_from(BASES)) + dt.timedelta(minutes=draw(st.integers(0, 5 * 1440))),
            draw(st.integers(1, 3)), steps, draw(st.integers(0, 5 * 1440)))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(service_histories())
def test_stored_fields_are_the_clock_of_the_journal(sqlite_db, case):  # noqa: ANN001
    from itsmdesk.models.base import story_clock
    from itsmdesk.models.incident import Incident
    from itsmdesk.services.servicedesk import escalation, incidents

    if calendars.default_calendar() is None:
        calendars.create_calendar({"name": "Default", "timezone": "Europe/Stockholm",
                                   "working_hours": {str(d): [["08:00", "12:00"], ["13:00", "17:00"]]
                                                     for d in range(5)}})
    opened, impact, steps, later = case
    minute = dt.timedelta(minutes=1)
    with story_clock(opened):
        inc = incidents.create_incident({"title": "t", "impact": impact, "urgency": impact,
                                         "opened_at": opened})
    at = opened
    statuses, priorities = [(opened, "new")], [(opened, inc.priority)]
    responded = None
    for gap, what, value in steps:
        at += gap * minute
        with story_clock(at):
            if what == "impact":
                before = inc.priority
                inc = incidents.update_incident(inc.id, None, {"impact": value, "urgency": value})
                priorities.append((at, inc.priority))
                if inc.priority == before:
                    continue  # nothing in the history changed: the tick's work, not a write's
            else:
                inc = incidents.transition(inc.id, None, value, pending_reason="Waiting",
                                           resolution_code="user_error", solution="Done")
                statuses.append((at, value))
                responded = responded or at
        stored = {k: getattr(inc, k) for k in ("response_due", "resolution_due", "sla_state",
                                               "escalation_level")}
        history = sla.History.build("incident", opened, statuses, priorities, responded)
        assert stored == sla.reading(history, at).fields()  # the write stored the clock
        assert sla.history_of(inc) == sla.History.build(  # the journal keeps the history
            "incident", opened, statuses, priorities, responded, None, [(opened, None)])
    now = at + later * minute
    escalation.tick(now)
    row = Incident.get_by_id(inc.id)
    if row.status in ("new", "assigned", "in_progress"):
        want = sla.reading(sla.history_of(row), now).fields()
        assert (row.sla_state, row.escalation_level) == (want["sla_state"],
                                                        want["escalation_level"])
