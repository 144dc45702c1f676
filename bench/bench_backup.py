"""Backup of an SQLite file while two writers keep committing: ``backup_under_writers``.

Issue 18: ``itsmdesk backup`` of a 195 MB file never finished while two writers ran (SQLite's
online backup API restarts whenever another connection writes to the source; the WAL grew to
1.2 GB meanwhile).  Ours is :func:`itsmdesk.services.backup.snapshot` (``VACUUM INTO`` a
temporary file beside the target: one read snapshot, then fsync and rename); the baseline is
the old code, the online backup API in steps of 4096 pages, given up after
:data:`BASELINE_CAP_S` seconds (its figure is then the cap: it did not finish).  The database
is built here (``BENCH_BACKUP_MB``, default 60 MB of tickets-sized rows); two threads commit
small inserts throughout both runs, as two workstations' writers would.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from bench.runner import BenchContext, Benchmark

BASELINE_CAP_S = 30.0
SIZE_MB = int(os.environ.get("BENCH_BACKUP_MB", "60"))


class _GaveUpError(Exception):
    pass


def _setup(ctx: BenchContext) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    source = folder / "busy.db"
    con = sqlite3.connect(source)
    con.execute("PRAGMA journal_mode = wal")
    con.execute("CREATE TABLE incident (id INTEGER PRIMARY KEY, title TEXT, body BLOB)")
    row = os.urandom(2000)
    rows = SIZE_MB * 1024 * 1024 // 2100
    con.executemany("INSERT INTO incident (title, body) VALUES (?, ?)",
                    ((f"ticket {i}", row) for i in range(rows)))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    ctx.state.update(folder=folder, source=source, stop=threading.Event(), writes=[0, 0],
                     finished=[], wal_peak=[0])
    ctx.state["threads"] = [threading.Thread(target=_writer, args=(ctx, slot), daemon=True)
                            for slot in range(2)]
    for thread in ctx.state["threads"]:
        thread.start()


def _writer(ctx: BenchContext, slot: int) -> None:
    con = sqlite3.connect(ctx.state["source"], timeout=30)
    con.execute("PRAGMA busy_timeout = 30000")
    body = os.urandom(2000)
    wal = Path(f"{ctx.state['source']}-wal")
    while not ctx.state["stop"].is_set():
        con.execute("INSERT INTO incident (title, body) VALUES (?, ?)", (f"w{slot}", body))
        con.commit()
        ctx.state["writes"][slot] += 1
        if ctx.state["writes"][slot] % 50 == 0 and wal.exists():
            ctx.state["wal_peak"][0] = max(ctx.state["wal_peak"][0], wal.stat().st_size)
        time.sleep(0.002)
    con.close()


def _ours(ctx: BenchContext) -> bool:
    from itsmdesk.services.backup import snapshot

    snapshot(ctx.state["source"], ctx.state["folder"] / "ours.db")
    return True


def _base(ctx: BenchContext) -> bool:
    """The old code: the online backup API, 4096 pages a step; given up at the cap."""
    target = ctx.state["folder"] / "old.db"
    target.unlink(missing_ok=True)
    started = time.perf_counter()

    def progress(_status: int, _remaining: int, _total: int) -> None:
        if time.perf_counter() - started > BASELINE_CAP_S:
            raise _GaveUpError

    src = sqlite3.connect(ctx.state["source"], timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=4096, progress=progress)
        ctx.state["finished"].append(True)
        return True
    except _GaveUpError:
        ctx.state["finished"].append(False)
        return False
    finally:
        dst.close()
        src.close()


def _extra(ctx: BenchContext) -> dict:
    import shutil

    ctx.state["stop"].set()
    for thread in ctx.state["threads"]:
        thread.join()
    shutil.rmtree(ctx.state["folder"], ignore_errors=True)
    return {"database_mb": SIZE_MB, "writes_during_runs": sum(ctx.state["writes"]),
            "baseline_finished": ctx.state["finished"],
            "wal_peak_mb": round(ctx.state["wal_peak"][0] / 1e6, 1)}


BENCHMARKS = [
    Benchmark("backup_under_writers", _ours, _base, setup=_setup, repeat=3, warmup=0,
              own_database=True, interleave=False, extra=_extra,
              note=f"backup of a {SIZE_MB} MB SQLite file while two threads commit inserts: "
                   f"VACUUM INTO + rename (ours) against the online backup API in 4096-page "
                   f"steps (the old code), given up after {BASELINE_CAP_S:.0f} s"),
]
