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

The database: a 10,000-CI estate shaped like the extract's CMDB (:func:`write_estate_csv`: small
stacks of business service, applications, databases, VMs, hosts, access switches and storage
arrays, ~8,000 relations; desktops unrelated) imported through our CSV importer; the changes
written by the bulk writer, CIs chosen with the weight a real extract shows (servers, VMs and
applications most, switches and arrays rarely), a third without an end.
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


def write_estate_csv(folder: Path, seed: int = 19) -> tuple[Path, Path]:
    """A 10,000-CI estate shaped like an HP SM extract's CMDB: ~8,000 relations, most CIs in
    small stacks (business service -> applications -> databases / VMs -> hosts -> access
    switch, VMs on a few storage arrays) and the desktops and printers unrelated, as such
    extracts are (their CI records exist for the tickets, their relations were never kept)."""
    import csv

    rng = random.Random(seed)
    cis: list[tuple] = []
    rels: list[tuple] = []

    def add(names: list[str], cls: str, crit: str = "medium") -> list[str]:
        cis.extend((n, cls, crit, "", "") for n in names)
        return names

    switches = add([f"sw-{i:03d}" for i in range(100)], "network_device", "high")
    arrays = add([f"san-{i:02d}" for i in range(20)], "storage", "high")
    hosts = add([f"host-{i:04d}" for i in range(1500)], "server", "high")
    vms = add([f"vm-{i:04d}" for i in range(1500)], "virtual_machine")
    dbs = add([f"db-{i:03d}" for i in range(800)], "database", "high")
    apps = add([f"app-{i:03d}" for i in range(600)], "application")
    services = add([f"Service {i:02d}" for i in range(40)], "business_service", "critical")
    add([f"ws-{i:05d}" for i in range(10_000 - len(cis))], "workstation", "low")
    for h in hosts:
        rels.append((h, "connected_to", rng.choice(switches), "false"))
    for v in vms:
        rels.append((v, "hosted_on", rng.choice(hosts), "false"))
        if rng.random() < 0.5:
            rels.append((v, "uses", rng.choice(arrays), "false"))
    for d in dbs:
        rels.append((d, "runs_on", rng.choice(vms + hosts), "false"))
    for a in apps:
        for target in rng.sample(vms + hosts, rng.choice((1, 1, 2))):
            rels.append((a, "runs_on", target, "false"))
        rels.append((a, "depends_on", rng.choice(dbs), "false"))
    for svc in services:
        for a in rng.sample(apps, rng.randrange(3, 7)):
            rels.append((svc, "depends_on", a, "false"))
    folder.mkdir(parents=True, exist_ok=True)
    ci_path, rel_path = folder / "cis.csv", folder / "relations.csv"
    with open(ci_path, "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["name", "class", "criticality", "min_members_up", "version"])
        w.writerows(cis)
    with open(rel_path, "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["source", "type", "target", "redundant"])
        w.writerows(dict.fromkeys(rels))
    return ci_path, rel_path


def _build_cmdb() -> None:
    from itsmdesk.services.cmdb.csv_io import import_csv

    work = Path(tempfile.mkdtemp(prefix="itsmdesk-conflicts-"))
    ci_path, rel_path = write_estate_csv(work)
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
    weights = {"server": 5, "virtual_machine": 4, "application": 5, "database": 3,
               "business_service": 1, "storage": 0.1, "network_device": 0.3, "workstation": 3}
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
