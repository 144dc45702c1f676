"""Conflict detection on the shape of a real HP Service Manager extract: ``conflicts_real_shape``.

Issue 19: 18,000 changes (most of them closed, a third without an end), 30,000 change-CI links
over ~10,000 CIs.  Their planned windows overlap in millions of pairs (long-running changes of an
old history), so finding impact-path conflicts pair by pair cost 39 s and 636 MB against 3.8 s for
the same-CI pairs.

* ours: :func:`conflicts.analyse` over every change (``statuses=None``), same-CI and impact-path
  pairs (no windows): each CI's impact walked once, then a sweep by time per CI;
* baseline: the same run with the pairwise method (:func:`conflicts.impact_pairs_pairwise`, every
  pair of changes overlapping in time built and its CIs' upstream sets intersected);
* extra figures: the same-CI-only run (``same_ci_ms``, the target is ours <= 2 x that), the
  time-overlapping pairs the pairwise method builds, the pairs found and how many involve a
  stretched change, and the peak Python memory of one run of each (tracemalloc).

The database: the CMDB of one site of the synthetic estate (``bench_cmdb.write_synthetic_csv``:
core switch, SANs, 500 servers, 4,000 VMs, 1,900 databases, 3,000 applications, 200 business
services, workstations; 10,000 CIs, ~30,000 relations) imported through our CSV importer; the
changes written by the bulk writer, CIs chosen with the weight a real extract shows (servers,
VMs and applications most, the core switch rarely).
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.runner import BenchContext, Benchmark

CHANGES = 18_000
LINKS = 30_000
T0 = dt.datetime(2021, 1, 4, 8, 0)
SPAN_DAYS = 3 * 365


def _build_cmdb() -> None:
    from bench.bench_cmdb import write_synthetic_csv
    from itsmdesk.services.cmdb.csv_io import import_csv

    work = Path(tempfile.mkdtemp(prefix="itsmdesk-conflicts-"))
    ci_path, rel_path = write_synthetic_csv(work, sites=1, seed=19)
    import_csv("cis", ci_path)
    import_csv("relations", rel_path)
    for p in work.iterdir():
        p.unlink()
    work.rmdir()


def _window(rng: random.Random) -> tuple[dt.datetime, dt.datetime | None]:
    start = T0 + dt.timedelta(minutes=rng.randrange(SPAN_DAYS * 24 * 60))
    roll = rng.random()
    if roll < 0.33:  # no end (or end = start): stretched
        return start, rng.choice((None, start))
    if roll < 0.70:
        return start, start + dt.timedelta(hours=rng.choice((1, 2, 4, 8)))
    if roll < 0.92:
        return start, start + dt.timedelta(days=rng.randrange(1, 15))
    return start, start + dt.timedelta(days=rng.randrange(60, 366))  # never closed in time


def _build_changes(rng: random.Random) -> None:
    import uuid

    from itsmdesk.models.change import Change, ChangeCI
    from itsmdesk.models.cmdb import CI, CIClass
    from itsmdesk.services import bulk, records

    by_class: dict[str, list] = {}
    for cid, cname in CI.select(CI.id, CIClass.name).join(CIClass).tuples():
        by_class.setdefault(cname, []).append(cid)
    weights = {"server": 6, "virtual_machine": 5, "application": 6, "database": 3,
               "business_service": 1, "storage": 0.05, "network_device": 0.02, "workstation": 1}
    classes = [c for c in weights if by_class.get(c)]
    cum = [weights[c] for c in classes]
    statuses = ["closed"] * 85 + ["implemented"] * 5 + ["approved"] * 4 + ["scheduled"] * 3 \
        + ["draft"] * 3
    now = dt.datetime(2026, 1, 1)
    values, links = [], []
    extra = LINKS - CHANGES  # changes with a second or third CI
    for n in range(CHANGES):
        start, end = _window(rng)
        cid = uuid.uuid4()
        values.append({"id": cid, "ref": f"C{n + 1:06d}", "title": f"Imported change {n + 1}",
                       "status": rng.choice(statuses), "planned_start": start,
                       "planned_end": end, "created_at": now, "updated_at": now,
                       "external_key": f"C{n + 1:06d}"})
        count = 1
        while extra > 0 and count < 3 and rng.random() < 0.5:
            count += 1
            extra -= 1
        chosen: set = set()
        while len(chosen) < count:
            cls = rng.choices(classes, cum)[0]
            chosen.add(rng.choice(by_class[cls]))
        links.extend((uuid.uuid4(), cid, ci) for ci in chosen)
    with records.atomic():
        bulk.insert_records(Change, values)
        bulk.insert_rows(ChangeCI, ["id", "change", "ci"], links)


def _setup(ctx: BenchContext) -> None:
    from itsmdesk.models.change import Change, ChangeCI
    from itsmdesk.models.cmdb import CI

    if CI.select().count() < 5_000:
        started = time.perf_counter()
        _build_cmdb()
        _build_changes(random.Random(19))
        ctx.state["build_s"] = round(time.perf_counter() - started, 1)
    ctx.state["changes"] = Change.select().count()
    ctx.state["links"] = ChangeCI.select().count()
    ctx.state["cis"] = CI.select().count()


def _run(impact: bool = True):
    from itsmdesk.services.change import conflicts

    report = conflicts.analyse(statuses=None, windows=False, impact=impact)
    return report


def _pairs(report) -> dict:  # noqa: ANN001
    return {(c.kind, frozenset((c.change_id, c.other_id))): c.ci_names for c in report.conflicts}


def _ours(ctx: BenchContext) -> dict:
    report = _run()
    ctx.state["report"] = report
    return _pairs(report)


def _baseline(ctx: BenchContext) -> dict:
    from itsmdesk.services.change import conflicts

    fast = conflicts._impact_pairs
    conflicts._impact_pairs = conflicts.impact_pairs_pairwise
    try:
        return _pairs(_run())
    finally:
        conflicts._impact_pairs = fast


def _same(ours: dict, base: dict) -> None:
    assert ours == base, f"ours {len(ours)} conflicts, pairwise {len(base)}"


def _peak_mb(fn) -> float:  # noqa: ANN001
    tracemalloc.start()
    try:
        fn()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


def _extra(ctx: BenchContext) -> dict:
    from itsmdesk.services.change import conflicts

    times = []
    for _ in range(3):
        started = time.perf_counter()
        _run(impact=False)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    same_ms = times[1]
    spans = conflicts._load_spans(None, None, statuses=None)
    overlapping = sum(1 for _ in conflicts._sweep_pairs(sorted(
        ((s.start, s.end, s.id) for s in spans.values() if s.cis and not s.empty),
        key=lambda t: (t[0], str(t[2])))))
    report = ctx.state["report"]
    started = time.perf_counter()
    _run()
    ours_ms = (time.perf_counter() - started) * 1000
    kinds: dict = {}
    for c in report.conflicts:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    out = {"changes": ctx.state["changes"], "change_ci_links": ctx.state["links"],
           "cis": ctx.state["cis"], "time_overlapping_pairs": overlapping,
           "same_ci_pairs": kinds.get("same_ci", 0), "impact_path_pairs": kinds.get("impact_path", 0),
           "stretched_pairs": report.stretched_pairs, "same_ci_ms": round(same_ms, 1),
           "impact_over_same_ci": round(ours_ms / same_ms, 2) if same_ms else None,
           "ours_peak_mb": _peak_mb(_run), "baseline_peak_mb": _peak_mb(lambda: _baseline(ctx))}
    if "build_s" in ctx.state:
        out["build_s"] = ctx.state["build_s"]
    return out


BENCHMARKS = [
    Benchmark("conflicts_real_shape", ours=_ours, baseline=_baseline, setup=_setup, check=_same,
              repeat=3, warmup=0, own_database=True, extra=_extra,
              note="18,000 changes (every status) x 30,000 CI links over a 10,000-CI estate: "
                   "same-CI + impact-path conflicts; ours walks each CI's impact once and sweeps "
                   "per CI, baseline intersects upstream sets for every time-overlapping pair; "
                   "target ours <= 2 x same_ci_ms"),
]
