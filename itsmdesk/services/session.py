"""Opening a database for use: connect, then create or upgrade its schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peewee as pw

from itsmdesk.models.database import DbInfo, connect  # noqa: F401 - DbInfo for the views
from itsmdesk.models.migrations import ensure_schema


def open_database(url: str, upgrade: bool = True,
                  progress: Callable[[str], None] | None = None) -> tuple[pw.Database, DbInfo]:
    """Connect to ``url`` and make its schema current (backing up an SQLite file first)."""
    database, info = connect(url)
    if upgrade:
        try:
            ensure_schema(database, info.path, progress=progress)
            from itsmdesk.services.cmdb.cis import ensure_standard_classes

            ensure_standard_classes()
        except Exception:
            database.close()
            raise
    if info.backend == "sqlite":  # a replica draws its references from its site's block
        from itsmdesk.services.sync.site import adopt_site

        adopt_site(database)
    return database, info


def close_thread_connection() -> None:
    """Close this thread's database connection (peewee keeps one per thread)."""
    from itsmdesk.models.base import db

    database = db.obj
    if database is not None and not database.is_closed():
        database.close()


def as_domain_error(exc: BaseException) -> BaseException:
    """A driver error as a sentence for a person: a lost or refused connection becomes
    :class:`DatabaseUnavailableError`, a locked SQLite file :class:`DatabaseBusyError`; domain
    errors and true bugs are returned as they are."""
    from itsmdesk.errors import N_, DatabaseBusyError, DatabaseUnavailableError, ItsmError

    if isinstance(exc, ItsmError):
        return exc
    if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):  # psycopg2, before sending

        from itsmdesk.models.database import nul_error

        return nul_error()
    file_error = _file_error(exc)
    if file_error is not None:
        return file_error
    chain = [exc] + ([exc.__cause__] if exc.__cause__ else []) + ([exc.__context__] if exc.__context__ else [])
    names = {type(e).__name__ for e in chain}
    modules = {type(e).__module__.split(".")[0] for e in chain}
    refused = _refused_by_database(chain)
    if refused is not None:
        return refused
    if contention_state(exc):  # (raised where no whole call could be run again)
        return contention_error(exc, 1)
    if names & {"IntegrityError", "UniqueViolation"}:
        from itsmdesk.services.unique_keys import violation_error

        taken = next((e for e in map(violation_error, chain) if e is not None), None)
        if taken is not None:
            return taken
    if not names & {"OperationalError", "InterfaceError"} or not modules & {"peewee", "psycopg2", "sqlite3"}:
        return exc
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "locked" in text.lower() or "busy" in text.lower():
        from itsmdesk.models.base import db
        from itsmdesk.models.write_lock import busy_error

        if isinstance(db.obj, pw.SqliteDatabase):
            return busy_error(db.obj, text)
        return DatabaseBusyError(N_("The database is busy with another writer ({reason}); nothing "
                                    "was saved, try again."), reason=text)
    error = DatabaseUnavailableError(N_("The database cannot be reached ({reason})."), reason=text)
    error.__cause__ = exc  # (is_connection_lost looks at what the driver said)
    return error


# -- PostgreSQL: serialisation failures and deadlocks ---------------------------------------------
# A transaction PostgreSQL rolled back so that another could go on: serialization_failure and
# deadlock_detected.  Nothing of it was written; the whole service call is run again.
CONTENTION_STATES = {"40001", "40P01"}
CONTENTION_ATTEMPTS = 5
CONTENTION_BACKOFF_S = 0.05


