"""SLA benchmark on the large database: ``sla_tick``.

Target (issue 17): the escalation tick's selection over 1,000,000 incidents against a single
indexed query selecting the same tickets.  Ours is :func:`escalation.candidates` (what
``itsmdesk sla tick`` moves: running tickets past their due and not yet breached, running
tickets that reached their escalation share and are not yet flagged; the thresholds computed on
each target's business calendar); the baseline is one hand-written query over the
``(sla_state, resolution_due)`` index with the same thresholds, computed beforehand, as
parameters.  Both only read (the tick's writes are per ticket and few).
"""

from __future__ import annotations

from bench.runner import BenchContext, Benchmark

RUNNING = "('new','approval','assigned','in_progress')"
LIMIT = 1_000_000


def _now(ctx: BenchContext):  # noqa: ANN202
    if "now" not in ctx.state:
        from itsmdesk.models.base import utcnow

        ctx.state["now"] = utcnow()
    return ctx.state["now"]


def _ours(ctx: BenchContext) -> list[str]:
    from itsmdesk.services.servicedesk import escalation

    breached, flagged = escalation.candidates(_now(ctx), LIMIT)
    return sorted([r.ref for r in breached] + [r.ref for r, _pct in flagged])


def _setup(ctx: BenchContext) -> None:
    from itsmdesk.services.servicedesk import sla

    lookup = sla.Targets()
    now = _now(ctx)
    ctx.state["thresholds"] = [(kind, p, sla.risk_threshold(kind, p, now, lookup))
                               for kind in ("incident", "request") for p in (1, 2, 3, 4, 5)]


def _text(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if value.microsecond else \
        value.strftime("%Y-%m-%d %H:%M:%S")


def _base(ctx: BenchContext) -> list[str]:
    now = _now(ctx)
    risk = " OR ".join("(kind = ? AND priority = ? AND resolution_due <= ?)"
                       for _ in ctx.state["thresholds"])
    params: list = [_text(now)]
    for kind, p, threshold in ctx.state["thresholds"]:
        params += [kind, p, _text(threshold)]
    rows = ctx.raw_query(
        f"SELECT ref FROM incident WHERE status IN {RUNNING} AND ("
        f"(sla_state IN ('ok', 'at_risk') AND resolution_due < ?) "
        f"OR (sla_state = 'ok' AND ({risk})))", tuple(params))
    return sorted(r[0] for r in rows)


def _same(ours, base) -> None:  # noqa: ANN001
    assert ours == base, f"{len(ours)} vs {len(base)}: {sorted(set(ours) ^ set(base))[:5]}"


BENCHMARKS = [
    Benchmark("sla_tick", _ours, _base, setup=_setup, check=_same, repeat=7,
              note="the tickets the escalation tick would move now (breached + at risk), "
                   "ours through the service, baseline one indexed query"),
]
