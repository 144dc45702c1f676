"""Many writers at once (issue 18): processes editing, bulk-editing and importing the same
database on SQLite and PostgreSQL lose no acknowledged write, double nothing and meet no raw
driver error; SQLite's busy sentence names the process holding the file; PostgreSQL's
deadlocks and serialisation failures are run again once, invisibly.

The writers are real processes (multiprocessing, spawned: nothing shared but the database).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
import uuid
from pathlib import Path

import pytest

from itsmdesk.errors import ConflictError, DatabaseBusyError, ItsmError
from itsmdesk.models.incident import Incident
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import records
from itsmdesk.services.servicedesk import incidents

TICKETS = 8
EDITORS, BULKERS, IMPORTERS = 4, 2, 2
EDITS, BULKS = 12, 4

MAP = """
kind = "incidents"
key = "Ticket"

[source]
delimiter = ";"
encoding = "utf-8"
date_formats = ["%d-%m-%Y %H:%M"]

[fields]
title = "Summary"
opened_at = "Opened"
impact = { value = 2 }
urgency = { value = 2 }
"""
CSV = "Ticket;Summary;Opened\n" + "".join(
    f"T-{i};Imported {i};0{i}-03-2024 08:15\n" for i in range(1, 6))


# -- the worker processes ---------------------------------------------------------------------------
def _worker(url: str, role: str, seed: int, ticket_ids: list, folder: str, ready, go, out) -> None:
    """One process: open the database, wait for the others, do its part, report what was
    acknowledged and every failure (type and sentence)."""
    result: dict = {"role": role, "acked": [], "bulk": [], "imports": [], "conflicts": 0,
                    "stale_refused": False, "errors": []}
    try:
        from itsmdesk.services.session import open_database

        database, _info = open_database(url)
        ready.release()
        go.wait(60)
        rng = random.Random(seed)
        if role == "edit":
            _edits(rng, seed, ticket_ids, result)
        elif role == "bulk":
            _bulks(rng, seed, ticket_ids, result)
        else:
            _imports(folder, result)
        database.close()
    except BaseException as exc:  # noqa: BLE001 - reported to the test, which fails on it
        result["errors"].append(_failure(exc))
        ready.release()
    out.put(result)


def _failure(exc: BaseException) -> tuple[str, str]:
    return type(exc).__module__ + "." + type(exc).__name__, str(exc)[:200]


def _edits(rng: random.Random, seed: int, ticket_ids: list, result: dict) -> None:
    for n in range(EDITS):
        ticket = rng.choice(ticket_ids)
        value = f"edit {seed}-{n}"
        try:
            current = Incident.get_by_id(ticket)
            row = incidents.update_incident(ticket, current.version, {"description": value})
            result["acked"].append((str(ticket), row.version, value))
        except ConflictError:
            result["conflicts"] += 1
        except ItsmError as exc:  # a sentence, but not an acknowledged write: reported
            result["errors"].append(_failure(exc))
        except Exception as exc:  # noqa: BLE001 - a raw driver error: the test fails on it
            result["errors"].append(_failure(exc))
    # a stale edit (the version before the current one) is a ConflictError sentence
    ticket = rng.choice(ticket_ids)
    try:
        current = Incident.get_by_id(ticket)
        incidents.update_incident(ticket, current.version - 1, {"description": "stale"})
    except ConflictError as exc:
        result["stale_refused"] = "nothing was saved" in str(exc) or "changed" in str(exc)
    except Exception as exc:  # noqa: BLE001
        result["errors"].append(_failure(exc))


def _bulks(rng: random.Random, seed: int, ticket_ids: list, result: dict) -> None:
    from itsmdesk.models.incident import CHANNELS
    from itsmdesk.services.servicedesk import queues

    for n in range(BULKS):
        chosen = list(ticket_ids[:5])
        (chosen.reverse() if seed % 2 else rng.shuffle(chosen))  # different orders
        channel = CHANNELS[(seed + n) % len(CHANNELS)]
        try:
            edit = queues.bulk_update(chosen, {"channel": channel})
            result["bulk"].append((str(edit.batch), [(str(i), edit.versions[i])
                                                     for i in edit.before if edit.before[i]]))
        except ConflictError:
            result["conflicts"] += 1
        except Exception as exc:  # noqa: BLE001 - domain or raw: reported
            result["errors"].append(_failure(exc))


def _imports(folder: str, result: dict) -> None:
    from itsmdesk.services.importing.mapped import run_import

    for _ in range(2):
        try:
            report = run_import("incidents", Path(folder) / "x.csv", Path(folder) / "map.toml")
            result["imports"].append((report.created, report.updated))
        except ConflictError as exc:
            result["imports"].append(("refused", str(exc)[:80]))
        except Exception as exc:  # noqa: BLE001
            result["errors"].append(_failure(exc))


def _run_writers(url: str, ticket_ids: list, folder: Path) -> list[dict]:
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    roles = ["edit"] * EDITORS + ["bulk"] * BULKERS + ["import"] * IMPORTERS
    procs = [ctx.Process(target=_worker, args=(url, role, i, [str(t) for t in ticket_ids],
                                                 str(folder), ready, go, out))
             for i, role in enumerate(roles)]
    for p in procs:
        p.start()
    for _ in procs:
        assert ready.acquire(timeout=90), "a writer process did not start"
    go.set()  # all at once
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    return results


# -- the test on both back ends ---------------------------------------------------------------------
def test_eight_writers_lose_nothing_and_double_nothing(db, tmp_path):
    (tmp_path / "x.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "map.toml").write_text(MAP, encoding="utf-8")
    tickets = [incidents.create_incident({"title": f"Shared ticket {i}"}).id
               for i in range(TICKETS)]
    url = db.url
    from itsmdesk.models.base import db as proxy

    if db.backend == "sqlite":
        proxy.obj.close()  # (the writers open the file themselves)
    results = _run_writers(url, tickets, tmp_path)
    proxy.obj.connect(reuse_if_open=True)

    errors = [e for r in results for e in r["errors"]]
    assert errors == [], f"failures that are not a ConflictError: {errors[:5]}"
    assert all(r["stale_refused"] for r in results if r["role"] == "edit")

    # every acknowledged write is in the database and in the journal, once
    acked: dict[str, list[int]] = {}
    for r in results:
        for ticket, version, value in r["acked"]:
            acked.setdefault(ticket, []).append(version)
            assert JournalEntry.select().where(
                (JournalEntry.record_id == ticket) & (JournalEntry.version == version)
                & (JournalEntry.field == "description") & (JournalEntry.new == value)).count() == 1
        for batch, versions in r["bulk"]:
            for ticket, version in versions:
                acked.setdefault(ticket, []).append(version)
                assert JournalEntry.select().where(
                    (JournalEntry.record_id == ticket) & (JournalEntry.version == version)
                    & (JournalEntry.batch == uuid.UUID(batch))
                    & (JournalEntry.field == "channel")).count() == 1
    assert sum(len(v) for v in acked.values()) >= EDITORS * EDITS // 2  # (work really was done)
    for ticket in map(str, tickets):
        versions = sorted(acked.get(ticket, []))
        final = Incident.get_by_id(ticket).version
        # no two writers acknowledged the same version (a lost update) and every version the
        # ticket went through was acknowledged to someone (counted: final = 1 + writes)
        assert versions == list(range(2, final + 1)), (ticket, versions, final)
        journal_versions = {v for (v,) in JournalEntry.select(JournalEntry.version).where(
            JournalEntry.record_id == ticket).tuples()}
        assert journal_versions == set(range(1, final + 1))

    # the same import four times at once made its five records once
    keys = [k for (k,) in Incident.select(Incident.external_key)
            .where(Incident.external_key.is_null(False)).tuples()]
    assert sorted(keys) == [f"T-{i}" for i in range(1, 6)]
    outcomes = [o for r in results for o in r["imports"]]
    assert sum(1 for o in outcomes if o[0] == 5) == 1, outcomes  # created once, by one import
    created = JournalEntry.select().where((JournalEntry.field == records.CREATED)
                                          & (JournalEntry.record_kind == "incident")).count()
    assert created == TICKETS + 5

    if db.backend == "sqlite":
        from itsmdesk.models import journal_guard

        assert journal_guard.first_broken(proxy.obj) is None


# -- SQLite: the busy sentence ----------------------------------------------------------------------
def _holder(url: str, ticket: str, held, release) -> None:
    """Hold SQLite's write lock (a real write through the funnel) until told to let go."""
    from itsmdesk.models.write_lock import set_program
    from itsmdesk.services.session import open_database

    set_program("itsmdesk import")
    database, _info = open_database(url)
    with records.atomic():
        incidents.update_incident(ticket, None, {"description": "held by the other process"})
        held.set()
        release.wait(30)
    database.close()


