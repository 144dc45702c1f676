"""Foundation benchmarks: ``stats`` (counts per kind) and ``bulk_insert`` (the write path)."""

from __future__ import annotations

import uuid

from bench.runner import BenchContext, Benchmark
from itsmdesk.services.stats import counts

KIND_SQL = {
    "incidents": "SELECT count(*) FROM incident WHERE kind = 'incident'",
    "service_requests": "SELECT count(*) FROM incident WHERE kind = 'request'",
    "problems": "SELECT count(*) FROM problem",
    "known_errors": "SELECT count(*) FROM known_error",
    "changes": 'SELECT count(*) FROM "change"',
    "cab_meetings": "SELECT count(*) FROM cab_meeting",
    "releases": 'SELECT count(*) FROM "release"',
    "cis": "SELECT count(*) FROM ci",
    "relations": "SELECT count(*) FROM relation",
    "articles": "SELECT count(*) FROM article",
    "people": "SELECT count(*) FROM person",
    "teams": "SELECT count(*) FROM team",
    "journal_entries": "SELECT count(*) FROM journal",
}


def _stats_baseline(ctx: BenchContext) -> dict[str, int]:
    return {k: ctx.raw_query(sql)[0][0] for k, sql in KIND_SQL.items()}


def _same(a, b) -> None:
    assert a == b, f"{a} != {b}"


N_ROWS = 5000


def _bulk_ours(ctx: BenchContext) -> int:
    """5,000 journal rows through the funnel's journal writer (multi-row INSERTs, one
    transaction, rolled back)."""
    from itsmdesk.models import db
    from itsmdesk.models.base import utcnow
    from itsmdesk.services.records import insert_journal_rows

    rid = uuid.uuid4()
    now = utcnow()
    rows = [("bench", rid, "bench", "f", str(i), str(i + 1), None, "system", now, "", None, None)
            for i in range(N_ROWS)]
    with db.atomic() as txn:
        insert_journal_rows(rows)
        txn.rollback()
    return N_ROWS


def _bulk_baseline(ctx: BenchContext) -> int:
    conn = ctx.raw()
    rid = uuid.uuid4().hex
    rows = [("bench", rid, "bench", "f", str(i), str(i + 1), None, "system",
             "2026-01-01 00:00:00", "") for i in range(N_ROWS)]
    sql = ("INSERT INTO journal (record_kind, record_id, record_ref, field, old, new, who_id, "
           "who_name, at, site) VALUES (?,?,?,?,?,?,?,?,?,?)")
    if ctx.info.backend == "sqlite":
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.rollback()
    else:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)
        conn.rollback()
        conn.autocommit = True
    return N_ROWS


BENCHMARKS = [
    Benchmark("stats", lambda ctx: counts(), _stats_baseline, check=_same,
              note="counts per record kind; baseline: the same count(*) queries via the raw driver"),
    Benchmark("bulk_insert", _bulk_ours, _bulk_baseline, repeat=5,
              note=f"{N_ROWS} journal rows in one transaction; baseline: executemany via the raw driver"),
]
