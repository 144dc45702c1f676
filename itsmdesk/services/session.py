"""Opening a database for use: connect, then create or upgrade its schema."""

from __future__ import annotations

from collections.abc import Callable

import peewee as pw

from itsmdesk.models.database import DbInfo, connect
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
