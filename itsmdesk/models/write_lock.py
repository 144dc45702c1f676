"""SQLite's write lock: taken at once, waited for a bounded time, and its holder named.

Every SQLite write transaction begins ``IMMEDIATE`` (:func:`write_transaction`): the write lock
is taken before the first statement, so a second writer waits for the busy timeout instead of
failing when a read lock cannot be upgraded halfway through.  When the lock cannot be had even
then, ``BEGIN`` is tried again a few times after a jittered pause (the holder is usually just
slow: an import, a backup), and only then the caller gets a :class:`DatabaseBusyError` saying who
holds the file.  Nothing of the caller's body has run at that point: nothing was changed.

SQLite cannot tell who holds its lock, so the holder says so itself: having taken the lock, a
process writes one fixed-size record (pid, user, host, program, since when) at the start of the
sidecar file ``<db>.writer`` (created 0600) and marks it released when its transaction ends.
Only the lock holder ever writes it (SQLite's lock is the mutex), so one ``pwrite`` of 256
bytes on a file descriptor kept open suffices; another process reads it without any lock.  Cost
per write transaction: two ``pwrite`` system calls (``bench write_contention`` measures it).
A holder that is not itsmdesk (the sqlite3 shell) leaves the last record "released": the
sentence then says another program holds the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import random
import socket
import sys
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import peewee as pw

from itsmdesk.errors import N_, DatabaseBusyError

RECORD_SIZE = 256
# BEGIN IMMEDIATE tried this many times more after the busy timeout ran out, with a pause of
# BACKOFF_S * attempt * (0.5 .. 1.5) before each.
BUSY_RETRIES = 2
BACKOFF_S = 0.15

_program: str | None = None


def set_program(label: str) -> None:
    """What this process is, as another user reads it ("itsmdesk import", "itsmdesk desktop")."""
    global _program
    _program = label[:60]
    _identity.cache = None


def _default_program() -> str:
    args = [a for a in sys.argv[:3] if a]
    name = Path(args[0]).stem if args else "python"
    if name in ("__main__", "-c", "-m", ""):
        name = Path(sys.executable).stem
    rest = next((a for a in args[1:] if not a.startswith("-")), "")
    return f"{name} {rest}".strip()[:60]


def _identity() -> str:
    """This process's part of the record (computed once)."""
    if _identity.cache is None:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no name for this uid
            user = str(os.getuid()) if hasattr(os, "getuid") else "?"
        _identity.cache = json.dumps({"user": user[:40], "host": socket.gethostname()[:60],
                                      "program": _program or _default_program()},
                                     ensure_ascii=False)[1:-1]
    return _identity.cache


_identity.cache = None  # type: ignore[attr-defined]


def sidecar_path(database: pw.Database) -> Path | None:
    """``<db>.writer`` next to an SQLite file (None for an in-memory database)."""
    name = getattr(database, "database", None)
    if not isinstance(database, pw.SqliteDatabase) or not name or name == ":memory:" \
            or str(name).startswith("file:"):
        return None
    return Path(str(name) + ".writer")


def _fd(database: pw.Database) -> int | None:
    """This process's descriptor of ``database``'s sidecar file (opened at its first write,
    kept with the database object, closed when that object goes)."""
    pid = os.getpid()
    cached = getattr(database, "_itsmdesk_writer_fd", None)
    if cached is not None and cached[0] == pid:
        return cached[1]
    path = sidecar_path(database)
    fd = None
    if path is not None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            fd = None  # (a read-only folder: the sentence will not name the holder)
        else:
            weakref.finalize(database, _close, fd, pid)
    database._itsmdesk_writer_fd = (pid, fd)
    return fd


def _close(fd: int, pid: int) -> None:
    if os.getpid() == pid:
        with contextlib.suppress(OSError):
            os.close(fd)


def _put(database: pw.Database, state: bytes) -> None:
    fd = _fd(database)
    if fd is None:
        return
    if _tail.cache is None or _tail.cache[0] != os.getpid():
        tail = f", {_identity()}}}".encode()
        _tail.cache = (os.getpid(), f'"pid": {os.getpid()}, "since": '.encode(),
                       tail)
    _pid, head, tail = _tail.cache
    data = b'{"state": "' + state + b'", ' + head + b"%.3f" % time.time() + tail
    try:
        os.pwrite(fd, data[:RECORD_SIZE - 1].ljust(RECORD_SIZE - 1) + b"\n", 0)
    except OSError:
        pass