def test_busy_file_names_the_process_holding_it(sqlite_db, tmp_path, monkeypatch):
    from itsmdesk.models import write_lock
    from itsmdesk.models.base import db as proxy

    ticket = incidents.create_incident({"title": "Contended"})
    journal = JournalEntry.select().count()
    ctx = mp.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_holder, args=(sqlite_db.url, str(ticket.id), held, release))
    proc.start()
    try:
        assert held.wait(60), "the holder process did not take the lock"
        proxy.obj.execute_sql("PRAGMA busy_timeout = 100")  # (10 s in use)
        monkeypatch.setattr(write_lock, "BUSY_RETRIES", 2)
        monkeypatch.setattr(write_lock, "BACKOFF_S", 0.02)
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError) as info:
            incidents.update_incident(ticket.id, ticket.version, {"description": "mine"})
        waited = time.monotonic() - started
    finally:
        release.set()
        proc.join(30)
    message = str(info.value)
    assert f"process {proc.pid} (itsmdesk import by " in message, message
    assert str(sqlite_db.path) in message and "nothing was changed" in message
    assert waited >= 0.3  # three tries of the busy timeout, not the first refusal
    # nothing of the refused call was written; the holder's write is there
    row = Incident.get_by_id(ticket.id)
    assert row.description == "held by the other process" and row.version == ticket.version + 1
    assert JournalEntry.select().where(JournalEntry.new == "mine").count() == 0
    assert JournalEntry.select().count() == journal + 1
    # the lock is free again: the same call goes through, and its note says released
    incidents.update_incident(ticket.id, row.version, {"description": "mine"})
    assert write_lock.holder(proxy.obj) is None
    assert oct(os.stat(str(sqlite_db.path) + ".writer").st_mode & 0o777) == "0o600"


