"""Business calendars: working hours per weekday in a time zone, and holidays.

SLA clocks count business minutes on a calendar.  Times in and out are naive UTC (as stored);
working hours are local to the calendar's time zone.  With no calendar the clock runs 24x7.
Holidays can be imported from an iCalendar (.ics) file (all-day VEVENTs become holidays).
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

OFFICE_HOURS = {str(d): [["08:00", "17:00"]] for d in range(5)}
MAX_DAYS = 3660  # never loop more than ten years looking for working time


@dataclass
class Hours:
    """A calendar loaded for computation (no queries while counting)."""

    tz: dt.tzinfo
    week: dict[int, list[tuple[dt.time, dt.time]]]
    holidays: set[dt.date] = field(default_factory=set)
    always: bool = False

    def intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """Working intervals of one local day, as naive UTC datetimes."""
        if self.always:
            start = dt.datetime.combine(day, dt.time())
            return [(start, start + dt.timedelta(days=1))]
        if day in self.holidays:
            return []
        out = []
        for a, b in self.week.get(day.weekday(), []):
            start = dt.datetime.combine(day, a, self.tz).astimezone(dt.UTC).replace(tzinfo=None)
            if b == dt.time(0, 0):
                end_local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz)
            else:
                end_local = dt.datetime.combine(day, b, self.tz)
            end = end_local.astimezone(dt.UTC).replace(tzinfo=None)
            if end > start:
                out.append((start, end))
        return out

    def local_day(self, moment: dt.datetime) -> dt.date:
        if self.always:
            return moment.date()
        return moment.replace(tzinfo=dt.UTC).astimezone(self.tz).date()


ALWAYS = Hours(dt.UTC, {}, always=True)


def _parse_time(text: str) -> dt.time:
    if text in ("24:00", "24:00:00"):
        return dt.time(0, 0)
    return dt.time.fromisoformat(text)


def validate_hours(working_hours: dict[str, Any]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for day, spans in (working_hours or {}).items():
        if str(day) not in {str(d) for d in range(7)}:
            raise ValidationError(N_("Weekday must be 0 (Monday) to 6 (Sunday), not {day}"), day=day)
        clean = []
        for span in spans or []:
            try:
                a, b = _parse_time(span[0]), _parse_time(span[1])
            except (ValueError, IndexError, TypeError):
                raise ValidationError(N_("Working hours {span} are not HH:MM-HH:MM"),
                                      field="working_hours", span=span) from None
            if b != dt.time(0, 0) and b <= a:
                raise ValidationError(N_("Working hours {span} end before they start"),
                                      field="working_hours", span=span)
            clean.append([span[0], span[1]])
        out[str(day)] = clean
    return out


def load(calendar: BusinessCalendar | None) -> Hours:
    if calendar is None:
        return ALWAYS
    try:
        tz: dt.tzinfo = ZoneInfo(calendar.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    week = {int(d): [(_parse_time(a), _parse_time(b)) for a, b in spans]
            for d, spans in (calendar.working_hours or {}).items()}
    if not any(week.values()):
        return ALWAYS
    days = {h.day for h in Holiday.select(Holiday.day).where(Holiday.calendar == calendar.id)}
    return Hours(tz, week, days)


def add_business_minutes(hours: Hours, start: dt.datetime, minutes: float) -> dt.datetime:
    """The UTC moment ``minutes`` working minutes after ``start``."""
    if hours.always:
        return start + dt.timedelta(minutes=minutes)
    left = dt.timedelta(minutes=minutes)
    day = hours.local_day(start) - dt.timedelta(days=1)
    for _ in range(MAX_DAYS):
        for a, b in hours.intervals(day):
            if b <= start:
                continue
            a = max(a, start)
            if b - a >= left:
                return a + left
            left -= b - a
        day += dt.timedelta(days=1)
    raise ValidationError(N_("The business calendar has no working hours"))


def business_minutes_between(hours: Hours, start: dt.datetime, end: dt.datetime) -> float:
    """Working minutes from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -business_minutes_between(hours, end, start)
    if hours.always:
        return (end - start).total_seconds() / 60
    total = dt.timedelta()
    day = hours.local_day(start) - dt.timedelta(days=1)
    last = hours.local_day(end) + dt.timedelta(days=1)
    while day <= last:
        for a, b in hours.intervals(day):
            a, b = max(a, start), min(b, end)
            if b > a:
                total += b - a
        day += dt.timedelta(days=1)
    return total.total_seconds() / 60