def _tail() -> None:  # (a holder of the cached parts of this process's record)
    pass


_tail.cache = None  # type: ignore[attr-defined]


def note_taken(database: pw.Database) -> None:
    """This process now holds the write lock (call right after BEGIN IMMEDIATE succeeded)."""
    _put(database, b"held")


def note_released(database: pw.Database) -> None:
    """This process's write transaction ended (committed or rolled back)."""
    _put(database, b"released")


@dataclass(frozen=True)
class Holder:
    pid: int
    user: str
    host: str
    program: str
    since: float  # seconds since the epoch

    @property
    def since_text(self) -> str:
        return dt.datetime.fromtimestamp(self.since).strftime("%H:%M:%S")


def holder(database: pw.Database) -> Holder | None:
    """Who noted last that it holds the write lock of ``database``'s file, if that process is
    still holding it as far as can be told (None: not itsmdesk, or not known)."""
    path = sidecar_path(database)
    if path is None:
        return None
    for _ in range(3):  # a record being rewritten right now reads torn: read again
        try:
            with open(path, "rb") as f:
                data = f.read(RECORD_SIZE)
        except OSError:
            return None
        try:
            record = json.loads(data.decode("utf-8"))
            break
        except (ValueError, UnicodeDecodeError):
            time.sleep(0.01)
    else:
        return None
    if record.get("state") != "held":
        return None
    found = Holder(int(record.get("pid", 0)), str(record.get("user", "?")),
                   str(record.get("host", "?")), str(record.get("program", "?")),
                   float(record.get("since", 0)))
    if found.host == socket.gethostname() and not _alive(found.pid):
        return None  # died holding it: SQLite released the lock with the process
    return found


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # (someone else's process: it exists)
    return True


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database is busy" (SQLITE_BUSY after the busy timeout)."""
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def busy_error(database: pw.Database, reason: str = "") -> DatabaseBusyError:
    """The sentence for a file whose write lock another process keeps."""
    where = str(getattr(database, "database", "") or "?")
    found = holder(database)
    if found is not None and found.pid != os.getpid():
        error = DatabaseBusyError(
            N_("The database file {path} is busy: process {pid} ({program} by {user} on {host}) "
               "has been writing since {since}; nothing was changed, try again."),
            path=where, pid=found.pid, program=found.program, user=found.user, host=found.host,
            since=found.since_text)
    elif found is not None:
        error = DatabaseBusyError(
            N_("The database file {path} is busy: another connection of this program has been "
               "writing since {since}; nothing was changed, try again."),
            path=where, since=found.since_text)
    else:
        error = DatabaseBusyError(
            N_("The database file {path} is busy: another program is writing to it ({reason}); "
               "nothing was changed, try again."), path=where, reason=reason or "locked")
    error.holder = found
    return error


@contextlib.contextmanager
def write_transaction(database: pw.Database) -> Iterator[None]:
    """The outermost write transaction on ``database``: on SQLite ``BEGIN IMMEDIATE``, retried
    when the lock stays taken past the busy timeout, then :class:`DatabaseBusyError`; the lock's
    holder noted in the sidecar file.  Nested, or on PostgreSQL: a plain ``atomic()``."""
    if not isinstance(database, pw.SqliteDatabase) or database.transaction_depth() > 0:
        with database.atomic():
            yield
        return
    attempt = 0
    while True:
        txn = database.atomic(lock_type="IMMEDIATE")
        try:
            txn.__enter__()
            break
        except pw.OperationalError as exc:
            if not is_busy(exc):
                raise
            if attempt >= BUSY_RETRIES:
                raise busy_error(database, str(exc)) from exc
        attempt += 1
        time.sleep(BACKOFF_S * attempt * random.uniform(0.5, 1.5))
    note_taken(database)
    try:
        try:
            yield
        except BaseException:
            if not txn.__exit__(*sys.exc_info()):
                raise
        else:
            txn.__exit__(None, None, None)
    finally:
        note_released(database)
