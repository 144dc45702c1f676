"""Business calendars: working hours per weekday in a time zone, and holidays.

SLA clocks count business time on a calendar.  Times in and out are naive UTC (as stored);
working hours are wall-clock times in the calendar's time zone (docs/servicedesk.md, "The SLA
clock", says the rules in words):

- A span ``["08:00", "17:00"]`` on a weekday is working time; ``"24:00"`` (or an end of
  ``"00:00"``) is the end of the day; an end before the start (``["22:00", "06:00"]``) is a night
  shift that ends the next morning.  A night shift belongs to the day it starts: a holiday on that
  day takes the whole shift, one on the next day none of it.
- Each day's spans are listed in order and never overlap (a night shift not the next day's first
  span either): :func:`validate_hours` refuses them with a sentence.
- Counting is on the wall clock: a span that starts inside the spring-forward gap starts at the
  gap's end, and the repeated autumn hour is counted twice when it is working time (an instant
  counts when its local wall time is inside a span: zoneinfo with ``fold``).
- A calendar with no working hours is an error ("The business calendar has no working hours"),
  never 24x7.  No calendar at all is 24x7 (:data:`ALWAYS`).
- Business time is exact: :class:`datetime.timedelta` (integer microseconds), no floats.

Holidays can be imported from an iCalendar (.ics) file: :func:`parse_ics_holidays` (in
``ics_holidays``) says which features count and what is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.servicedesk import BusinessCalendar, Holiday
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.servicedesk.ics_holidays import parse_ics_holidays

OFFICE_HOURS = {str(d): [["08:00", "17:00"]] for d in range(5)}
MAX_DAYS = 3660  # never loop more than ten years looking for working time
DAY = 24 * 60
WEEK = 7 * DAY
_UTC = dt.UTC
ZERO = dt.timedelta(0)


def _no_hours() -> ValidationError:
    return ValidationError(N_("The business calendar has no working hours"))


def _offset(tz: dt.tzinfo, utc: dt.datetime) -> dt.timedelta:
    """The zone's UTC offset at the naive-UTC instant ``utc``."""
    return utc.replace(tzinfo=_UTC).astimezone(tz).utcoffset() or ZERO


