"""Live refresh on PostgreSQL: a committed write on one connection arrives as a notification on
another connection's listener; after a reconnect the listener catches up from the journal; the
payload stays under PostgreSQL's 8000-byte limit (a bulk write sends a catch-up payload)."""

from __future__ import annotations

import json
import queue
import time

import pytest

from itsmdesk.models import pg_notify
from itsmdesk.services import live
from itsmdesk.services.servicedesk import incidents

ON_PG = pytest.mark.parametrize("db", ["postgres"], indirect=True)  # NOTIFY: PostgreSQL only


@pytest.fixture
def pg(db):
    return db


def _listener(received: queue.Queue, states: list | None = None) -> live.Listener:
    from itsmdesk.models.base import db

    listener = live.Listener(live.connect_params(db.obj), received.put,
                             on_state=(lambda s, a: states.append((s, a))) if states is not None
                             else None, interval=0.05)
    listener.start()
    deadline = time.monotonic() + 10
    while listener.conn is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.conn is not None, listener.error
    return listener


def _next(received: queue.Queue, timeout: float = 5.0) -> live.LiveChanges:
    return received.get(timeout=timeout)


def _terminate(pid: int) -> None:
    import psycopg2

    from tests.conftest import PG_CANDIDATES

    for url in PG_CANDIDATES[::-1]:  # the superuser first
        try:
            conn = psycopg2.connect(url, connect_timeout=3)
        except psycopg2.Error:
            continue
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            ok = cur.fetchone()[0]
        conn.close()
        if ok:
            return
    raise AssertionError(f"could not terminate backend {pid}")


@ON_PG
def test_the_trigger_is_installed_by_migration_9(pg):
    from itsmdesk.models.base import db
    from itsmdesk.models.migrations import current_version

    assert current_version(db.obj) >= 9
    assert pg_notify.installed(db.obj)


@ON_PG
def test_a_write_on_one_connection_arrives_on_another_listener(pg):
    received: queue.Queue = queue.Queue()
    listener = _listener(received)
    try:
        started = time.perf_counter()
        inc = incidents.create_incident({"title": "Mail down", "impact": 2, "urgency": 2})
        changes = _next(received)
        took = time.perf_counter() - started
        assert inc.id in changes.ids("incident")
        assert changes.created["incident"] == {inc.id}
        assert changes.journal_id == listener.last_id > 0
        assert len(changes.batches) == 1
        assert took < 1.0
        # an edit: changed, with the batch the write's own Changes names
        from itsmdesk.services import records

        with records.capture() as mine:
            incidents.update_incident(inc.id, inc.version, {"title": "Mail down (all)"})
        changes = _next(received)
        assert changes.changed == {"incident": {inc.id}}
        assert changes.batches == mine.batches
        assert changes.who
        assert received.empty()
    finally:
        listener.stop()


@ON_PG
def test_a_rolled_back_write_sends_nothing(pg):
    from itsmdesk.services import records

    received: queue.Queue = queue.Queue()
    listener = _listener(received)
    try:
        with pytest.raises(RuntimeError), records.atomic():
            incidents.create_incident({"title": "Never", "impact": 2, "urgency": 2})
            raise RuntimeError("undo")
        inc = incidents.create_incident({"title": "Kept", "impact": 2, "urgency": 2})
        changes = _next(received)
        assert changes.ids("incident") == {inc.id}
    finally:
        listener.stop()