def test_driver_busy_error_outside_the_funnel_is_a_sentence(sqlite_db):
    """A "database is locked" raised anywhere (not at BEGIN) still reads as a sentence."""
    import sqlite3

    from itsmdesk.services.session import as_domain_error

    error = as_domain_error(sqlite3.OperationalError("database is locked"))
    assert isinstance(error, DatabaseBusyError)
    assert "is busy" in str(error) and "nothing was changed" in str(error)


# -- PostgreSQL: deadlocks and serialisation failures are run again ------------------------------------
def _raise_state(code: str) -> None:
    from itsmdesk.models.base import db as proxy

    proxy.obj.execute_sql(f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{code}'; "
                          "END $$")


@pytest.mark.parametrize("code", ["40P01", "40001"])
def test_postgres_contention_runs_the_call_again_once(db, code):
    if db.backend != "postgresql":
        pytest.skip("PostgreSQL's deadlock and serialisation failure")
    from itsmdesk.services.session import run_retrying

    attempts = []
    batch = uuid.uuid4()

    def call():  # noqa: ANN202 - a service call that loses to a deadlock the first time
        with records.atomic():
            row = incidents.create_incident({"title": "Retried"})
            attempts.append(row.ref)
            if len(attempts) == 1:
                _raise_state(code)  # a real error from the server, with its SQLSTATE
            return row

    with records.capture() as changes, records.preset_batch(batch):
        row = run_retrying(call)
    assert len(attempts) == 2 and attempts[0] == attempts[1]  # the reference drawn once
    assert Incident.select().count() == 1 and row.ref == attempts[0]
    assert changes.batches == [batch]  # the batch chosen before the call, committed once
    assert JournalEntry.select().where(JournalEntry.record_id == row.id).count() == 1


def test_postgres_contention_that_persists_is_a_sentence(db):
    if db.backend != "postgresql":
        pytest.skip("PostgreSQL's deadlock")
    from itsmdesk.services import session

    calls = []

    def call():  # noqa: ANN202
        calls.append(1)
        with records.atomic():
            incidents.create_incident({"title": "Never"})
            _raise_state("40P01")

    with pytest.raises(DatabaseBusyError) as info:
        session.run_retrying(call)
    assert len(calls) == session.CONTENTION_ATTEMPTS
    assert str(info.value).startswith("Other people were changing the same records")
    assert "nothing was changed" in str(info.value) and info.value.attempts == len(calls)
    assert Incident.select().count() == 0


