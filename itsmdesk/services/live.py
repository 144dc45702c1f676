"""Live refresh: what other workstations changed, as it commits (PostgreSQL LISTEN/NOTIFY).

One dedicated connection per workstation (psycopg2, autocommit, TCP keepalives) runs
``LISTEN itsmdesk_changes`` and waits on its socket with ``select()`` for a short interval at a
time, so it can be stopped and notices a dead connection within about a second.  Each
notification's payload (see :mod:`itsmdesk.models.pg_notify`) becomes a :class:`LiveChanges`:
the same kinds and ids a local write's :class:`~itsmdesk.services.records.Changes` names, plus
who, when and the journal id.

Notifications sent while the connection was down are lost (PostgreSQL keeps none for an absent
listener).  So after every reconnect the listener catches up from the journal: rows after the
last journal id it had seen, read back a little further (:data:`OVERLAP` rows, since a
transaction that took lower ids may commit after one with higher ids) and with the batches it
has already reported left out.  A catch-up payload (a write too large to describe in 8000
bytes) is answered the same way.

Qt-free: the view's bridge (``views/live_feed.py``) runs :meth:`Listener.run` on a thread and
hands what it reports to the GUI thread.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import select
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from itsmdesk.models.pg_notify import CHANNEL
from itsmdesk.services.records import CREATED, DELETED, Changes
from itsmdesk.services.session import backoff_delay

OVERLAP = 200  # journal rows re-read before the last id seen, on catch-up
CATCH_UP_LIMIT = 5000  # more rows than this: the kinds they touch refresh whole
SEEN_BATCHES = 5000  # batches remembered to leave out of a catch-up


@dataclass
class LiveChanges(Changes):
    """A :class:`Changes` that came from the database rather than from this process's own
    write: who made it, when (UTC), and up to which journal id."""

    who: str | None = None
    at: dt.datetime | None = None
    journal_id: int | None = None
    caught_up: bool = False  # read from the journal after a reconnect or a catch-up payload


def changes_from_payload(payload: str) -> LiveChanges | None:
    """The changes a notification names; None for a catch-up payload (read the journal)."""
    data = json.loads(payload)
    if data.get("x"):
        return None
    changes = LiveChanges(who=data.get("w"), journal_id=data.get("j"))
    changes.batches = [_uuid(b) for b in data.get("b") or []]
    if data.get("a"):
        try:
            changes.at = dt.datetime.fromisoformat(data["a"])
        except ValueError:
            pass
    hows = {"c": "created", "u": "changed", "d": "deleted"}
    for kind, record_id, _version, how in data.get("r") or []:
        changes.note(hows.get(how, "changed"), kind, _uuid(record_id))
    return changes


def _uuid(text: Any) -> Any:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return text


def changes_from_rows(rows: Iterable[tuple], skip_batches: Iterable[Any] = ()) -> LiveChanges:
    """Journal rows ``(id, record_kind, record_id, field, old, new, who_name, at, batch)`` as
    changes (the same reading the NOTIFY trigger makes), leaving out ``skip_batches``."""
    skip = {str(b) for b in skip_batches}
    changes = LiveChanges(caught_up=True)
    batches: dict[str, Any] = {}
    for jid, kind, record_id, field, old, new, who, at, batch in rows:
        if batch is not None and str(batch) in skip:
            continue
        changes.journal_id = max(changes.journal_id or 0, jid)
        if batch is not None:
            batches.setdefault(str(batch), _uuid(batch))
        changes.who, changes.at = who, at
        if field.startswith("!"):
            continue
        rid = _uuid(record_id)
        if field == DELETED:
            changes.note("deleted", kind, rid)
        elif field == CREATED:
            changes.note("created", kind, rid)
        else:
            changes.note("changed", kind, rid)
        if field[-1:] in "+~-" and len(field) > 1:
            try:
                child = json.loads(new if new is not None else old)["id"]
            except (TypeError, ValueError, KeyError):
                changes.note_many(field[:-1])
                continue
            how = {"+": "created", "~": "changed", "-": "deleted"}[field[-1]]
            changes.note(how, field[:-1], _uuid(child))
    # a record both created and deleted, or created then changed, reads as its last state
    for kind, ids in changes.deleted.items():
        for how in ("created", "changed"):
            if kind in getattr(changes, how):
                getattr(changes, how)[kind] -= ids
    changes.batches = list(batches.values())
    return changes


_ROW_SQL = ("SELECT id, record_kind, record_id, field, old, new, who_name, at, batch "
            "FROM journal WHERE id > %s AND id <= %s ORDER BY id")


def read_catch_up(cursor, after: int, upto: int | None = None,  # noqa: ANN001 - DB-API cursor
                  skip_batches: Iterable[Any] = ()) -> LiveChanges:
    """What the journal holds after id ``after`` (up to ``upto``), as changes; beyond
    :data:`CATCH_UP_LIMIT` rows the kinds concerned are marked to refresh whole."""
    if upto is None:
        cursor.execute("SELECT coalesce(max(id), 0) FROM journal")
        upto = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM journal WHERE id > %s AND id <= %s", (after, upto))
    if cursor.fetchone()[0] > CATCH_UP_LIMIT:
        cursor.execute("SELECT DISTINCT record_kind FROM journal WHERE id > %s AND id <= %s",
                       (after, upto))
        changes = LiveChanges(caught_up=True, journal_id=upto)
        for (kind,) in cursor.fetchall():
            changes.note_many(kind)
        return changes
    cursor.execute(_ROW_SQL, (after, upto))
    changes = changes_from_rows(cursor.fetchall(), skip_batches)
    changes.journal_id = max(changes.journal_id or 0, upto)
    return changes


def connect_params(database: Any = None) -> dict[str, Any]:  # noqa: ANN401 - a peewee database
    """The psycopg2 connection arguments of the app's own PostgreSQL database (same person,
    same server), for the listener's connection (default: the open database)."""
    if database is None:
        from itsmdesk.models.base import db

        database = db.obj
    params = dict(database.connect_params)
    params["dbname"] = database.database
    params["application_name"] = "itsmdesk-listen"
    return params


