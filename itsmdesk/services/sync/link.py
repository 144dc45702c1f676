"""Two databases at once: the replica and the hub.

The models are bound to one DatabaseProxy; sync works on both sides in turn by pointing the
proxy at one of them for a while (:func:`bound`).  That is process-wide, so a sync runs alone in
its process (the CLI); a GUI action will run it on its own worker (not built yet).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import peewee as pw

from itsmdesk.errors import N_, DatabaseUnavailableError, SchemaTooNewError, ValidationError
from itsmdesk.models.base import SchemaInfo, db
from itsmdesk.models.database import DbInfo, describe_failure, make_database, parse_url
from itsmdesk.models.migrations import LATEST_VERSION, current_version


@contextlib.contextmanager
def bound(database: pw.Database, site: str | None = None) -> Iterator[pw.Database]:
    """Point the models at ``database`` inside the block, then back where they were; with
    ``site``, work as a workstation of that site meanwhile (its references, its journal rows'
    site)."""
    from itsmdesk.services.context import current_site, set_site

    saved, saved_site = db.obj, current_site()
    db.initialize(database)
    if site is not None:
        set_site(site)
    try:
        yield database
    finally:
        db.initialize(saved)
        if site is not None:
            set_site(saved_site)


def open_unbound(url: str) -> tuple[pw.Database, DbInfo]:
    """Connect to ``url`` without binding the models to it and without touching its schema
    (the hub is never upgraded by a replica).  An SQLite file must exist."""
    info = parse_url(url)
    if info.backend == "sqlite" and (info.path is None or not info.path.exists()):
        raise DatabaseUnavailableError(N_("There is no database at {path}."),
                                       path=str(info.path))
    database = make_database(info)
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1").fetchone()
    except Exception as exc:  # noqa: BLE001 - the driver's own error classes
        try:
            database.close()
        except Exception:  # noqa: BLE001
            pass
        raise describe_failure(info, exc) from None
    return database, info


def schema_of(database: pw.Database, where: str) -> int:
    """The schema version of ``database``; refuses a database that has none or is newer than
    this program."""
    with database.bind_ctx([SchemaInfo], False, False):  # (not the bound database's)
        version = current_version(database)
    if version is None:
        raise ValidationError(N_("{where} is not an itsmdesk database."), where=where)
    if version > LATEST_VERSION:
        raise SchemaTooNewError(
            N_("{where} has schema version {found}, newer than this itsmdesk understands "
               "({ours}); upgrade itsmdesk. Nothing was changed."),
            where=where, found=version, ours=LATEST_VERSION)
    return version


def is_sqlite(database: pw.Database) -> bool:
    return isinstance(database, pw.SqliteDatabase)


def write_transaction(database: pw.Database):  # noqa: ANN201 - a peewee transaction
    """A write transaction that takes SQLite's write lock at once (as the write funnel does:
    retried when busy, the holder named)."""
    from itsmdesk.models.write_lock import write_transaction as locked

    return locked(database)