class _DeadlockError(Exception):
    """What psycopg2 raises for a deadlock, as far as the retry looks (its SQLSTATE)."""

    pgcode = "40P01"


def test_a_window_write_that_lost_a_deadlock_is_saved_once(ctx, qtbot):
    """The GUI's write operation runs the whole service call again (not just its last
    statement); the form hears of one save and the change feed of one batch."""
    from PySide6.QtWidgets import QWidget

    owner = QWidget()
    qtbot.addWidget(owner)
    attempts, done, errors, feed = [], [], [], []
    ctx.sig_changes.connect(feed.append)

    def save() -> Incident:
        with records.atomic():
            row = incidents.create_incident({"title": "Saved once"})
            attempts.append(row.ref)
            if len(attempts) == 1:
                raise _DeadlockError("deadlock detected")
            return row

    ctx.write(save, on_done=done.append, on_error=errors.append, owner=owner)
    qtbot.waitUntil(lambda: bool(done or errors))
    assert errors == [] and len(attempts) == 2 and attempts[0] == attempts[1]
    assert [r.ref for r in done] == [attempts[0]] and Incident.select().count() == 1
    assert len(feed) == 1 and len(feed[0].batches) == 1
    assert JournalEntry.select().where(JournalEntry.record_id == done[0].id).count() == 1


CIS = "name,class,status\nweb-01,virtual_machine,in_production\ndb-01,database,\n"
RELS = "source,type,target\nweb-01,depends_on,db-01\n"


def test_the_same_cmdb_file_imported_twice_at_once_is_refused_not_a_driver_error(
        db, tmp_path, monkeypatch):
    """Two CMDB imports of one file started together both plan every CI and relation as new;
    the one that writes second refuses with a sentence (the CI name is unique: before, the
    database's UNIQUE constraint failed with its own words)."""
    from itsmdesk.models.cmdb import CI, Relation
    from itsmdesk.services.cmdb import csv_io

    (tmp_path / "cis.csv").write_text(CIS, encoding="utf-8")
    (tmp_path / "rels.csv").write_text(RELS, encoding="utf-8")
    assert csv_io.import_csv("cis", tmp_path / "cis.csv").created == 2
    assert csv_io.import_csv("relations", tmp_path / "rels.csv").created == 1
    journal = JournalEntry.select().count()
    real_raw_in = csv_io._raw_in
    monkeypatch.setattr(csv_io, "_by_names", lambda *_a: {})  # planned before the first wrote
    with pytest.raises(ConflictError, match="Another import created the record (web|db)-01 "):
        csv_io.import_csv("cis", tmp_path / "cis.csv")
    monkeypatch.setattr(csv_io, "_raw_in", lambda sql, values: [] if "FROM relation" in sql
                        else real_raw_in(sql, values))
    with pytest.raises(ConflictError, match="created the record web-01 depends_on db-01"):
        csv_io.import_csv("relations", tmp_path / "rels.csv")
    assert CI.select().count() == 2 and Relation.select().count() == 1
    assert JournalEntry.select().count() == journal


def test_a_migration_another_process_ran_meanwhile_is_not_run_again(tmp_path, monkeypatch):
    """Two processes open an old file at once: both read the old version, the first migrates;
    the second reads the version again under the write lock and skips the step (running it
    again would add the same columns twice and fail with the driver's words)."""
    from itsmdesk.models import migrations
    from itsmdesk.models.database import connect

    path = tmp_path / "old.db"
    database, _info = connect(f"sqlite:///{path}")
    migrations.ensure_schema(database, path, target=migrations.LATEST_VERSION - 1)
    migrations.ensure_schema(database, path)  # the first process migrates
    real = migrations.current_version
    reads = []

    def stale_first(db_):  # noqa: ANN001, ANN202 - the second process read before the first wrote
        reads.append(1)
        return migrations.LATEST_VERSION - 1 if len(reads) == 1 else real(db_)

    monkeypatch.setattr(migrations, "current_version", stale_first)
    before, after = migrations.ensure_schema(database, path)
    assert (before, after) == (migrations.LATEST_VERSION - 1, migrations.LATEST_VERSION)
    assert len(reads) >= 2  # read again under the lock
    assert real(database) == migrations.LATEST_VERSION
    database.close()
