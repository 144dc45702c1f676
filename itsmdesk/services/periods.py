"""Report periods and back-end specific SQL snippets shared by trends and availability."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import db, utcnow


@dataclass(frozen=True)
class Period:
    start: dt.datetime  # inclusive, naive UTC
    end: dt.datetime  # exclusive

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0

    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)


def make_period(start: dt.datetime | None = None, end: dt.datetime | None = None,
                default_days: int = 365, now: dt.datetime | None = None) -> Period:
    """``[start, end)``; missing ends default to now (this second included) and
    ``default_days`` before the end."""
    end = end or (now or utcnow()) + dt.timedelta(seconds=1)
    start = start or end - dt.timedelta(days=default_days)
    if end <= start:
        raise ValidationError(N_("The period must end after it starts ({start} .. {end})"),
                              field="to", start=start, end=end)
    return Period(start, end)


def is_postgres() -> bool:
    return isinstance(db.obj, pw.PostgresqlDatabase)


def epoch_sql(expr: str) -> str:
    """SQL giving ``expr`` (a timestamp) as seconds since 1970 (float)."""
    if is_postgres():
        return f"extract(epoch from {expr})::float8"
    return f"((julianday({expr}) - 2440587.5) * 86400.0)"


def ts_param(value: dt.datetime):  # noqa: ANN201
    """A datetime as the back end compares it with stored timestamps."""
    if is_postgres():
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S")


def epoch(value: dt.datetime) -> float:
    return (value - dt.datetime(1970, 1, 1)).total_seconds()


def sql(text: str) -> str:
    """``?`` placeholders -> the back end's."""
    return text.replace("?", "%s") if is_postgres() else text
