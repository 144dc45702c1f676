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
* Incidents opened more than 90 days before the period start count only while still open (so
  the scan uses the ``opened_at`` index); a closed outage longer than that is not counted.
* failures = merged outages in the period; downtime = their total length;
  MTTR = downtime / failures; MTBF = (period − downtime) / failures, i.e. mean uptime between
  failures (ITIL's MTBF); availability = (period − downtime) / period × 100.
  With no failures MTBF and MTTR are empty (None) and availability is 100 %.

One SQL statement returns the clipped outages as epoch seconds, grouped by CI in start order, from
a partial covering index (the database parses the timestamps); one pass in Python merges them
(cheaper than SQLite's window functions, and the same on both back ends).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import db, utcnow
from itsmdesk.models.incident import (
    OPEN_STATUSES,  # an outage still going on
    OUTAGE_IMPACTS,
    OUTAGE_INDEXES,
)
from itsmdesk.services.periods import Period, epoch, epoch_sql, is_postgres, make_period, sql

DIMENSIONS = {"ci": "ci_id", "service": "service_id"}


@dataclass(slots=True)
class AvailabilityRow:
    """Figures for one CI or service (unrounded; ``as_dict`` rounds to 4 decimals).  ``id`` is
    the key as the database returns it (a UUID hex string on SQLite, a UUID on PostgreSQL)."""

    id: Any
    name: str
    failures: int
    downtime_h: float
    mttr_h: float | None
    mtbf_h: float | None
    availability_pct: float
    longest_h: float

    def as_dict(self) -> dict[str, Any]:
        d = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        d["id"] = str(_as_uuid(self.id))
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


# Incidents opened more than this long before the period start are read only while still open
# (so the opened_at index bounds the scan); a closed outage longer than this that began before
# the look-back is not counted.
LOOKBACK = dt.timedelta(days=90)


def _statement(column: str, keys: int, still_open: bool = False) -> str:
    """Outage rows ``(key, start, end)`` in epoch seconds, clipped.

    The main statement reads the partial covering index ``incident_outage_by_ci`` (or
    ``_by_service``) in key, ``opened_at`` order: rows arrive grouped by key and sorted by start
    unless an outage began before its incident was opened (which :func:`_merge` repairs).
    ``still_open`` reads the open incidents opened before the look-back (the ``status`` index).
    """
    start = epoch_sql("coalesce(i.outage_start, i.opened_at)")
    end = epoch_sql("coalesce(i.outage_end, i.resolved_at, i.closed_at)")
    greatest, least = ("GREATEST", "LEAST") if is_postgres() else ("MAX", "MIN")
    key_filter = f" AND i.{column} IN ({', '.join('?' * keys)})" if keys else ""
    # the same terms as the partial indexes' WHERE, so both back ends may use them
    common = (f"i.kind = 'incident' AND i.impact IN {OUTAGE_IMPACTS} "
              f"AND i.{column} IS NOT NULL{key_filter} "
              f"AND coalesce(i.outage_start, i.opened_at) < ? "
              f"AND (coalesce(i.outage_end, i.resolved_at, i.closed_at) IS NULL "
              f"OR coalesce(i.outage_end, i.resolved_at, i.closed_at) > ?)")
    select = (f"SELECT i.{column} AS k, {greatest}({start}, ?) AS s, "
              f"{least}(coalesce({end}, ?), ?) AS e FROM incident i")
    if still_open:
        statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
        body = f"{select} WHERE i.status IN ({statuses}) AND i.opened_at < ? AND {common}"
        return sql(f"SELECT k, s, e FROM ({body}) o WHERE e >= s")
    hint = "" if is_postgres() else f" INDEXED BY {OUTAGE_INDEXES[column]}"
    body = (f"{select}{hint} WHERE i.opened_at >= ? AND i.opened_at < ? AND {common} "
            f"ORDER BY i.{column}, i.opened_at")
    return sql(f"SELECT k, s, e FROM ({body}) o WHERE e >= s")


def _ts(value: dt.datetime) -> Any:
    return value if is_postgres() else value.strftime("%Y-%m-%d %H:%M:%S")


def _merge_spans(spans: list) -> tuple[int, float, float]:
    """(failures, downtime s, longest s) of one key's (start, end) spans, in any order."""
    spans.sort()
    n = 0
    down = longest = 0.0
    cs, ce = spans[0]
    for s, e in spans[1:]:
        if s > ce:  # a new failure
            n += 1
            down += ce - cs
            if ce - cs > longest:
                longest = ce - cs
            cs, ce = s, e
        elif e > ce:  # overlaps or touches: the same failure goes on
            ce = e
    return n + 1, down + (ce - cs), max(longest, ce - cs)


def _merge(rows, extra: list = ()) -> dict[Any, tuple[int, float, float]]:  # noqa: ANN001
    """key -> (failures, downtime s, longest s).

    ``rows`` (any iterable: the cursor is streamed, not held) come grouped by key and nearly
    always sorted by start: one pass merges them.  A key whose starts go backwards, and any key
    with ``extra`` rows (in any order), is merged again from its spans, which are kept for the
    key being read only.
    """
    out: dict[Any, tuple[int, float, float]] = {}
    late: dict[Any, list] = defaultdict(list)
    for k, s, e in extra:
        late[k].append((s, e))
    ck = None
    n = 0
    down = longest = cs = ce = last = 0.0
    spans: list = []
    unsorted = False
    for k, s, e in rows:
        if k == ck:
            spans.append((s, e))
            if s < last:
                unsorted = True
            last = s
            if s > ce:
                n += 1
                d = ce - cs
                down += d
                if d > longest:
                    longest = d
                cs, ce = s, e
            elif e > ce:
                ce = e
            continue
        if ck is not None:
            d = ce - cs
            out[ck] = (_merge_spans(spans + late.pop(ck, [])) if unsorted or ck in late
                       else (n + 1, down + d, d if d > longest else longest))
        ck, cs, ce, last = k, s, e, s
        spans = [(s, e)]
        unsorted = False
        n = 0
        down = longest = 0.0
    if ck is not None:
        d = ce - cs
        out[ck] = (_merge_spans(spans + late.pop(ck, [])) if unsorted or ck in late
                   else (n + 1, down + d, d if d > longest else longest))
    for k, key_spans in late.items():  # keys with only old, still-open outages
        out[k] = _merge_spans(key_spans)
    return out


def _names(keys: list) -> dict[Any, str]:
    if not keys:
        return {}
    if len(keys) > 5000:
        return dict(db.obj.execute_sql("SELECT id, name FROM ci").fetchall())
    names: dict[Any, str] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        statement = sql(f"SELECT id, name FROM ci WHERE id IN ({', '.join('?' * len(chunk))})")
        names.update(db.obj.execute_sql(statement, chunk).fetchall())
    return names


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
    head = [from_s, open_end, to_s]
    tail = [*key_list, _ts(period.end), _ts(period.start)]
    lookback = period.start - LOOKBACK
    # a reported-late outage (outage_start before opened_at) may open a little after the period
    column = DIMENSIONS[by]
    old_open = db.obj.execute_sql(_statement(column, len(key_list), still_open=True),
                                  [*head, _ts(lookback), *tail]).fetchall()
    cursor = db.obj.execute_sql(
        _statement(column, len(key_list)),
        [*head, _ts(lookback), _ts(period.end + dt.timedelta(days=7)), *tail])
    merged = _merge(cursor, old_open)
    names = _names(list(merged))
    # most downtime first, then by name: two stable sorts with C-level keys
    order = sorted(merged.items(), key=lambda item: names.get(item[0], ""))
    order.sort(key=lambda item: item[1][1], reverse=True)
    if limit:
        order = order[:int(limit)]
    total = period.seconds
    make = AvailabilityRow
    rows = []
    append = rows.append
    for key, (failures, downtime, longest) in order:
        uptime = total - downtime if downtime < total else 0.0
        append(make(key, names.get(key) or str(key), failures, downtime / 3600.0,
                    downtime / failures / 3600.0, uptime / failures / 3600.0,
                    uptime / total * 100.0, longest / 3600.0))
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
    from itsmdesk.services import csv_safe

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv_safe.writer(fh)
        writer.writerow([report.by, *CSV_COLUMNS[1:], "period_start", "period_end"])
        for r in report.rows:
            d = r.as_dict()
            writer.writerow([r.name, r.failures] + [d[c] for c in CSV_COLUMNS[2:]]
                            + [report.period.start.isoformat(sep=" "),
                               report.period.end.isoformat(sep=" ")])
    return len(report.rows)
