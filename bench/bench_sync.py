"""Sync throughput: ``sync_100k``.

A replica (SQLite file) and its hub (a PostgreSQL database on loopback, created and dropped;
``ITSMDESK_BENCH_PG`` or ``--db`` names the server, else ``postgresql://postgres@127.0.0.1:5432/
postgres``).  While apart, each side makes :data:`ROWS` journal rows through the write funnel:
:data:`CALLS` service calls, each changing two fields of five incidents (ten rows, one batch,
as a bulk edit of five tickets does).  Timed: one ``sync`` that pushes the replica's rows (merged
field by field, at most once, permission-checked) and pulls the hub's (and the echo of its own).

Baseline: a raw bulk copy of the same rows -- the replica's journal rows into a journal-shaped
table on the hub with ``COPY``, and the hub's rows into a table in the replica's file with
``executemany`` -- no merging, no checks, no indexes.  Target (issue 16): ours <= 10 s.

``ITSMDESK_BENCH_SYNC_ROWS`` makes it smaller (for a quick look).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.runner import BenchContext, Benchmark

ROWS = int(os.environ.get("ITSMDESK_BENCH_SYNC_ROWS", "100000"))
PER_CALL = 10  # rows per service call (two fields of five incidents)
CALLS = ROWS // PER_CALL
INCIDENTS = 2000
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_url(ctx: BenchContext) -> str:
    env = os.environ.get("ITSMDESK_BENCH_PG")
    if env:
        return env
    if getattr(ctx.info, "backend", "") == "postgresql":
        return ctx.url
    return DEFAULT_ADMIN_URL


def _work(ids: list, calls: int, tag: str) -> None:
    """``calls`` service calls of ten journal rows each on the bound database: the site works
    on its half of the tickets, the hub's desk on the other half (and one in fifty calls of
    the site touches a ticket the hub changed too: a conflict to merge)."""
    from itsmdesk.models.incident import Incident
    from itsmdesk.services import records

    half = len(ids) // 2
    mine = ids[:half] if tag == "hub" else ids[half:]
    for n in range(calls):
        with records.atomic():
            for k in range(5):
                pool = ids[:half] if (tag != "hub" and n % 50 == 0 and k == 0) else mine
                record_id = pool[(n * 5 + k) % len(pool)]
                records.update(Incident, record_id, None,
                               {"description": f"{tag} {n}-{k}", "title": f"{tag} title {n}-{k}"})


def _fresh_pair(ctx: BenchContext, state: dict[str, Any]) -> None:
    """A new hub database with incidents, a replica of it, and the work on both sides."""
    import psycopg2

    from itsmdesk.models.base import db as proxy
    from itsmdesk.models.database import parse_url
    from itsmdesk.services import records, replay
    from itsmdesk.services.context import set_site
    from itsmdesk.services.session import open_database
    from itsmdesk.services.sync.replica import create_replica, status

    admin = _admin_url(ctx)
    name = f"itsmdesk_bench_sync_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    conn.close()
    state.setdefault("databases", []).append(name)
    info = parse_url(admin)
    hub_url = admin.rsplit("/", 1)[0] + "/" + name if info.backend == "postgresql" else admin
    set_site("")
    hub, _ = open_database(hub_url)
    from itsmdesk.services.servicedesk import incidents

    with records.atomic():
        ids = [incidents.create_incident({"title": f"ticket {n}"}).id for n in range(INCIDENTS)]
    folder = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    path = folder / "osl.db"
    create_replica(hub_url, "OSL", path)
    replica, _ = open_database(f"sqlite:///{path}")
    proxy.initialize(replica)
    set_site("OSL")
    _work(ids, CALLS, "osl")
    proxy.initialize(hub)
    set_site("")
    _work(ids, CALLS, "hub")
    checkpoint = int(status(replica)["pull_checkpoint"])
    state.update(hub=hub, replica=replica, hub_url=hub_url, path=path,
                 mine=replay.read_journal(replica, after_id=status(replica)["push_checkpoint"]),
                 theirs=replay.read_journal(hub, after_id=checkpoint))


def _setup(ctx: BenchContext) -> None:
    ctx.state["sync"] = {}
    _fresh_pair(ctx, ctx.state["sync"])


def _ours(ctx: BenchContext) -> dict[str, Any]:
    from itsmdesk.services.sync import engine

    state = ctx.state["sync"]
    started = time.perf_counter()
    report = engine.sync_with(state["replica"], state["hub"])
    state["ours_s"] = time.perf_counter() - started
    return {"pushed_rows": report.pushed_rows, "pulled_rows": report.pulled_rows,
            "echoed_rows": report.echoed_rows, "conflicts": len(report.conflicts)}


def _baseline(ctx: BenchContext) -> dict[str, Any]:
    """Bulk copy of the same rows each way (no merge)."""
    state = ctx.state["sync"]
    hub, replica = state["hub"], state["replica"]
    mine, theirs = state["mine"], state["theirs"]
    cols = "kind, record_id, ref, field, old, new, who_id, who_name, at, site, version, batch"
    hub.execute_sql(f"CREATE TEMP TABLE copy_in ({cols.replace(',', ' TEXT,')} TEXT)")
    replica.execute_sql(f"CREATE TEMP TABLE copy_in ({cols.replace(',', ' TEXT,')} TEXT)")
    escapes = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
    started = time.perf_counter()
    with hub.atomic():  # (COPY: the fastest way into PostgreSQL)
        text = "".join("\t".join("\\N" if v is None else str(v).translate(escapes)
                                 for v in r[1:]) + "\n" for r in mine)
        hub.cursor().copy_expert("COPY copy_in FROM STDIN", io.StringIO(text), size=1 << 20)
    with replica.atomic():
        replica.cursor().executemany(f"INSERT INTO copy_in VALUES ({', '.join(['?'] * 12)})",
                                     [tuple(None if v is None else str(v) for v in r[1:])
                                      for r in theirs])
    elapsed = time.perf_counter() - started
    hub.execute_sql("DROP TABLE copy_in")
    replica.execute_sql("DROP TABLE copy_in")
    state["base_s"] = elapsed
    return {"rows_each_way": [len(mine), len(theirs)]}


def _extra(ctx: BenchContext) -> dict[str, Any]:
    import psycopg2

    state = ctx.state["sync"]
    out = {"rows_each_way": ROWS, "ours_s_last": round(state.get("ours_s", 0), 2),
           "target_s": 10}
    for key in ("hub", "replica"):
        if state.get(key) is not None:
            state[key].close()
    conn = psycopg2.connect(_admin_url(ctx))
    conn.autocommit = True
    for name in state.get("databases", []):
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()
    return out


BENCHMARKS = [
    Benchmark("sync_100k", _ours, _baseline, setup=_setup, repeat=1, warmup=0,
              own_database=True, interleave=False, extra=_extra,
              note="one sync of ~100,000 journal rows each way (replica SQLite, hub PostgreSQL "
                   "on loopback) vs a raw bulk copy of the same rows; target <= 10 s"),
]