def contention_state(exc: BaseException) -> str | None:
    """The SQLSTATE when ``exc`` (or what it wraps) is a serialisation failure or a deadlock."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 8:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        code = getattr(e, "pgcode", None)
        if code in CONTENTION_STATES:
            return code
        todo += [e.__cause__, e.__context__] + [a for a in e.args[:1]
                                                if isinstance(a, BaseException)]
    return None


def contention_error(exc: BaseException, attempts: int) -> BaseException:
    """The sentence after a serialisation failure or deadlock that tries did not get past."""
    from itsmdesk.errors import N_, DatabaseBusyError

    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    error = DatabaseBusyError(
        N_("Other people were changing the same records at the same moment and the database "
           "could not put this change in order ({reason}); nothing was changed, try again."),
        reason=text)
    error.attempts = attempts
    error.__cause__ = exc
    return error


def run_retrying(call: Callable[[], Any]) -> Any:  # noqa: ANN401 - whatever the call returns
    """Run one whole service call (or a CLI command); when PostgreSQL rolls its transaction back
    for a serialisation failure or a deadlock and nothing of the call had committed, run it
    again after a jittered pause, a bounded number of times, then raise a sentence.  A call
    that had committed a transaction of its own before is not run again (half of it is in).
    The call's batch ids and new records' keys are chosen before it (``records.preset_batch``,
    the form's new id), and a rolled-back transaction kept neither its journal rows nor its
    references, so a call run again journals once and draws one reference."""
    import random
    import time

    from itsmdesk.services import records

    if records.current() is not None:  # inside a write: the outermost call retries
        return call()
    attempt = 1
    while True:
        with records.capture() as changes:
            try:
                return call()
            except Exception as exc:
                if not contention_state(exc) or changes.batches:
                    raise
                if attempt >= CONTENTION_ATTEMPTS:
                    raise contention_error(exc, attempt) from exc
        time.sleep(CONTENTION_BACKOFF_S * attempt * random.uniform(0.5, 1.5))
        attempt += 1


def _file_error(exc: BaseException) -> BaseException | None:
    """A file the person named that cannot be used (missing folder, name too long, disk full, a
    NUL in the name): a sentence naming the file and the reason instead of the catch-all."""
    from itsmdesk.errors import N_, ValidationError

    if isinstance(exc, ValueError) and str(exc) in ("embedded null byte",
                                                     "embedded null character"):
        return ValidationError(N_("A file name or address holds a NUL character (code 0); "
                                  "remove it and try again. Nothing was changed."))
    if not isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in (
            "peewee", "psycopg2", "sqlite3"):
        return None
    import errno

    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:  # (a network error is not a file's: left as it is)
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO):
            return None
        return ValidationError(N_("A file could not be read or written: {reason}."),
                               reason=reason)
    name = str(exc.filename)
    shown = name if len(name) <= 120 else name[:100] + "..." + name[-17:]
    return ValidationError(N_("The file {path} cannot be used: {reason}."), path=shown,
                           reason=reason)


# SQLSTATEs with which PostgreSQL refuses a person's login what its grants, row-level security or
# guard triggers do not allow (insufficient_privilege; raise_exception from a guard trigger).
_REFUSED_STATES = {"42501"}


def _refused_by_database(chain: list[BaseException]) -> BaseException | None:
    """PostgreSQL refusing this login something (a shared database's roles): a sentence, not the
    driver's text.  Nothing was written (the statement failed, the transaction rolled back)."""
    from itsmdesk.errors import N_, PermissionDeniedError

    for e in chain:
        code = getattr(e, "pgcode", None)
        if code in _REFUSED_STATES:
            text = (str(e).strip().splitlines() or [type(e).__name__])[0]
            error = PermissionDeniedError(
                N_("The shared database refused this for your account ({reason}); nothing was "
                   "changed. Ask an administrator for the role it needs."), reason=text)
            error.__cause__ = e
            return error
    return None


def connect_thread() -> None:
    """Open this thread's database connection if it is not open yet."""
    from itsmdesk.models.base import db

    database = db.obj
    if database is not None:
        database.connect(reuse_if_open=True)


def open_for_gui(url: str, demo: bool = False) -> DbInfo:
    """Connect, create or upgrade the schema and (``demo``, an empty database) build the small
    demo: what the desktop app does on its writer thread while its window is already shown."""
    _database, info = open_database(url)
    from itsmdesk.models.database import use_low_memory

    use_low_memory()
    if demo:
        from itsmdesk.demo import builder
        from itsmdesk.services.stats import counts

        if counts()["incidents"] == 0:
            builder.generate("small", 42)
    return info


# -- a lost connection ------------------------------------------------------------------------------
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 10.0)


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (1, 2, ...): 0.5, 1, 2, 4, 8, then
    10 s between every further attempt."""
    return BACKOFF_S[min(max(attempt, 1), len(BACKOFF_S)) - 1]


def is_connection_lost(error: BaseException) -> bool:
    """A PostgreSQL connection that is gone (server restarted, backend terminated, network cut):
    worth reconnecting.  SQLite errors never are (a file does not come back by waiting)."""
    from itsmdesk.errors import DatabaseUnavailableError
    from itsmdesk.models.base import db

    if not isinstance(error, DatabaseUnavailableError) or not isinstance(db.obj, pw.PostgresqlDatabase):
        return False
    cause = error.__cause__
    seen = 0
    while cause is not None and seen < 4:  # peewee wraps psycopg2's error
        code = getattr(cause, "pgcode", None)
        if code:
            # the server answered: only "connection exception" (08) and "operator
            # intervention" (57P01 terminated, 57P02/57P03 shutting down / not yet up) mean the
            # connection is gone; a timeout, deadlock or serialisation failure does not
            return code.startswith(("08", "57P"))
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return True  # no answer from the server at all: the link is gone


def reset_thread_connection() -> None:
    """Forget this thread's (dead) connection without talking to the server: peewee's state
    (connection, open transactions) is cleared so the next statement connects afresh."""
    from itsmdesk.models.base import db

    database = db.obj
    if database is None:
        return
    state = database._state
    conn = state.conn
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - it is dead already
            pass
    state.reset()


def reconnect_thread() -> None:
    """Drop this thread's connection and open a new one, proving it answers (raises the
    driver's error when the server is still away)."""
    from itsmdesk.models.base import db

    reset_thread_connection()
    database = db.obj
    database.connect()
    try:
        database.execute_sql("SELECT 1").fetchone()
    except Exception:
        reset_thread_connection()
        raise


def batch_landed(batch) -> bool:  # noqa: ANN001 - a uuid.UUID
    """Did the write with this journal batch id commit?  (Asked after a connection died during
    a write: if it died in COMMIT, only the database knows.)"""
    from itsmdesk.models.journal import JournalEntry

    return JournalEntry.select(JournalEntry.id).where(JournalEntry.batch == batch).exists()


class LandedWrite:
    """What a write returns when its connection died but the write had committed: the first
    record its batch journalled (``id``, ``kind``, ``version``) and the batch."""

    def __init__(self, kind: str, record_id, version: int | None, batch) -> None:  # noqa: ANN001
        self.kind = kind
        self.id = record_id
        self.version = version
        self.batch = batch

    def __repr__(self) -> str:
        return f"LandedWrite({self.kind}, {self.id}, v{self.version})"


def landed_write(batch) -> LandedWrite | None:  # noqa: ANN001
    from itsmdesk.models.journal import JournalEntry

    row = (JournalEntry.select(JournalEntry.record_kind, JournalEntry.record_id)
           .where(JournalEntry.batch == batch).order_by(JournalEntry.id).first())
    if row is None:
        return None
    version = (JournalEntry.select(pw.fn.MAX(JournalEntry.version))
               .where(JournalEntry.batch == batch, JournalEntry.record_kind == row.record_kind,
                      JournalEntry.record_id == row.record_id).scalar())
    return LandedWrite(row.record_kind, row.record_id, version, batch)
