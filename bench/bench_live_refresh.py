"""Live refresh: how long until the other workstations know about a write.

Ten listener clients (``itsmdesk.services.live.Listener``, each its own connection and thread,
as ten desktop clients have) on loopback PostgreSQL; client 0 writes (an incident edit through
the write funnel), and we time from the end of the write's work -- just before the funnel
inserts the journal rows (which fires the NOTIFY trigger) and commits -- until the other nine
have been told (their ``on_changes`` ran with that write's batch), over :data:`WRITES` writes:
median and max.

Baseline: the raw NOTIFY round trip -- ten plain psycopg2 connections LISTENing in threads with
the same ``select()`` loop, one sends ``NOTIFY`` (autocommit), time from sending it until the
other nine have it.  The difference is the trigger building the payload and the listener turning it into
changes.  Target: max <= 1 s.

Uses its own database (created and dropped): ``ITSMDESK_BENCH_PG`` or the ``--db`` PostgreSQL
URL, else ``postgresql://postgres@127.0.0.1:5432/postgres``, is where it is created.
"""

from __future__ import annotations

import json
import os
import select
import statistics
import threading
import time
import uuid
from typing import Any

from bench.runner import BenchContext, Benchmark, host_speed_ms

CLIENTS = 10
WRITES = 30
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_url(ctx: BenchContext) -> str:
    env = os.environ.get("ITSMDESK_BENCH_PG")
    if env:
        return env
    if getattr(ctx.info, "backend", "") == "postgresql":
        return ctx.url
    return DEFAULT_ADMIN_URL


def _state(ctx: BenchContext) -> dict[str, Any]:
    return ctx.state.setdefault("live_refresh", {})


def _setup(ctx: BenchContext) -> None:
    import psycopg2

    from itsmdesk.models.database import parse_url

    state = _state(ctx)
    state["host_before"] = host_speed_ms()
    admin = _admin_url(ctx)
    info = parse_url(admin)
    name = f"itsmdesk_bench_live_{uuid.uuid4().hex[:8]}"
    try:
        conn = psycopg2.connect(admin, connect_timeout=3)
    except psycopg2.Error as exc:
        state["skip"] = f"PostgreSQL at {info.display}: {str(exc).strip().splitlines()[0]}"
        return
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    state["admin"] = conn
    state["name"] = name
    base = admin.rsplit("/", 1)[0]
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.services.session import open_database

    database, _info = open_database(f"{base}/{name}")
    state["database"] = database
    state["incident"] = incidents.create_incident({"title": "Benchmark", "impact": 3,
                                                   "urgency": 3})
    state["raw_params"] = {"host": info.host, "port": info.port, "user": info.user,
                           "password": info.password, "dbname": name}


def _times(latencies: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(latencies), 2),
            "max_ms": round(max(latencies), 2)}


def _ours(ctx: BenchContext) -> dict[str, float] | None:
    """Ten listeners; WRITES edits by client 0; ms from commit until the nine others have it."""
    from itsmdesk.services import live, records
    from itsmdesk.services.servicedesk import incidents

    state = _state(ctx)
    if state.get("skip"):
        return None
    arrived: dict[Any, list[float]] = {}
    lock = threading.Lock()
    done = threading.Condition(lock)

    def on_changes(client: int):  # noqa: ANN202
        def seen(changes: live.LiveChanges) -> None:
            now = time.perf_counter()
            if client == 0:
                return  # the writer itself
            with done:
                for batch in changes.batches:
                    arrived.setdefault(batch, []).append(now)
                done.notify_all()
        return seen

    params = live.connect_params()
    listeners = [live.Listener(params, on_changes(i)).start() for i in range(CLIENTS)]
    try:
        deadline = time.monotonic() + 20
        while any(li.conn is None for li in listeners) and time.monotonic() < deadline:
            time.sleep(0.01)
        inc = state["incident"]
        version = incidents.incident_view(inc.id).version
        latencies = []
        for i in range(WRITES):
            with records.capture() as changes:
                with records.atomic():
                    incidents.update_incident(inc.id, version, {"title": f"Benchmark {i}"})
                    committed = time.perf_counter()  # then: journal insert (the trigger), COMMIT
            version += 1
            batch = changes.batches[0]
            with done:
                done.wait_for(lambda b=batch: len(arrived.get(b, ())) >= CLIENTS - 1, timeout=10)
                got = arrived.get(batch, [])
            if len(got) < CLIENTS - 1:
                state.setdefault("lost", 0)
                state["lost"] += 1
                continue
            latencies.append((max(got) - committed) * 1000)
            time.sleep(0.02)
    finally:
        for li in listeners:
            li.stop(timeout=1.0)
    return _times(latencies)