class Listener:
    """The listening connection and its loop.

    ``params``: psycopg2 connection arguments, or a function returning them at each connect.
    ``on_changes(LiveChanges)`` and ``on_state(state, attempt)`` are called on the listener's
    thread: ``state`` is ``"connected"`` (first time), ``"lost"`` (attempt n is next, after
    back-off) or ``"reconnected"``.
    """

    def __init__(self, params: dict[str, Any] | Callable[[], dict[str, Any]],
                 on_changes: Callable[[LiveChanges], None],
                 on_state: Callable[[str, int], None] | None = None, channel: str = CHANNEL,
                 interval: float = 0.25, catch_up: bool = True) -> None:
        self.params = params
        self.on_changes = on_changes
        self.on_state = on_state or (lambda _s, _a: None)
        self.channel = channel
        self.interval = interval
        self.catch_up = catch_up
        self.last_id: int | None = None
        self.conn = None
        self.connects = 0
        self.received = 0
        self._seen: collections.deque = collections.deque(maxlen=SEEN_BATCHES)
        self._seen_set: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> Listener:
        self._thread = threading.Thread(target=self.run, name="itsmdesk-listen", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._close()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Connect, listen, and on any loss reconnect with back-off until stopped."""
        attempt = 0
        while not self._stop.is_set():
            try:
                self._connect()
            except Exception as exc:  # noqa: BLE001 - the server is away: back off, try again
                self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                attempt += 1
                self.on_state("lost", attempt)
                if self._stop.wait(backoff_delay(attempt)):
                    break
                continue
            self.on_state("reconnected" if self.connects > 1 else "connected", 0)
            attempt = 0
            try:
                self._listen()
            except Exception as exc:  # noqa: BLE001 - the connection died
                self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                self._close()
                if self._stop.is_set():
                    break
                attempt = 1
                self.on_state("lost", attempt)
                if self._stop.wait(backoff_delay(attempt)):
                    break
        self._close()

    def _connect(self) -> None:
        import psycopg2

        from itsmdesk.models.database import PG_KEEPALIVE

        self._close()
        given = self.params() if callable(self.params) else self.params  # (the current role)
        params = {**PG_KEEPALIVE, "connect_timeout": 5, **given}
        conn = psycopg2.connect(**params)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {self.channel}")  # first: nothing committed after is missed
            if self.last_id is None or not self.catch_up:
                cur.execute("SELECT coalesce(max(id), 0) FROM journal")
                self.last_id = cur.fetchone()[0]
                caught = None
            else:
                caught = read_catch_up(cur, max(0, self.last_id - OVERLAP),
                                       skip_batches=self._seen_set)
        self.conn = conn
        self.connects += 1
        if caught is not None:
            self.last_id = max(self.last_id, caught.journal_id or 0)
            self._remember(caught.batches)
            if caught:
                self.on_changes(caught)

    def _listen(self) -> None:
        conn = self.conn
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([conn], [], [], self.interval)
            if not ready:
                if time.monotonic() - quiet_since > 5.0:
                    # an idle link that died silently (a cut cable) shows when we speak
                    with conn.cursor() as cur:
                        cur.execute("SELECT 1")
                    quiet_since = time.monotonic()
                continue
            conn.poll()  # raises when the connection is gone
            quiet_since = time.monotonic()
            while conn.notifies:
                note = conn.notifies.pop(0)
                self._handle(note.payload)

    def _handle(self, payload: str) -> None:
        self.received += 1
        try:
            data = json.loads(payload)
        except ValueError:
            data = {"x": 1}
        changes = None if data.get("x") else changes_from_payload(payload)
        if changes is None:  # too large to name in a payload: read what it wrote
            upto = data.get("j")
            low = min(self.last_id or 0, (data.get("m") or 1) - 1)
            with self.conn.cursor() as cur:
                changes = read_catch_up(cur, max(0, low), upto, skip_batches=self._seen_set)
            if data.get("w") and not changes.who:
                changes.who = data.get("w")
        if changes.journal_id:
            self.last_id = max(self.last_id or 0, changes.journal_id)
        fresh = [b for b in changes.batches if str(b) not in self._seen_set]
        if changes.batches and not fresh:
            return  # reported already (a catch-up overlapping a notification)
        self._remember(changes.batches)
        if changes:
            self.on_changes(changes)

    def _remember(self, batches: Iterable[Any]) -> None:
        for batch in batches:
            key = str(batch)
            if key in self._seen_set:
                continue
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(key)
            self._seen_set.add(key)

    def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass

    def backend_pid(self) -> int | None:
        """The listening connection's server process (tests terminate it)."""
        conn = self.conn
        return conn.get_backend_pid() if conn is not None else None


def changes_of_batch(batch: Any) -> LiveChanges:  # noqa: ANN401 - a uuid.UUID
    """The changes one journal batch made (a write that committed although its connection
    died before it heard so)."""
    from itsmdesk.models.journal import JournalEntry as J

    rows = (J.select(J.id, J.record_kind, J.record_id, J.field, J.old, J.new, J.who_name, J.at,
                     J.batch)
            .where(J.batch == batch).order_by(J.id).tuples())
    changes = changes_from_rows(list(rows))
    changes.caught_up = False
    return changes
