"""Benchmark runner: discovery, the cached ``large`` database, timing, output."""

from __future__ import annotations

import importlib
import json
import pkgutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class BenchContext:
    url: str
    info: Any
    database: Any  # the peewee database (bound to the proxy)
    state: dict[str, Any] = field(default_factory=dict)

    def raw(self):
        """A raw DB-API connection for baselines: sqlite3 or psycopg2, not through peewee."""
        if "raw" not in self.state:
            if self.info.backend == "sqlite":
                import sqlite3

                conn = sqlite3.connect(str(self.info.path))
                conn.execute("PRAGMA cache_size=-64000")
                conn.execute("PRAGMA mmap_size=268435456")
            else:
                import psycopg2

                conn = psycopg2.connect(host=self.info.host, port=self.info.port, user=self.info.user,
                                        password=self.info.password, dbname=self.info.dbname)
                conn.autocommit = True
            self.state["raw"] = conn
        return self.state["raw"]

    def raw_query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self.raw()
        if self.info.backend == "sqlite":
            return conn.execute(sql, params).fetchall()
        with conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return cur.fetchall()


@dataclass
class Benchmark:
    name: str
    ours: Callable[[BenchContext], Any]
    baseline: Callable[[BenchContext], Any]
    setup: Callable[[BenchContext], None] | None = None
    check: Callable[[Any, Any], None] | None = None  # raise if ours and baseline disagree
    repeat: int = 7
    warmup: int = 1
    note: str = ""
    own_database: bool = False  # builds its own database; needs no large demo
    extra: Callable[[BenchContext], dict] | None = None  # more fields for the JSON line
    # Time ours and the baseline turn about (False for benchmarks whose runs change state the
    # other side would see, e.g. imports into a fresh file).
    interleave: bool = True


def discover() -> list[Benchmark]:
    import bench

    found: list[Benchmark] = []
    for mod in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if mod.name.startswith("bench_"):
            module = importlib.import_module(f"bench.{mod.name}")
            found.extend(getattr(module, "BENCHMARKS", []))
    return found


def median_ms(fn: Callable[[BenchContext], Any], ctx: BenchContext, repeat: int, warmup: int
               ) -> tuple[float, Any]:
    result = None
    for _ in range(warmup):
        result = fn(ctx)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(ctx)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def _interleaved_medians(bench: Benchmark, ctx: BenchContext) -> tuple[float, Any, float, Any]:
    """Ours and the baseline timed turn about (ours, baseline, ours, ...), each after a warm-up:
    the speed of a shared virtual machine drifts by a factor of two within seconds, and running
    all of ours before all of the baseline would put that drift into the ratio."""
    ours = base = None
    for _ in range(bench.warmup):
        ours = bench.ours(ctx)
        base = bench.baseline(ctx)
    ours_times, base_times = [], []
    for _ in range(bench.repeat):
        started = time.perf_counter()
        ours = bench.ours(ctx)
        ours_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        base = bench.baseline(ctx)
        base_times.append((time.perf_counter() - started) * 1000)
    return statistics.median(ours_times), ours, statistics.median(base_times), base


def host_speed_ms() -> float:
    """A fixed pure-Python loop (a million additions), best of three: the machine's speed at the
    moment, printed before and after each benchmark (``host_ms``).  On a shared virtual machine
    it drifts by a factor of two within minutes; absolute figures are read against it (ratios
    need not be: ours and the baseline run turn about)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, (time.perf_counter() - started) * 1000)
    return round(best, 1)


def run(bench: Benchmark, ctx: BenchContext) -> dict[str, Any]:
    if bench.setup:
        bench.setup(ctx)
    speed_before = host_speed_ms()
    if bench.interleave:
        ours_ms, ours, base_ms, base = _interleaved_medians(bench, ctx)
    else:
        ours_ms, ours = median_ms(bench.ours, ctx, bench.repeat, bench.warmup)
        base_ms, base = median_ms(bench.baseline, ctx, bench.repeat, bench.warmup)
    line: dict[str, Any] = {"name": bench.name, "ours_ms": round(ours_ms, 3),
                            "baseline_ms": round(base_ms, 3),
                            "ratio": round(ours_ms / base_ms, 3) if base_ms > 0 else None}
    if bench.check:
        try:
            bench.check(ours, base)
            line["same_result"] = True
        except AssertionError as exc:
            line["same_result"] = False
            line["mismatch"] = str(exc)[:200]
    if bench.extra:
        line.update(bench.extra(ctx))
    line["host_ms"] = [speed_before, host_speed_ms()]
    if bench.note:
        line["note"] = bench.note
    return line


def large_db_url(seed: int = 42) -> str:
    """The cached ``large`` demo database, built on first use (keyed by schema and seed)."""
    from itsmdesk.config import cache_dir
    from itsmdesk.models.migrations import schema_fingerprint

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-large-{schema_fingerprint()}-seed{seed}.db"
    url = f"sqlite:///{path}"
    import fcntl

    lock = open(folder / "bench-large.lock", "w")  # noqa: SIM115 - held until built
    fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; others wait, then reuse it
    if not path.exists():
        partial = path.with_suffix(".partial.db")
        for p in (partial, Path(str(partial) + "-wal"), Path(str(partial) + "-shm")):
            p.unlink(missing_ok=True)
        print(f"building the large demo database at {path} (once) ...", file=sys.stderr)
        from itsmdesk.demo import builder as demo
        from itsmdesk.services.session import open_database

        database, _info = open_database(f"sqlite:///{partial}")
        demo.generate("large", seed, progress=lambda m: print(m, file=sys.stderr, flush=True))
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        partial.rename(path)
    lock.close()
    return url


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--db", help="database URL (default: the cached large demo database)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("names", nargs="*", help="run benchmarks whose names start with these")
    args = parser.parse_args(argv)
    benches = [b for b in discover()
               if not args.names or any(b.name.startswith(n) for n in args.names)]
    if not benches:
        print("no benchmark matches " + " ".join(args.names), file=sys.stderr)
        return 2
    from itsmdesk.errors import ItsmError
    from itsmdesk.services.session import open_database

    try:
        standalone = all(b.own_database for b in benches)
        url = args.db or ("sqlite:///:memory:" if standalone else large_db_url(args.seed))
        database, info = open_database(url)
    except ItsmError as exc:
        print(f"bench: error: {exc.message}", file=sys.stderr)
        return 2
    ctx = BenchContext(url, info, database)
    for bench in benches:
        print(json.dumps(run(bench, ctx)), flush=True)
    return 0