# -- records -----------------------------------------------------------------------------------
def create_calendar(values: dict[str, Any], actor: Actor = SYSTEM) -> BusinessCalendar:
    values = dict(values)
    if not (values.get("name") or "").strip():
        raise ValidationError(N_("A calendar needs a name"), field="name")
    values["working_hours"] = validate_hours(values.get("working_hours", OFFICE_HOURS))
    try:
        ZoneInfo(values.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(N_("Unknown time zone {tz}"), field="timezone",
                              tz=values.get("timezone")) from None
    with records.atomic():
        if BusinessCalendar.select().where(BusinessCalendar.name == values["name"]).exists():
            raise ValidationError(N_("A calendar named {name} already exists"), field="name",
                                  name=values["name"])
        return records.create(BusinessCalendar, values, actor)


def update_calendar(calendar_id, version: int | None, changes: dict[str, Any],
                    actor: Actor = SYSTEM) -> BusinessCalendar:
    changes = dict(changes)
    if "working_hours" in changes:
        changes["working_hours"] = validate_hours(changes["working_hours"])
    with records.atomic():
        return records.update(BusinessCalendar, calendar_id, version, changes, actor)


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
    """The calendar SLAs use when their definition names none: the one called "Default", else
    the only one there is."""
    row = BusinessCalendar.get_or_none(BusinessCalendar.name == "Default")
    if row is None and BusinessCalendar.select().count() == 1:
        row = BusinessCalendar.get()
    return row


def holidays(calendar_id) -> list[Holiday]:  # noqa: ANN001
    return list(Holiday.select().where(Holiday.calendar == calendar_id).order_by(Holiday.day))


def add_holiday(calendar_id, day: dt.date, name: str, actor: Actor = SYSTEM) -> bool:  # noqa: ANN001
    """Add a holiday; False when that day already is one."""
    with records.atomic():
        cal = records.get(BusinessCalendar, calendar_id)
        if Holiday.select().where((Holiday.calendar == cal.id) & (Holiday.day == day)).exists():
            return False
        records.add_child(Holiday, {"calendar": cal.id, "day": day,
                                    "name": name[:200] or "Holiday"}, actor)
        return True


def parse_ics_holidays(data: bytes) -> list[tuple[dt.date, str]]:
    """All-day (and timed) VEVENTs of an iCalendar file as (day, name); multi-day events give a
    day each."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ValidationError(N_("Not an iCalendar file: {reason}"), reason=str(exc)) from None
    out: list[tuple[dt.date, str]] = []
    for event in cal.walk("VEVENT"):
        start = event.get("DTSTART")
        if start is None:
            continue
        first = start.dt.date() if isinstance(start.dt, dt.datetime) else start.dt
        end = event.get("DTEND")
        last = first
        if end is not None:
            end_day = end.dt.date() if isinstance(end.dt, dt.datetime) else end.dt
            # DTEND of an all-day event is exclusive
            last = max(first, end_day - dt.timedelta(days=1)) if not isinstance(end.dt, dt.datetime) \
                else max(first, end_day)
        name = str(event.get("SUMMARY") or "Holiday")
        day = first
        while day <= last and (day - first).days < 31:
            out.append((day, name))
            day += dt.timedelta(days=1)
    return out


def import_holidays(calendar_id, path: str | Path, actor: Actor = SYSTEM) -> tuple[int, int]:  # noqa: ANN001
    """Import holidays from an .ics file: (added, already there)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(N_("Cannot read {path}: {reason}"), path=str(path),
                              reason=exc.strerror or str(exc)) from None
    items = parse_ics_holidays(data)
    added = skipped = 0
    with records.atomic():
        for day, name in items:
            if add_holiday(calendar_id, day, name, actor):
                added += 1
            else:
                skipped += 1
    return added, skipped