@ON_PG
def test_catch_up_after_reconnect_from_the_journal(pg):
    received: queue.Queue = queue.Queue()
    states: list = []
    listener = _listener(received, states)
    try:
        first = incidents.create_incident({"title": "Before", "impact": 2, "urgency": 2})
        assert first.id in _next(received).ids("incident")
        # the listener's connection dies; writes meanwhile send notifications nobody hears
        listener.params = {**listener.params, "port": 1}  # cannot come back yet
        _terminate(listener.backend_pid())
        deadline = time.monotonic() + 5
        while not any(s == "lost" for s, _ in states) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ("lost", 1) in states
        missed = [incidents.create_incident({"title": f"While away {i}", "impact": 2,
                                             "urgency": 2}) for i in range(3)]
        incidents.update_incident(first.id, first.version, {"title": "Edited while away"})
        from itsmdesk.models.base import db

        listener.params = live.connect_params(db.obj)  # the server is reachable again
        caught = _next(received, timeout=10)
        assert caught.caught_up
        assert {m.id for m in missed} <= caught.created["incident"]
        assert first.id in caught.changed["incident"]
        assert first.id not in caught.created.get("incident", set())  # seen before: not again
        assert ("reconnected", 0) in states
        # and live again afterwards
        later = incidents.create_incident({"title": "After", "impact": 2, "urgency": 2})
        assert _next(received).ids("incident") == {later.id}
    finally:
        listener.stop()


@ON_PG
def test_payload_stays_under_the_limit(pg):
    """A write touching many records sends a catch-up payload; the listener reads the journal
    and still names every record."""
    import psycopg2

    from itsmdesk.models.base import db
    from itsmdesk.services import records

    params = live.connect_params(db.obj)
    raw = psycopg2.connect(**params)
    raw.autocommit = True
    payloads: list[str] = []
    with raw.cursor() as cur:
        cur.execute(f"LISTEN {pg_notify.CHANNEL}")
    received: queue.Queue = queue.Queue()
    listener = _listener(received)
    try:
        with records.atomic():
            many = [incidents.create_incident({"title": f"Bulk {i}", "impact": 3, "urgency": 3})
                    for i in range(150)]
        deadline = time.monotonic() + 5
        while not payloads and time.monotonic() < deadline:
            raw.poll()
            payloads.extend(n.payload for n in raw.notifies)
            raw.notifies.clear()
            time.sleep(0.02)
        assert payloads
        assert all(len(p.encode()) <= pg_notify.PAYLOAD_LIMIT for p in payloads)
        assert any(json.loads(p).get("x") == 1 for p in payloads)  # too many to name
        seen: set = set()
        deadline = time.monotonic() + 5
        while len(seen) < 150 and time.monotonic() < deadline:
            seen |= _next(received).ids("incident")
        assert {m.id for m in many} <= seen
        # a small write names its records in the payload itself
        payloads.clear()
        incidents.create_incident({"title": "Small", "impact": 3, "urgency": 3})
        deadline = time.monotonic() + 5
        while not payloads and time.monotonic() < deadline:
            raw.poll()
            payloads.extend(n.payload for n in raw.notifies)
            raw.notifies.clear()
            time.sleep(0.02)
        data = json.loads(payloads[-1])
        assert "x" not in data and data["r"] and len(payloads[-1]) < 1000
    finally:
        listener.stop()
        raw.close()


def test_payload_reading():
    rows = [
        (10, "incident", "6f1c3e1e-0000-0000-0000-000000000001", "*created*", None, "{}",
         "Ann", None, "6f1c3e1e-0000-0000-0000-0000000000bb"),
        (11, "incident", "6f1c3e1e-0000-0000-0000-000000000001", "work_log+", None,
         '{"id": "6f1c3e1e-0000-0000-0000-0000000000cc"}', "Ann", None,
         "6f1c3e1e-0000-0000-0000-0000000000bb"),
        (12, "incident", "6f1c3e1e-0000-0000-0000-000000000002", "!escalated", None, "x", "Bo",
         None, "6f1c3e1e-0000-0000-0000-0000000000dd"),
    ]
    changes = live.changes_from_rows(rows)
    assert {str(i) for i in changes.created["incident"]} == {"6f1c3e1e-0000-0000-0000-000000000001"}
    assert {str(i) for i in changes.created["work_log"]} == {"6f1c3e1e-0000-0000-0000-0000000000cc"}
    assert changes.journal_id == 12 and len(changes.batches) == 2
    skipped = live.changes_from_rows(rows, skip_batches=["6f1c3e1e-0000-0000-0000-0000000000bb"])
    assert not skipped.created and skipped.journal_id == 12
