"""Service desk benchmarks on the large database: ``queue_first_page``, ``queue_deep_jump``,
``queue_count``, ``search``.

Targets (issue 3): first page of a queue <= 5 ms and <= 1.5x the best hand-written SQL; a jump
to row 900,000 of "All tickets" <= 50 ms; a queue count <= 50 ms; full-text search over a
million tickets <= 100 ms.  Each baseline is the tuned query a person would write by hand for
the same rows (keyset on the index that fits the filter and sort, joins for the names shown),
run through the raw driver; ours goes through the service the queue model calls.
"""

from __future__ import annotations

from bench.runner import BenchContext, Benchmark

OPEN = "('new','approval','assigned','in_progress','pending')"
PAGE = 100
DEEP = 900_000
WORDS = "printer queue"


def _sqlite(ctx: BenchContext) -> bool:
    return ctx.info.backend == "sqlite"


def _tie(ctx: BenchContext) -> str:
    return "i.rowid" if _sqlite(ctx) else "i.id"


def _columns() -> str:
    return ("i.id, i.ref, i.priority, i.title, i.status, i.sla_state, i.resolution_due, "
            "i.opened_at, t.name, p.name")


def _joins() -> str:
    return " LEFT JOIN team t ON t.id = i.team_id LEFT JOIN person p ON p.id = i.assignee_id "


def _refs(rows) -> list[str]:  # noqa: ANN001
    return [r[1] for r in rows]


def _same_refs(ours, base) -> None:  # noqa: ANN001
    assert ours == base, f"{ours[:3]} != {base[:3]} ({len(ours)} vs {len(base)})"


# -- first page of "All open" (newest first) --------------------------------------------------
def _first_ours(ctx: BenchContext) -> list[str]:
    from itsmdesk.services.servicedesk import queues

    page = queues.page(queues.get_spec("all_open"), 0, PAGE)
    return [r.get("ref") for r in page.rows]


def _first_base(ctx: BenchContext) -> list[str]:
    rows = ctx.raw_query(
        f"SELECT {_columns()} FROM incident i {_joins()} WHERE i.status IN {OPEN} "
        f"ORDER BY i.opened_at DESC, {_tie(ctx)} DESC LIMIT {PAGE}")
    return _refs(rows)


# -- scrollbar dragged to row 900,000 of "All tickets" ---------------------------------------------
def _deep_ours(ctx: BenchContext) -> list[str]:
    from itsmdesk.services.servicedesk import queues

    page = queues.page(queues.get_spec("all"), DEEP, PAGE)
    return [r.get("ref") for r in page.rows]


def _deep_base(ctx: BenchContext) -> list[str]:
    if _sqlite(ctx):
        # offset over the covering (opened_at, rowid) index, then 100 rows by rowid
        rows = ctx.raw_query(
            f"SELECT {_columns()} FROM incident i {_joins()} WHERE i.rowid IN ("
            f"SELECT rowid FROM incident ORDER BY opened_at DESC, rowid DESC "
            f"LIMIT {PAGE} OFFSET {DEEP}) ORDER BY i.opened_at DESC, i.rowid DESC")
    else:
        rows = ctx.raw_query(
            f"SELECT {_columns()} FROM incident i {_joins()} WHERE i.id IN ("
            f"SELECT id FROM incident ORDER BY opened_at DESC, id DESC "
            f"LIMIT {PAGE} OFFSET {DEEP}) ORDER BY i.opened_at DESC, i.id DESC")
    return _refs(rows)


# -- count beside "Breached" (open and breached) ------------------------------------------------
def _count_ours(ctx: BenchContext) -> int:
    from itsmdesk.services.servicedesk import queues

    return queues.count(queues.get_spec("breached"))


def _count_base(ctx: BenchContext) -> int:
    hint = "INDEXED BY incident_status_opened_at" if _sqlite(ctx) else ""
    return ctx.raw_query(f"SELECT count(*) FROM incident {hint} WHERE status IN {OPEN} "
                         f"AND sla_state = 'breached'")[0][0]


def _same(ours, base) -> None:  # noqa: ANN001
    assert ours == base, f"{ours} != {base}"


# -- full-text search over title, description and work log ---------------------------------------
def _search_ours(ctx: BenchContext) -> list[str]:
    from itsmdesk.services import search

    return sorted(h.ref for h in search.search_incidents(WORDS, 50))


def _search_base(ctx: BenchContext) -> list[str]:
    if _sqlite(ctx):
        q = '"printer" "queue"*'
        rows = ctx.raw_query(
            "SELECT i.ref FROM incident i WHERE i.rowid IN ("
            "SELECT rowid FROM (SELECT rowid FROM incident_fts WHERE incident_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT 200) UNION SELECT i3.rowid FROM work_log w "
            "JOIN incident i3 ON i3.id = w.incident_id WHERE w.rowid IN (SELECT rowid FROM "
            "work_log_fts WHERE work_log_fts MATCH ? ORDER BY rowid DESC LIMIT 200)) "
            "ORDER BY i.rowid DESC LIMIT 50", (q, q))
    else:
        from itsmdesk.models.fts import pg_expression

        q = "printer & queue:*"
        rows = ctx.raw_query(
            f"SELECT i.ref FROM incident i WHERE i.id IN (SELECT id FROM incident WHERE "
            f"{pg_expression('incident')} @@ to_tsquery('english', ?) UNION SELECT incident_id "
            f"FROM work_log WHERE {pg_expression('work_log')} @@ to_tsquery('english', ?)) "
            f"ORDER BY i.opened_at DESC LIMIT 50", (q, q))
    return sorted(r[0] for r in rows)


BENCHMARKS = [
    Benchmark("queue_first_page", _first_ours, _first_base, check=_same_refs, repeat=15,
              note="All open, newest first, 100 rows with team/assignee names; baseline keyset "
                   "first page on the opened_at index"),
    Benchmark("queue_deep_jump", _deep_ours, _deep_base, check=_same_refs, repeat=7,
              note="All tickets, rows 900,000-900,099: offset over the (opened_at, rowid) index "
                   "then 100 rows by key"),
    Benchmark("queue_count", _count_ours, _count_base, check=_same, repeat=11,
              note="count beside 'Breached' (open and breached)"),
    Benchmark("search", _search_ours, _search_base, check=_same_refs, repeat=11,
              note=f"'{WORDS}' over title, description and work log, 50 newest"),
]