def _same_offset(tz: dt.tzinfo, start: dt.datetime, end: dt.datetime,
                 want: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of [start, end) (naive UTC, whole seconds) where the zone's offset is
    ``want``.  Offsets change on whole seconds: a change inside is found by halving."""
    if end <= start:
        return []
    last_second = end - dt.timedelta(seconds=1)
    first = _offset(tz, start)
    if first == _offset(tz, last_second):
        return [(start, end)] if first == want else []
    lo, hi = 0, int((last_second - start).total_seconds())  # offset(lo) == first != offset(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(tz, start + dt.timedelta(seconds=mid)) == first:
            lo = mid
        else:
            hi = mid
    cut = start + dt.timedelta(seconds=hi)
    return ([(start, cut)] if first == want else []) + _same_offset(tz, cut, end, want)


def local_span_to_utc(tz: dt.tzinfo, start: dt.datetime, end: dt.datetime
                      ) -> list[tuple[dt.datetime, dt.datetime]]:
    """The UTC instants whose wall time in ``tz`` lies in [start, end) (naive local times), as
    sorted disjoint intervals.  A wall time in the spring-forward gap never happens (the span
    starts at the gap's end); one in the repeated autumn hour happens twice."""
    if tz is _UTC:
        return [(start, end)] if end > start else []
    offsets = {moment.replace(tzinfo=tz, fold=fold).utcoffset()
               for moment in (start, end) for fold in (0, 1)}
    pieces: list[tuple[dt.datetime, dt.datetime]] = []
    for off in offsets:
        pieces += _same_offset(tz, start - off, end - off, off)
    pieces.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in pieces:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


@dataclass
class Hours:
    """A calendar loaded for computation (no queries while counting).

    ``week``: weekday (0 = Monday) -> spans as (start, end) minutes after that day's local
    midnight; ``end`` may pass 1440 (a night shift ends the next day)."""

    tz: dt.tzinfo
    week: dict[int, list[tuple[int, int]]]
    holidays: set[dt.date] = field(default_factory=set)
    always: bool = False
    name: str = ""
    _cache: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = field(
        default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.always and not any(self.week.values()):
            raise _no_hours()

    def intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """Working intervals of the spans that start on local ``day``, as naive UTC."""
        if self.always:
            start = dt.datetime.combine(day, dt.time())
            return [(start, start + dt.timedelta(days=1))]
        out = self._cache.get(day)
        if out is None:
            out = []
            if day not in self.holidays:
                midnight = dt.datetime.combine(day, dt.time())
                for a, b in self.week.get(day.weekday(), []):
                    out += local_span_to_utc(self.tz, midnight + dt.timedelta(minutes=a),
                                             midnight + dt.timedelta(minutes=b))
            if len(self._cache) > 20000:
                self._cache.clear()
            self._cache[day] = out
        return out

    def local_day(self, moment: dt.datetime) -> dt.date:
        if self.always:
            return moment.date()
        return moment.replace(tzinfo=_UTC).astimezone(self.tz).date()


ALWAYS = Hours(_UTC, {}, always=True, name="24x7")


def _parse_time(text: str) -> int:
    """Minutes after midnight of "HH:MM" ("24:00" is 1440)."""
    if text in ("24:00", "24:00:00"):
        return DAY
    t = dt.time.fromisoformat(str(text))
    if t.second or t.microsecond:
        raise ValueError(text)
    return t.hour * 60 + t.minute


def _span_minutes(span: Any) -> tuple[int, int]:
    """(start, end) minutes of one span; an end of 00:00 is midnight at the end of the day, an
    end before the start is the next day's."""
    if isinstance(span, str):
        span = span.split("-")
    a, b = _parse_time(span[0]), _parse_time(span[1])
    if a == DAY:
        raise ValueError(span)
    if b <= a:
        b += DAY
    return a, b


def _span_text(span: Any) -> str:
    if isinstance(span, (list, tuple)) and len(span) == 2:
        return f"{span[0]}-{span[1]}"
    return str(span)


def validate_hours(working_hours: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Working hours as stored (weekday "0".."6" -> [["HH:MM", "HH:MM"], ...]), or a
    ValidationError saying what is wrong: a bad time, a span that starts and ends at the same
    time, spans out of order or overlapping (night shifts included), or no hours at all."""
    out: dict[str, list[list[str]]] = {}
    week: list[tuple[int, int, int, str]] = []  # (start, end) minutes of the week, weekday, text
    for day, spans in (working_hours or {}).items():
        if str(day) not in {str(d) for d in range(7)}:
            raise ValidationError(N_("Weekday must be 0 (Monday) to 6 (Sunday), not {day}"), day=day)
        clean = []
        previous_start = None
        for span in spans or []:
            try:
                a, b = _span_minutes(span)
                texts = span.split("-") if isinstance(span, str) else [str(span[0]), str(span[1])]
            except (ValueError, IndexError, TypeError, AttributeError):
                raise ValidationError(N_("Working hours {span} are not HH:MM-HH:MM"),
                                      field="working_hours", span=_span_text(span)) from None
            if previous_start is not None and a <= previous_start:
                raise ValidationError(N_("Working hours {span} are listed after a later span; "
                                         "list each day's hours in order"),
                                      field="working_hours", span=_span_text(span))
            previous_start = a
            clean.append(texts)
            offset = int(day) * DAY
            week.append((offset + a, offset + b, int(day), _span_text(span)))
        out[str(day)] = clean
    if not week:
        raise ValidationError(N_("A business calendar needs working hours on at least one day"),
                              field="working_hours")
    # overlaps, on the week as a circle (Sunday's night shift runs into Monday)
    marks = sorted(week)
    later = marks + [(x + WEEK, y + WEEK, d, t) for x, y, d, t in marks]
    for i, (_a, b, _d, text) in enumerate(marks):
        following = later[i + 1]
        if following[0] < b:
            raise ValidationError(N_("Working hours {span} overlap {other}"),
                                  field="working_hours", span=text, other=following[3])
    return out


def hours_from(week_json: dict[str, Any], timezone: str, holidays: set[dt.date] | None = None,
               name: str = "") -> Hours:
    """:class:`Hours` from stored working hours (no database)."""
    try:
        tz: dt.tzinfo = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(N_("Unknown time zone {tz}"), field="timezone", tz=timezone) from None
    if (timezone or "UTC") == "UTC":
        tz = _UTC
    week: dict[int, list[tuple[int, int]]] = {}
    for d, spans in (week_json or {}).items():
        week[int(d)] = sorted(_span_minutes(s) for s in spans or [])
    return Hours(tz, week, set(holidays or ()), name=name)


def load(calendar: BusinessCalendar | None) -> Hours:
    """The calendar for counting (:data:`ALWAYS`, 24x7, for none); a calendar without working
    hours is an error, never 24x7."""
    if calendar is None:
        return ALWAYS
    if not any((calendar.working_hours or {}).values()):
        raise ValidationError(N_("The business calendar {name} has no working hours"),
                              name=calendar.name)
    days = {h.day for h in Holiday.select(Holiday.day).where(Holiday.calendar == calendar.id)}
    return hours_from(calendar.working_hours, calendar.timezone, days, calendar.name)


def _as_delta(amount: float | int | dt.timedelta) -> dt.timedelta:
    return amount if isinstance(amount, dt.timedelta) else dt.timedelta(minutes=amount)


def add_business(hours: Hours, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
    """The first UTC moment at which ``amount`` of working time has passed since ``start``
    (``start`` itself for none)."""
    if amount <= ZERO:
        return start
    if hours.always:
        return start + amount
    left = amount
    day = hours.local_day(start) - dt.timedelta(days=2)
    for _ in range(MAX_DAYS):
        for a, b in hours.intervals(day):
            if b <= start:
                continue
            a = max(a, start)
            if b - a >= left:
                return a + left
            left -= b - a
        day += dt.timedelta(days=1)
    raise _no_hours()


def add_business_minutes(hours: Hours, start: dt.datetime, minutes: float | dt.timedelta
                         ) -> dt.datetime:
    """The UTC moment ``minutes`` working minutes after ``start``."""
    return add_business(hours, start, _as_delta(minutes))


def business_between(hours: Hours, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time from ``start`` to ``end`` (negative when ``end`` is earlier), exact."""
    if end < start:
        return -business_between(hours, end, start)
    if hours.always:
        return end - start
    total = ZERO
    day = hours.local_day(start) - dt.timedelta(days=2)
    last = hours.local_day(end) + dt.timedelta(days=1)
    while day <= last:
        for a, b in hours.intervals(day):
            a, b = max(a, start), min(b, end)
            if b > a:
                total += b - a
        day += dt.timedelta(days=1)
    return total


def business_minutes_between(hours: Hours, start: dt.datetime, end: dt.datetime) -> float:
    """Working minutes from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return business_between(hours, start, end) / dt.timedelta(minutes=1)


def parse_hours_text(text: str) -> dict[str, list[list[str]]]:
    """Working hours written as a person would: ``"mon-fri 08:00-12:00,13:00-17:00; sat
    10:00-14:00"`` or ``"sun 22:00-06:00"`` (night shift), ``"mon-sun 00:00-24:00"`` (24x7)."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    out: dict[str, list[list[str]]] = {}
    for part in [p.strip() for p in str(text).replace("\n", ";").split(";") if p.strip()]:
        bits = part.split(None, 1)
        if len(bits) != 2:
            raise ValidationError(N_("Working hours {text} are not like \"mon-fri 08:00-17:00\""),
                                  field="working_hours", text=part)
        days_text, spans_text = bits
        days: list[int] = []
        for chunk in days_text.lower().split(","):
            ends = chunk.split("-")
            try:
                first = names.index(ends[0][:3])
                last = names.index(ends[-1][:3])
            except ValueError:
                raise ValidationError(N_("Unknown weekday in {text}"), field="working_hours",
                                      text=part) from None
            d = first
            while True:
                days.append(d)
                if d == last:
                    break
                d = (d + 1) % 7
        spans = [s.strip().split("-") for s in spans_text.replace(" ", "").split(",") if s.strip()]
        for d in days:
            out.setdefault(str(d), []).extend([list(s) for s in spans])
    return validate_hours(out)


# -- records -----------------------------------------------------------------------------------
def create_calendar(values: dict[str, Any], actor: Actor = SYSTEM) -> BusinessCalendar:
    require(actor or SYSTEM, "catalog.manage")
    values = dict(values)
    if not (values.get("name") or "").strip():
        raise ValidationError(N_("A calendar needs a name"), field="name")
    values["working_hours"] = validate_hours(values.get("working_hours", OFFICE_HOURS))
    _check_zone(values.get("timezone"))
    with records.atomic():
        if BusinessCalendar.select().where(BusinessCalendar.name == values["name"]).exists():
            raise ValidationError(N_("A calendar named {name} already exists"), field="name",
                                  name=values["name"])
        row = records.create(BusinessCalendar, values, actor)
        if row.name == "Default":
            _refresh(actor)  # targets without a calendar count on it from now on
        return row


def update_calendar(calendar_id, version: int | None, changes: dict[str, Any],
                    actor: Actor = SYSTEM) -> BusinessCalendar:
    require(actor or SYSTEM, "catalog.manage")
    changes = dict(changes)
    if "working_hours" in changes:
        changes["working_hours"] = validate_hours(changes["working_hours"])
    if "timezone" in changes:
        _check_zone(changes["timezone"])
    with records.atomic():
        row = records.update(BusinessCalendar, calendar_id, version, changes, actor)
        _refresh(actor)
        return row


def _check_zone(name: str | None) -> None:
    try:
        ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(N_("Unknown time zone {tz}"), field="timezone", tz=name) from None


def _refresh(actor: Actor) -> None:
    """Open tickets' SLA fields follow a calendar's change (sla.refresh_open)."""
    from itsmdesk.services.servicedesk import sla

    sla.refresh_open(actor=actor)


def list_calendars() -> list[BusinessCalendar]:
    return list(BusinessCalendar.select().order_by(BusinessCalendar.name))


def get_calendar(name_or_id) -> BusinessCalendar:  # noqa: ANN001
    row = BusinessCalendar.get_or_none(BusinessCalendar.name == str(name_or_id))
    if row is None:
        try:
            row = BusinessCalendar.get_or_none(BusinessCalendar.id == name_or_id)
        except (ValueError, TypeError):
            row = None
    if row is None:
        from itsmdesk.errors import NotFoundError

        raise NotFoundError(N_("No business calendar {name}"), name=name_or_id)
    return row


def default_calendar() -> BusinessCalendar | None:
    """The calendar SLAs use when their target names none: the one called "Default" (none:
    the clock runs 24x7, even when other calendars exist)."""
    return BusinessCalendar.get_or_none(BusinessCalendar.name == "Default")


def holidays(calendar_id) -> list[Holiday]:  # noqa: ANN001
    return list(Holiday.select().where(Holiday.calendar == calendar_id).order_by(Holiday.day))


def add_holiday(calendar_id, day: dt.date, name: str, actor: Actor = SYSTEM,  # noqa: ANN001
                refresh: bool = True) -> bool:
    """Add a holiday; False when that day already is one.  Open tickets' SLA fields follow."""
    require(actor or SYSTEM, "catalog.manage")
    with records.atomic():
        cal = records.get(BusinessCalendar, calendar_id)
        if Holiday.select().where((Holiday.calendar == cal.id) & (Holiday.day == day)).exists():
            return False
        records.add_child(Holiday, {"calendar": cal.id, "day": day,
                                    "name": name[:200] or "Holiday"}, actor)
        if refresh:
            _refresh(actor)
        return True


def import_holidays(calendar_id, path: str | Path, actor: Actor = SYSTEM,  # noqa: ANN001
                    years: range | None = None) -> tuple[int, int]:
    """Import holidays from an .ics file (see :func:`parse_ics_holidays`; repeating events over
    ``years``): (added, already there)."""
    require(actor or SYSTEM, "catalog.manage")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(N_("Cannot read {path}: {reason}"), path=str(path),
                              reason=exc.strerror or str(exc)) from None
    items = parse_ics_holidays(data, years, str(path))
    added = skipped = 0
    with records.atomic():
        for day, name in items:
            if add_holiday(calendar_id, day, name, actor, refresh=False):
                added += 1
            else:
                skipped += 1
        if added:
            _refresh(actor)
    return added, skipped