def _baseline(ctx: BenchContext) -> dict[str, float] | None:
    """The raw NOTIFY round trip: psycopg2 NOTIFY -> nine psycopg2 LISTENers."""
    import psycopg2

    state = _state(ctx)
    if state.get("skip"):
        return None
    channel = "itsmdesk_bench_raw"
    conns = []
    for _ in range(CLIENTS):
        conn = psycopg2.connect(**state["raw_params"])
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {channel}")
        conns.append(conn)
    arrived: dict[str, list[float]] = {}
    done = threading.Condition()
    stop = threading.Event()

    def listen(conn) -> None:  # noqa: ANN001
        while not stop.is_set():
            ready, _, _ = select.select([conn], [], [], 0.25)
            if not ready:
                continue
            conn.poll()
            now = time.perf_counter()
            with done:
                while conn.notifies:
                    arrived.setdefault(conn.notifies.pop(0).payload, []).append(now)
                done.notify_all()

    threads = [threading.Thread(target=listen, args=(c,), daemon=True) for c in conns[1:]]
    for t in threads:
        t.start()
    latencies = []
    try:
        with conns[0].cursor() as cur:
            for i in range(WRITES):
                payload = json.dumps({"i": i, "id": str(uuid.uuid4())})
                started = time.perf_counter()
                cur.execute("SELECT pg_notify(%s, %s)", (channel, payload))
                with done:
                    done.wait_for(lambda p=payload: len(arrived.get(p, ())) >= CLIENTS - 1,
                                  timeout=10)
                    got = arrived.get(payload, [])
                if len(got) >= CLIENTS - 1:
                    latencies.append((max(got) - started) * 1000)
                time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(1.0)
        for c in conns:
            c.close()
    return _times(latencies)


def _extra(ctx: BenchContext) -> dict[str, Any]:
    """One line per figure (median, max), then the teardown; the runner's own line gets both."""
    state = _state(ctx)
    if state.get("skip"):
        return {"skipped": state["skip"]}
    ours = state.get("ours") or _ours(ctx)
    base = state.get("base") or _baseline(ctx)
    host = [state.get("host_before"), host_speed_ms()]
    for figure in ("median_ms", "max_ms"):
        print(json.dumps({"name": f"live_refresh_{figure[:-3]}", "ours_ms": ours[figure],
                          "baseline_ms": base[figure],
                          "ratio": round(ours[figure] / base[figure], 3) if base[figure] else None,
                          "clients": CLIENTS, "writes": WRITES, "host_ms": host}), flush=True)
    _teardown(ctx)
    return {"clients": CLIENTS, "writes": WRITES, "ours_median_ms": ours["median_ms"],
            "ours_max_ms": ours["max_ms"], "baseline_median_ms": base["median_ms"],
            "baseline_max_ms": base["max_ms"], "lost": state.get("lost", 0),
            "target_max_ms": 1000, "met": ours["max_ms"] <= 1000}


def _teardown(ctx: BenchContext) -> None:
    from itsmdesk.models.base import db

    state = _state(ctx)
    database = state.pop("database", None)
    if database is not None:
        database.close()
    db.initialize(ctx.database)
    conn = state.pop("admin", None)
    if conn is not None:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (state["name"],))
            cur.execute(f'DROP DATABASE IF EXISTS "{state["name"]}"')
        conn.close()


def _ours_timed(ctx: BenchContext) -> Any:  # noqa: ANN401
    _state(ctx)["ours"] = _ours(ctx)
    return None


def _baseline_timed(ctx: BenchContext) -> Any:  # noqa: ANN401
    _state(ctx)["base"] = _baseline(ctx)
    return None


BENCHMARKS = [
    Benchmark("live_refresh", ours=_ours_timed, baseline=_baseline_timed, setup=_setup,
              extra=_extra, repeat=1, warmup=0, own_database=True, interleave=False,
              note=f"{CLIENTS} listener clients on loopback PostgreSQL, {WRITES} writes by one: "
                   "ours_ms/baseline_ms here time the whole pass; the two lines before give "
                   "the latency until the other nine have each write (median, max) against "
                   "the raw psycopg2 NOTIFY -> LISTEN round trip"),
]
