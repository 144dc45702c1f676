"""Write contention on one SQLite file: ``write_contention``.

Target (issue 18): several desktop processes editing tickets in one SQLite file lose no write to
"database is locked".  Each writer is a process of its own (multiprocessing, spawned: nothing
shared but the file) that opens the file as the app does (``open_database``) and then, for a
fixed time, edits random tickets through the service (``update_incident`` with the version it
read, as a form saves).  Figures, one JSON line each, for 1, 2 and 8 writers: operations per
second (all processes together), the failure rate (a write that raised anything but a
ConflictError: "database is locked", DatabaseBusyError...) and stale edits refused
(ConflictError: another writer changed the ticket between the read and the save, the correct
answer, not a failure).  The single writer's rate is the baseline the others are read against.
The runner's own line comes last (ours = the 8-writer pass, baseline = the 1-writer pass).

``python -m bench.bench_write_contention [--seconds S] [--writers 1 2 8]`` runs the passes alone.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.runner import BenchContext, Benchmark, host_speed_ms

TICKETS = 200
SECONDS = 4.0
WRITERS = (1, 2, 8)


def _prepare(folder: Path) -> str:
    """A fresh file with ``TICKETS`` incidents (built in a child process, so the runner's own
    database binding is left alone)."""
    url = f"sqlite:///{folder / 'contention.db'}"
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_build, args=(url,))
    proc.start()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"building the contention database failed ({proc.exitcode})")
    return url


def _build(url: str) -> None:
    from itsmdesk.services import records
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.services.session import open_database

    database, _info = open_database(url)
    with records.atomic():
        for i in range(TICKETS):
            incidents.create_incident({"title": f"Contention ticket {i}", "description": "x"})
    database.close()


def _writer(url: str, seconds: float, seed: int, ready, start, out) -> None:  # noqa: ANN001
    """One writer process: open the file, then edit tickets until the time is up."""
    try:
        _write_loop(url, seconds, seed, ready, start, out)
    except BaseException as exc:
        out.put(({"ok": 0, "conflict": 0, "failed": 0, "open_failed": 1},
                 {f"crash {type(exc).__name__}: {str(exc)[:80]}": 1}, 0.0))
        raise


def _write_loop(url: str, seconds: float, seed: int, ready, start, out) -> None:  # noqa: ANN001
    from itsmdesk.errors import ConflictError
    from itsmdesk.models.incident import Incident
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.services.session import as_domain_error, open_database

    counts = {"ok": 0, "conflict": 0, "failed": 0, "open_failed": 0}
    errors: dict[str, int] = {}
    ready.wait()
    try:
        database, _info = open_database(url)
    except Exception as exc:  # noqa: BLE001 - counted, the figure says it
        counts["open_failed"] = 1
        errors[f"{type(exc).__name__}: {str(exc)[:80]}"] = 1
        out.put((counts, errors, 0.0))
        return
    ids = [row.id for row in Incident.select(Incident.id).order_by(Incident.id)]
    rng = random.Random(seed)
    start.wait()
    began = time.perf_counter()
    deadline = began + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        ticket = rng.choice(ids)
        try:
            current = Incident.get_by_id(ticket)
            incidents.update_incident(ticket, current.version,
                                      {"description": f"edit {seed}-{n}",
                                       "urgency": rng.choice((1, 2, 3))})
            counts["ok"] += 1
        except ConflictError:
            counts["conflict"] += 1
        except Exception as exc:  # noqa: BLE001 - counted, the figure says it
            counts["failed"] += 1
            shown = as_domain_error(exc)
            key = f"{type(shown).__name__}: {str(shown)[:80]}"
            errors[key] = errors.get(key, 0) + 1
    elapsed = time.perf_counter() - began
    database.close()
    out.put((counts, errors, elapsed))


def run_pass(url: str, writers: int, seconds: float = SECONDS) -> dict[str, Any]:
    """``writers`` processes at once on ``url``; their summed counts."""
    ctx = mp.get_context("spawn")
    ready, start, out = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, seconds, 1000 * writers + i, ready, start, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    time.sleep(0.2)
    ready.set()  # all open the file at once (as a team starting the app in the morning)
    time.sleep(min(3.0, 0.6 + 0.3 * writers))  # let imports and opening settle, then go
    start.set()
    total = {"ok": 0, "conflict": 0, "failed": 0, "open_failed": 0}
    errors: dict[str, int] = {}
    elapsed = []
    for _ in procs:
        counts, errs, took = out.get(timeout=seconds + 120)
        for k, v in counts.items():
            total[k] += v
        for k, v in errs.items():
            errors[k] = errors.get(k, 0) + v
        if took:
            elapsed.append(took)
    for p in procs:
        p.join()
    attempts = total["ok"] + total["conflict"] + total["failed"]
    wall = max(elapsed) if elapsed else seconds
    return {"writers": writers, "ops": attempts, "ok": total["ok"],
            "ops_per_s": round(total["ok"] / wall, 1),
            "failed": total["failed"], "failure_rate": round(total["failed"] / attempts, 4)
            if attempts else None,
            "conflicts": total["conflict"], "open_failed": total["open_failed"],
            "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:3])}


def passes(seconds: float = SECONDS, writers: tuple[int, ...] = WRITERS) -> list[dict[str, Any]]:
    folder = Path(tempfile.mkdtemp(prefix="itsmdesk-contention-"))
    try:
        url = _prepare(folder)
        lines = []
        host = host_speed_ms()
        for n in writers:
            lines.append(run_pass(url, n, seconds))
        single = next((line["ops_per_s"] for line in lines if line["writers"] == 1), None)
        for line in lines:
            line["vs_single_writer"] = round(line["ops_per_s"] / single, 3) if single else None
            line["host_ms"] = [host, host_speed_ms()]
        return lines
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _state(ctx: BenchContext) -> dict[str, Any]:
    return ctx.state.setdefault("contention", {})


def _ours(ctx: BenchContext) -> Any:  # noqa: ANN401
    state = _state(ctx)
    state["lines"] = passes()
    return None


def _baseline(ctx: BenchContext) -> Any:  # noqa: ANN401
    return None


def note_cost(rounds: int = 5000) -> dict[str, Any]:
    """What naming the holder costs per write transaction: the sidecar record written at BEGIN
    and at the end (two pwrite calls), against an empty ``BEGIN IMMEDIATE``/``COMMIT`` on the
    same file (a ticket edit takes some milliseconds)."""
    import peewee as pw

    from itsmdesk.models import write_lock
    from itsmdesk.models.database import SQLITE_PRAGMAS

    folder = Path(tempfile.mkdtemp(prefix="itsmdesk-note-"))
    try:
        database = pw.SqliteDatabase(str(folder / "note.db"), pragmas=SQLITE_PRAGMAS)
        database.connect()
        best_note = best_txn = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(rounds):
                write_lock.note_taken(database)
                write_lock.note_released(database)
            best_note = min(best_note, (time.perf_counter() - started) / rounds * 1e6)
            started = time.perf_counter()
            for _ in range(rounds // 5):
                with database.atomic(lock_type="IMMEDIATE"):
                    pass
            best_txn = min(best_txn, (time.perf_counter() - started) / (rounds // 5) * 1e6)
        database.close()
        return {"name": "write_contention_note", "note_pair_us": round(best_note, 1),
                "empty_write_txn_us": round(best_txn, 1),
                "ratio": round(best_note / best_txn, 3)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _extra(ctx: BenchContext) -> dict[str, Any]:
    """Print the per-writer-count lines and the holder note's cost; the runner's line then
    compares milliseconds per acknowledged edit with 8 writers (ours) and 1 writer (baseline)."""
    lines = _state(ctx).get("lines", [])
    for line in lines:
        print(json.dumps({"name": f"write_contention_{line['writers']}", **line}), flush=True)
    print(json.dumps(note_cost()), flush=True)
    by = {line["writers"]: line for line in lines}
    single, most = by.get(1), by.get(max(by)) if by else None
    if not single or not most or not single["ops_per_s"] or not most["ops_per_s"]:
        return {}
    ours, base = 1000 / most["ops_per_s"], 1000 / single["ops_per_s"]
    return {"ours_ms": round(ours, 3), "baseline_ms": round(base, 3),
            "ratio": round(ours / base, 3), "writers": most["writers"],
            "failure_rate": most["failure_rate"]}


def _timed_ours(ctx: BenchContext) -> Any:  # noqa: ANN401
    return _ours(ctx)


BENCHMARKS = [
    Benchmark("write_contention", ours=_timed_ours, baseline=_baseline, extra=_extra,
              repeat=1, warmup=0, own_database=True, interleave=False,
              note=f"SQLite, writer processes each editing random tickets of {TICKETS} through "
                   f"update_incident for {SECONDS:g} s; the lines before give ops/s and the "
                   "failure rate per number of writers, vs_single_writer against the 1-writer "
                   "pass of the same run, then the holder note's cost; here ms per acknowledged "
                   "edit (all processes together) with 8 writers against 1"),
]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.bench_write_contention")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--writers", type=int, nargs="+", default=list(WRITERS))
    args = parser.parse_args(argv)
    for line in passes(args.seconds, tuple(args.writers)):
        print(json.dumps({"name": f"write_contention_{line['writers']}", **line}), flush=True)
    print(json.dumps(note_cost()), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
