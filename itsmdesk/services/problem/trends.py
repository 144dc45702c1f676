"""Incident trends: counts per CI, service, category or team over a period, and the top movers.

A mover compares the period with the one just before it (same length).  Counting is one
grouped SQL statement over the period and the previous one; names are looked up only for the
rows that are shown.
"""

from __future__ import annotations

import datetime as dt
import heapq
import uuid
from dataclasses import dataclass, field
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import db
from itsmdesk.services.periods import Period, is_postgres, make_period, sql

# dimension -> (incident column, table holding the name)
DIMENSIONS = {"ci": ("ci_id", "ci"), "service": ("service_id", "ci"),
              "category": ("category_id", "category"), "team": ("team_id", "team")}


@dataclass(frozen=True)
class TrendRow:
    id: Any
    name: str
    count: int
    previous: int

    @property
    def delta(self) -> int:
        return self.count - self.previous

    @property
    def change_pct(self) -> float | None:
        return None if not self.previous else round(100.0 * self.delta / self.previous, 1)

    def as_dict(self) -> dict[str, Any]:
        return {"id": None if self.id is None else str(self.id), "name": self.name,
                "count": self.count, "previous": self.previous, "delta": self.delta,
                "change_pct": self.change_pct}


@dataclass
class TrendReport:
    by: str
    period: Period
    total: int
    previous_total: int
    top: list[TrendRow] = field(default_factory=list)
    movers: list[TrendRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"by": self.by, "from": self.period.start.isoformat(sep=" "),
                "to": self.period.end.isoformat(sep=" "), "total": self.total,
                "previous_total": self.previous_total,
                "top": [r.as_dict() for r in self.top],
                "movers": [r.as_dict() for r in self.movers]}


def _ts(value: dt.datetime) -> Any:
    return value if is_postgres() else value.strftime("%Y-%m-%d %H:%M:%S")


def counts(by: str, start: dt.datetime, end: dt.datetime, mid: dt.datetime | None = None
           ) -> dict[Any, tuple[int, int]]:
    """key -> (count in [mid, end), count in [start, mid)) of incidents opened."""
    column = DIMENSIONS[by][0]
    mid = mid or start
    statement = sql(f"SELECT {column}, SUM(CASE WHEN opened_at >= ? THEN 1 ELSE 0 END), "
                    f"SUM(CASE WHEN opened_at < ? THEN 1 ELSE 0 END) FROM incident "
                    f"WHERE opened_at >= ? AND opened_at < ? AND kind = 'incident' "
                    f"GROUP BY {column}")
    cursor = db.obj.execute_sql(statement, (_ts(mid), _ts(mid), _ts(start), _ts(end)))
    return {key: (int(cur or 0), int(prev or 0)) for key, cur, prev in cursor.fetchall()}


def _names(by: str, keys: list) -> dict[Any, str]:
    table = DIMENSIONS[by][1]
    keys = [k for k in keys if k is not None]
    if not keys:
        return {}
    statement = sql(f'SELECT id, name FROM "{table}" WHERE id IN ({", ".join("?" * len(keys))})')
    return {k: n for k, n in db.obj.execute_sql(statement, keys).fetchall()}


def _as_uuid(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return value


def trends(by: str = "ci", start: dt.datetime | None = None, end: dt.datetime | None = None,
           top: int = 10, now: dt.datetime | None = None, default_days: int = 90) -> TrendReport:
    """The ``top`` keys by incident count in the period, and the ``top`` biggest movers."""
    if by not in DIMENSIONS:
        raise ValidationError(N_("Trends are counted by ci, service, category or team, not {by}"),
                              field="by", by=by)
    period = make_period(start, end, default_days=default_days, now=now)
    prev = period.previous()
    data = counts(by, prev.start, period.end, mid=period.start)
    total = sum(c for c, _p in data.values())
    previous_total = sum(p for _c, p in data.values())
    data.pop(None, None)
    top_items = [(k, c, p) for k, (c, p) in heapq.nlargest(
        top, ((k, v) for k, v in data.items() if v[0]), key=lambda kv: kv[1])]
    mover_items = [(k, c, p) for k, (c, p) in heapq.nlargest(
        top, ((k, v) for k, v in data.items() if v[0] != v[1]),
        key=lambda kv: (abs(kv[1][0] - kv[1][1]), kv[1][0]))]
    names = _names(by, list({i[0] for i in top_items + mover_items}))
    unknown = "(none)"

    def row(i: tuple) -> TrendRow:
        return TrendRow(_as_uuid(i[0]), names.get(i[0], unknown), i[1], i[2])

    return TrendReport(by, period, total, previous_total, [row(i) for i in top_items],
                       [row(i) for i in mover_items])


def daily_counts(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.date, int]]:
    """Incidents opened per day (UTC) in ``[start, end)``, with zero days filled in."""
    day = "to_char(opened_at, 'YYYY-MM-DD')" if is_postgres() else "substr(opened_at, 1, 10)"
    statement = sql(f"SELECT {day} AS d, COUNT(*) FROM incident WHERE opened_at >= ? "
                    f"AND opened_at < ? AND kind = 'incident' GROUP BY d ORDER BY d")
    found = {str(d): int(n) for d, n in
             db.obj.execute_sql(statement, (_ts(start), _ts(end))).fetchall()}
    out = []
    cursor = start.date()
    last = (end - dt.timedelta(microseconds=1)).date()
    while cursor <= last:
        out.append((cursor, found.get(cursor.isoformat(), 0)))
        cursor += dt.timedelta(days=1)
    return out


def bucketed(daily: list[tuple[dt.date, int]], max_points: int = 60) -> list[tuple[dt.date, int]]:
    """Daily counts summed into days, weeks or months so a chart has at most ``max_points``."""
    if len(daily) <= max_points:
        return daily
    size = 7 if len(daily) / 7 <= max_points else 30
    out = []
    for i in range(0, len(daily), size):
        chunk = daily[i:i + size]
        out.append((chunk[0][0], sum(n for _d, n in chunk)))
    return out


@dataclass
class Dashboard:
    report: TrendReport
    series: list[tuple[dt.date, int]]


def dashboard(by: str = "service", days: int = 90, top: int = 10,
              now: dt.datetime | None = None) -> Dashboard:
    """What the trends dashboard shows: the top and movers, and the volume over time."""
    report = trends(by, top=top, now=now, default_days=days)
    series = bucketed(daily_counts(report.period.start, report.period.end))
    return Dashboard(report, series)
