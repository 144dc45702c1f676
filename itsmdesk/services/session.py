"""Opening a database for use: connect, then create or upgrade its schema."""

from __future__ import annotations

from collections.abc import Callable

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
    chain = [exc] + ([exc.__cause__] if exc.__cause__ else []) + ([exc.__context__] if exc.__context__ else [])
    names = {type(e).__name__ for e in chain}
    modules = {type(e).__module__.split(".")[0] for e in chain}
    if not names & {"OperationalError", "InterfaceError"} or not modules & {"peewee", "psycopg2", "sqlite3"}:
        return exc
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "locked" in text.lower() or "busy" in text.lower():
        return DatabaseBusyError(N_("The database is busy with another writer ({reason}); nothing "
                                    "was saved, try again."), reason=text)
    return DatabaseUnavailableError(N_("The database cannot be reached ({reason})."), reason=text)


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
