"""Component failure analysis: failures, MTBF, MTTR and availability per CI or business service.

How an outage is measured (also in docs/availability.md):

* Only incidents (not service requests) with impact 1 (high) or 2 (medium) count, on the CI
  (``--by ci``: ``Incident.ci``) or business service (``--by service``: ``Incident.service``).
* An outage starts at ``Incident.outage_start`` when set, else when the incident was opened
  (``opened_at``); it ends at ``Incident.outage_end`` when set, else when the incident was
  resolved (``resolved_at``), else closed (``closed_at``); an incident still open is an outage
  still going on (it ends at the end of the period, or now).
* Outages are clipped to the period; overlapping (or touching) outages of the same CI are merged
  into one failure, so two incidents about the same breakdown count once.
* failures = merged outages in the period; downtime = their total length;
  MTTR = downtime / failures; MTBF = (period − downtime) / failures, i.e. mean uptime between
  failures (ITIL's MTBF); availability = (period − downtime) / period × 100.
  With no failures MTBF and MTTR are empty (None) and availability is 100 %.

The whole computation is one SQL statement (window functions merge the outages), on SQLite and
PostgreSQL alike, so a year of a million incidents is read once, inside the database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import db, utcnow
from itsmdesk.services.periods import Period, epoch, epoch_sql, is_postgres, make_period, sql

OUTAGE_IMPACTS = (1, 2)
DIMENSIONS = {"ci": "ci_id", "service": "service_id"}


@dataclass(frozen=True)
class AvailabilityRow:
    id: Any
    name: str
    failures: int
    downtime_h: float
    mttr_h: float | None
    mtbf_h: float | None
    availability_pct: float
    longest_h: float

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["id"] = str(self.id)
        return d


@dataclass(frozen=True)
class AvailabilityReport:
    by: str
    period: Period
    rows: list[AvailabilityRow]

    @property
    def total_downtime_h(self) -> float:
        return round(sum(r.downtime_h for r in self.rows), 4)

    @property
    def total_failures(self) -> int:
        return sum(r.failures for r in self.rows)


def _statement(column: str, keys: int) -> str:
    start = epoch_sql("coalesce(i.outage_start, i.opened_at)")
    end = epoch_sql("coalesce(i.outage_end, i.resolved_at, i.closed_at)")
    greatest, least = ("GREATEST", "LEAST") if is_postgres() else ("MAX", "MIN")
    key_filter = f" AND i.{column} IN ({', '.join('?' * keys)})" if keys else ""
    return sql(f"""
WITH o AS (
  SELECT i.{column} AS k, {greatest}({start}, ?) AS s, {least}(coalesce({end}, ?), ?) AS e
  FROM incident i
  WHERE i.impact IN (1, 2) AND i.kind = 'incident' AND i.{column} IS NOT NULL{key_filter}
    AND coalesce(i.outage_start, i.opened_at) < ?
    AND (coalesce(i.outage_end, i.resolved_at, i.closed_at) IS NULL
         OR coalesce(i.outage_end, i.resolved_at, i.closed_at) > ?)
), m AS (
  SELECT k, s, e, MAX(e) OVER (PARTITION BY k ORDER BY s, e
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
  FROM o WHERE e >= s
), g AS (
  SELECT k, s, e, SUM(CASE WHEN prev_end IS NULL OR s > prev_end THEN 1 ELSE 0 END)
                  OVER (PARTITION BY k ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS grp
  FROM m
), isl AS (
  SELECT k, MIN(s) AS s, MAX(e) AS e FROM g GROUP BY k, grp
)
SELECT isl.k, c.name, COUNT(*) AS failures, SUM(isl.e - isl.s) AS downtime, MAX(isl.e - isl.s)
FROM isl JOIN ci c ON c.id = isl.k
GROUP BY isl.k, c.name
ORDER BY downtime DESC, c.name
""")


def _ts(value: dt.datetime) -> Any:
    return value if is_postgres() else value.strftime("%Y-%m-%d %H:%M:%S")


def availability(by: str = "ci", start: dt.datetime | None = None, end: dt.datetime | None = None,
                 ids: list | None = None, limit: int | None = None,
                 now: dt.datetime | None = None) -> AvailabilityReport:
    """Failures, downtime, MTTR, MTBF and availability per CI (or service) with outages."""
    if by not in DIMENSIONS:
        raise ValidationError(N_("Availability is computed by ci or service, not {by}"),
                              field="by", by=by)
    period = make_period(start, end, now=now)
    now = now or utcnow()
    open_end = epoch(min(now, period.end))
    from_s, to_s = epoch(period.start), epoch(period.end)
    key_list = [_key_param(k) for k in (ids or [])]
    params = [from_s, open_end, to_s, *key_list, _ts(period.end), _ts(period.start)]
    statement = _statement(DIMENSIONS[by], len(key_list))
    if limit:
        statement += f" LIMIT {int(limit)}"
    cursor = db.obj.execute_sql(statement, params)
    rows = []
    total = period.seconds
    for key, name, failures, downtime, longest in cursor.fetchall():
        downtime = float(downtime or 0.0)
        failures = int(failures)
        uptime = max(total - downtime, 0.0)
        rows.append(AvailabilityRow(
            id=_as_uuid(key), name=name, failures=failures,
            downtime_h=round(downtime / 3600.0, 4),
            mttr_h=round(downtime / failures / 3600.0, 4) if failures else None,
            mtbf_h=round(uptime / failures / 3600.0, 4) if failures else None,
            availability_pct=round(uptime / total * 100.0, 4),
            longest_h=round(float(longest or 0.0) / 3600.0, 4)))
    return AvailabilityReport(by, period, rows)


def _key_param(key: Any) -> Any:
    key = getattr(key, "id", key)
    if is_postgres():
        return str(key)
    return key.hex if isinstance(key, uuid.UUID) else uuid.UUID(str(key)).hex


def _as_uuid(value: Any) -> Any:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return value


def top_downtime(report: AvailabilityReport, n: int = 10) -> list[AvailabilityRow]:
    """The CIs (or services) whose failures cost most downtime."""
    return sorted(report.rows, key=lambda r: (-r.downtime_h, r.name))[:n]


CSV_COLUMNS = ("name", "failures", "downtime_h", "mttr_h", "mtbf_h", "availability_pct",
               "longest_h")


def write_csv(report: AvailabilityReport, path) -> int:  # noqa: ANN001
    """Write the report as CSV (UTF-8, header row); returns the number of rows."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([report.by, *CSV_COLUMNS[1:], "period_start", "period_end"])
        for r in report.rows:
            writer.writerow([r.name, r.failures, r.downtime_h,
                             "" if r.mttr_h is None else r.mttr_h,
                             "" if r.mtbf_h is None else r.mtbf_h, r.availability_pct,
                             r.longest_h, report.period.start.isoformat(sep=" "),
                             report.period.end.isoformat(sep=" ")])
    return len(report.rows)
