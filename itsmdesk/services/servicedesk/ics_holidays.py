"""Holidays read from an iCalendar (.ics) file, refusing what cannot be a holiday with a sentence.

Which features count is in :func:`parse_ics_holidays`.  An .ics file is input from anywhere, so
everything the iCalendar library lets through is checked before a day is computed, and every
refusal names the file's line (the event's property, or the event's ``BEGIN:VEVENT``) and what is
wrong with it:

- a date that does not exist (``20260230``, month 13, day 00) or is not a date at all;
- a day outside the years itsmdesk works with (:data:`FIRST_YEAR` to :data:`LAST_YEAR`: far
  enough for any holiday, near enough that SLA arithmetic never leaves Python's dates);
- a start that is a period or a duration (``VALUE=PERIOD``, ``VALUE=DURATION``), a negative
  duration, an end of another type than the start, two ``DTSTART`` (or ``DTEND``...) lines;
- an event longer than :data:`MAX_EVENT_DAYS`, a rule repeating more than :data:`MAX_REPEATS`
  times in the window, a file naming more than :data:`MAX_DAYS` holidays (a file that would take
  minutes and fill the calendar with every day of a century is a mistake, not a holiday list);
- a rule dateutil cannot read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from itsmdesk.errors import N_, Phrase, ValidationError

ICS_YEARS = 10  # a repeating holiday without an end is expanded over this many years
FIRST_YEAR, LAST_YEAR = 1900, 2199  # the dates the commands accept (commands/base.DATE_MIN/MAX)
MAX_EVENT_DAYS = 366  # one event (one occurrence) spans at most a year
MAX_REPEATS = 5000  # occurrences of one repeating event within the years asked for
MAX_DAYS = 20_000  # holidays one file may name (55 years of every day)
MAX_YEARS = 100  # years a repeating event is expanded over at most

_SINGLE = ("DTSTART", "DTEND", "DURATION", "RRULE", "SUMMARY", "STATUS", "TRANSP")


class _Lines:
    """Line numbers of the raw file: each VEVENT's ``BEGIN`` line and its properties' lines."""

    def __init__(self, data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        self.lines = re.split(r"\r\n|\n|\r", text)
        self.events = [i + 1 for i, line in enumerate(self.lines)
                       if line.strip().upper() == "BEGIN:VEVENT"]

    def of(self, event_index: int, prop: str | None = None) -> int:
        """The line of ``prop`` in the ``event_index``-th VEVENT (its BEGIN line without one)."""
        if event_index >= len(self.events):
            return 0
        start = self.events[event_index]
        if prop:
            pattern = re.compile(rf"^{re.escape(prop)}[;:]", re.IGNORECASE)
            for number in range(start, len(self.lines) + 1):
                line = self.lines[number - 1]
                if line.strip().upper() == "END:VEVENT":
                    break
                if pattern.match(line):
                    return number
        return start


class _Event:
    """One VEVENT with its position, so every refusal can say where."""

    def __init__(self, event: Any, index: int, lines: _Lines, path: str) -> None:
        self.event, self.index, self.lines, self.path = event, index, lines, path

    def bad(self, prop: str | None, template: str, **params: Any) -> ValidationError:
        """``template`` (an N_() text with {path}, {line} and {prop}) filled for this event."""
        return ValidationError(template, path=self.path, line=self.lines.of(self.index, prop),
                               prop=prop or "VEVENT", **params)

    def prop(self, name: str) -> Any:
        value = self.event.get(name)
        if isinstance(value, list):
            raise self.bad(name, N_("{path}, line {line}: "
                                    "the event has {count} {prop} lines; it may have one"),
                           count=len(value))
        return value

    def moment(self, name: str) -> dt.date | None:
        """DTSTART/DTEND as a date or datetime in its own wall time, checked."""
        value = self.prop(name)
        if value is None:
            return None
        try:
            moment = value.dt
        except Exception as exc:  # noqa: BLE001 - icalendar's BrokenCalendarProperty & co.
            raw = _raw_value(value)
            raise self.bad(name, N_("{path}, line {line}: "
                                    "{prop} '{raw}' is not a date that exists ({reason})"),
                           raw=raw, reason=_first_line(exc)) from None
        if not isinstance(moment, dt.date):  # a PERIOD (tuple), a DURATION (timedelta), a time
            raise self.bad(name, N_("{path}, line {line}: "
                                    "{prop} must be a date or a date and time, not {what}"),
                           what=_kind_of(moment))
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise self.bad(name, N_("{path}, line {line}: "
                                    "{prop} {day} is outside the dates itsmdesk works with "
                                    "({first} to {last})"), day=moment.isoformat()[:10],
                           first=f"{FIRST_YEAR}-01-01", last=f"{LAST_YEAR}-12-31")
        return moment

    def duration(self) -> dt.timedelta | None:
        value = self.prop("DURATION")
        if value is None:
            return None
        try:
            length = value.dt
        except Exception as exc:  # noqa: BLE001
            raise self.bad("DURATION", N_("{path}, line {line}: "
                                          "DURATION '{raw}' is not a duration ({reason})"),
                           raw=_raw_value(value), reason=_first_line(exc)) from None
        if not isinstance(length, dt.timedelta):
            raise self.bad("DURATION", N_("{path}, line {line}: "
                                          "DURATION must be a length such as P1D, not {what}"),
                           what=_kind_of(length))
        if length < dt.timedelta(0):
            raise self.bad("DURATION", N_("{path}, line {line}: "
                                          "DURATION '{raw}' is negative"), raw=_raw_value(value))
        return length

    def dates_of(self, name: str) -> list[dt.datetime]:
        """RDATE/EXDATE values as naive datetimes (a PERIOD counts from its start)."""
        out = []
        for prop in _as_list(self.event.get(name)):
            try:
                items = [item.dt for item in prop.dts]
            except Exception as exc:  # noqa: BLE001
                raise self.bad(name, N_("{path}, line {line}: "
                                        "{prop} '{raw}' is not a list of dates ({reason})"),
                               raw=_raw_value(prop), reason=_first_line(exc)) from None
            for item in items:
                if isinstance(item, tuple) and item and isinstance(item[0], dt.date):
                    item = item[0]
                if not isinstance(item, dt.date):
                    raise self.bad(name, N_("{path}, line {line}: "
                                            "{prop} must hold dates, not {what}"), what=_kind_of(item))
                if not FIRST_YEAR <= item.year <= LAST_YEAR:
                    raise self.bad(name, N_("{path}, line {line}: "
                                            "{prop} {day} is outside the dates itsmdesk works with "
                                            "({first} to {last})"), day=item.isoformat()[:10],
                                   first=f"{FIRST_YEAR}-01-01", last=f"{LAST_YEAR}-12-31")
                out.append(_naive(item))
        return out


def _raw_value(prop: Any) -> str:
    for attr in ("to_ical",):
        try:
            raw = getattr(prop, attr)()
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            return _printable(text[:60])
        except Exception:  # noqa: BLE001, S112 - only for the message
            continue
    return _printable(str(prop)[:60])


def _first_line(exc: BaseException) -> str:
    """The parser's own reason, without icalendar's "Cannot access 'dt' on broken property"."""
    text = str(exc).strip()
    text = re.sub(r"^Cannot access '\w+' on broken property '[\w-]+' \(expected '\w+'\): ", "",
                  text)
    return _printable((text.splitlines() or [type(exc).__name__])[0][:160])


def _printable(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` (a NUL must not reach a terminal)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _kind_of(value: Any) -> Phrase:
    """What a value is, as a phrase translated with the sentence it goes into."""
    if isinstance(value, tuple):
        return Phrase(N_("a period"))
    if isinstance(value, dt.timedelta):
        return Phrase(N_("a duration"))
    if isinstance(value, dt.time):
        return Phrase(N_("a time of day"))
    return Phrase(N_("a value of another kind"))


def check_years(years: range) -> None:
    """Refuse a window outside the dates itsmdesk works with, or longer than MAX_YEARS."""
    if (years.start < FIRST_YEAR or years.stop - 1 > LAST_YEAR or years.stop <= years.start
            or len(years) > MAX_YEARS):
        raise ValidationError(N_("Years {first}-{last} cannot be expanded: give at most {most} "
                                 "years between {low} and {high}"), first=years.start,
                              last=years.stop - 1, most=MAX_YEARS, low=FIRST_YEAR, high=LAST_YEAR)


def parse_ics_holidays(data: bytes, years: range | None = None, path: str = "the .ics file"
                       ) -> list[tuple[dt.date, str]]:
    """The holidays in an iCalendar file as (day, name), sorted, each day once.

    - An all-day VEVENT is the days from DTSTART up to (not including) DTEND, or for DURATION
      days; with neither, DTSTART's day.  Ranges may be up to a year (MAX_EVENT_DAYS) long.
    - A timed VEVENT is every local day it touches; an end at midnight does not touch the next
      day (00:00-00:00 is one day).
    - RRULE (yearly, monthly, weekly, daily...), RDATE and EXDATE repeat it, expanded over
      ``years`` (default: this year and the next nine) or until the rule's UNTIL/COUNT.
    - Cancelled events (STATUS:CANCELLED) and events marked TRANSP:TRANSPARENT are not holidays.
    - Anything else that is wrong is a ValidationError naming ``path``, the line and the problem.
    """
    import icalendar

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        cal = icalendar.Calendar.from_ical(data)
        events = list(cal.walk("VEVENT"))
    except Exception as exc:  # noqa: BLE001 - whatever the parser chokes on is not iCalendar
        raise ValidationError(N_("{path} is not an iCalendar file: {reason}"), path=path,
                              reason=_first_line(exc)) from None
    if years is None:
        this = max(FIRST_YEAR, min(dt.date.today().year, LAST_YEAR - ICS_YEARS + 1))
        years = range(this, this + ICS_YEARS)
    check_years(years)
    lines = _Lines(data)
    found: dict[dt.date, str] = {}
    for index, raw_event in enumerate(events):
        event = _Event(raw_event, index, lines, path)
        for day, name in _event_holidays(event, years):
            found.setdefault(day, name)
            if len(found) > MAX_DAYS:
                raise event.bad(None, N_("{path}, line {line}: "
                                         "the file names more than {most} holidays; is it a "
                                         "holiday list?"), most=MAX_DAYS)
    return sorted(found.items())


def _event_holidays(event: _Event, years: range) -> list[tuple[dt.date, str]]:
    first_value = event.moment("DTSTART")
    if first_value is None:
        return []
    if str(event.prop("STATUS") or "").upper() == "CANCELLED":
        return []
    if str(event.prop("TRANSP") or "").upper() == "TRANSPARENT":
        return []
    end = event.moment("DTEND")
    duration = event.duration()
    if end is not None and type(end) is type(first_value):
        length = end - first_value
        if length < dt.timedelta(0):
            raise event.bad("DTEND", N_("{path}, line {line}: "
                                        "DTEND {end} is before DTSTART {start}"),
                             end=end.isoformat(), start=first_value.isoformat())
    elif end is not None:
        raise event.bad("DTEND", N_("{path}, line {line}: "
                                    "DTEND must be of the same type as DTSTART (both dates, or "
                                    "both dates and times)"))
    elif duration is not None:
        length = duration
    else:
        length = dt.timedelta(days=1) if not isinstance(first_value, dt.datetime) \
            else dt.timedelta(0)
    if length > dt.timedelta(days=MAX_EVENT_DAYS):
        raise event.bad("DTEND" if end is not None else "DURATION",
                        N_("{path}, line {line}: "
                           "the event lasts {days} days; a holiday lasts at most {most}"),
                        days=length.days, most=MAX_EVENT_DAYS)
    name = str(event.prop("SUMMARY") or "").replace("\x00", "").strip()[:200] or "Holiday"
    starts: list[Any] = [first_value]
    rrule_prop = event.prop("RRULE")
    if rrule_prop is not None or event.event.get("RDATE") is not None:
        starts = _occurrences(event, first_value, rrule_prop, years)
    out = []
    for first in starts:
        for day in _event_days(first, length):
            if years.start <= day.year < years.stop or rrule_prop is None:
                if not FIRST_YEAR <= day.year <= LAST_YEAR:
                    raise event.bad(None, N_("{path}, line {line}: "
                                             "the event reaches {day}, outside the dates itsmdesk "
                                             "works with ({first} to {last})"), day=day.isoformat(),
                                    first=f"{FIRST_YEAR}-01-01", last=f"{LAST_YEAR}-12-31")
                out.append((day, name))
    return out


def _occurrences(event: _Event, first_value: dt.date, rrule_prop: Any, years: range) -> list[Any]:
    from dateutil import rrule

    window_start = dt.datetime(years.start, 1, 1)
    window_end = dt.datetime(years.stop, 1, 1) - dt.timedelta(seconds=1)
    naive_first = _naive(first_value)
    ruleset = rrule.rruleset()
    rule_text = None
    if rrule_prop is not None:
        try:
            rule_text = _naive_until(rrule_prop.to_ical().decode())
            ruleset.rrule(rrule.rrulestr(rule_text, dtstart=naive_first))
        except Exception as exc:  # noqa: BLE001 - dateutil's ValueError/TypeError/KeyError...
            raise event.bad("RRULE", N_("{path}, line {line}: "
                                        "RRULE '{raw}' is not a rule itsmdesk can read ({reason})"),
                            raw=_raw_value(rrule_prop), reason=_first_line(exc)) from None
    for moment in event.dates_of("RDATE"):
        ruleset.rdate(moment)
    for moment in event.dates_of("EXDATE"):
        ruleset.exdate(moment)
    if not rule_text:
        ruleset.rdate(naive_first)
    starts: list[Any] = []
    try:
        for moment in ruleset.xafter(window_start, inc=True):
            if moment > window_end:
                break
            if len(starts) >= MAX_REPEATS:
                raise event.bad("RRULE", N_("{path}, line {line}: "
                                            "the event repeats more than {most} times in "
                                            "{first}-{last}; is it a holiday?"), most=MAX_REPEATS,
                                first=years.start, last=years.stop - 1)
            starts.append(moment if isinstance(first_value, dt.datetime) else moment.date())
    except (ValueError, OverflowError, TypeError) as exc:
        raise event.bad("RRULE", N_("{path}, line {line}: "
                                    "the event's repetition cannot be computed ({reason})"),
                        reason=_first_line(exc)) from None
    return starts


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _naive(value: Any) -> dt.datetime:
    """A DTSTART-like value as a naive datetime in its own wall time (dates at midnight)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


def _naive_until(rule: str) -> str:
    """An RRULE whose UNTIL is written as a naive local time (dateutil refuses a UTC UNTIL with a
    naive DTSTART)."""
    parts = []
    for part in rule.split(";"):
        if part.upper().startswith("UNTIL=") and part.upper().endswith("Z"):
            part = part[:-1]
        parts.append(part)
    return ";".join(parts)


def _event_days(first: Any, length: dt.timedelta) -> list[dt.date]:
    """The days one occurrence covers."""
    if isinstance(first, dt.datetime):
        last_moment = first + length
        day, last = first.date(), last_moment.date()
        if last_moment > first and last_moment.time() == dt.time(0, 0):
            last -= dt.timedelta(days=1)  # ends at midnight: the next day is not touched
        last = max(day, last)
    else:
        day = first
        last = first + dt.timedelta(days=max(1, length.days) - 1)
    out = []
    while day <= last:
        out.append(day)
        day += dt.timedelta(days=1)
    return out
