"""The journal cannot be edited afterwards (SQLite side; PostgreSQL: see pg_security).

Two guards on a local SQLite file:

* **triggers** refuse ``UPDATE`` and ``DELETE`` on ``journal`` with a clear error, so no code
  path (nor a person with the ``sqlite3`` shell who does not know better) changes history;
* a **hash chain**: each row carries ``chain`` = sha256(previous row's chain + this row's
  fields), computed where the write funnel and the bulk writer flush journal rows (inside the
  write's transaction, which on SQLite holds the write lock, so rows are chained in id order).
  ``itsmdesk check`` recomputes the chain and names the first row that no longer fits: a row
  edited or removed by hand after the triggers were dropped is detected.

What the chain does not do: it is not keyed, so someone who edits the file *and* recomputes
every later chain value is not caught; nor is the removal of the newest rows (nothing follows
them).  It catches editing the file by hand, which is what it is for; a server that refuses
the edit is PostgreSQL's part (append-only by grants).

A migration that must rewrite journal rows on SQLite calls :func:`remove_triggers` first and
:func:`install` after (which re-chains what changed: a migration is a deliberate rewrite).

On PostgreSQL the ``chain`` column stays NULL: the grants make the journal append-only there,
and chaining would need every writer on every workstation to serialise on the newest journal
row (a global lock on each save), while concurrent transactions commit in an order other than
their ids'.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

import peewee as pw

TABLE = "journal"
# The fields the chain covers, in order (records.JOURNAL_COLUMNS; the id is left out: a removed
# row shows up as the next row's chain not following).
CHAINED = ("record_kind", "record_id", "record_ref", "field", "old", "new", "who_id",
           "who_name", "at", "site", "version", "batch")

REFUSE_UPDATE = "the journal is append-only: its rows cannot be changed"
REFUSE_DELETE = "the journal is append-only: its rows cannot be removed"

_TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON "{TABLE}"
        BEGIN SELECT RAISE(ABORT, '{REFUSE_UPDATE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON "{TABLE}"
        BEGIN SELECT RAISE(ABORT, '{REFUSE_DELETE}'); END""",
)


def _text(value: object) -> str:
    # How SQLite gives a value back (a key as hex text, a time as text, a number as int): the
    # chain compares text, so an int stored in a TEXT column still matches.
    return "\x00" if value is None else str(value)


def link(previous: str, values: Sequence[object]) -> str:
    """The chain value of a row with ``values`` (in :data:`CHAINED` order) after ``previous``."""
    h = hashlib.sha256(previous.encode())
    h.update(b"\x1e" + "\x1f".join(["\x00" if v is None else str(v) for v in values])
             .encode("utf-8", "surrogatepass"))  # (as _text, inline: a sync links 100,000s)
    return h.hexdigest()


def head(database: pw.Database) -> str:
    """The newest row's chain value ('' for an empty journal)."""
    row = database.execute_sql(f'SELECT chain FROM "{TABLE}" ORDER BY id DESC LIMIT 1').fetchone()
    return (row[0] or "") if row else ""


def chain(database: pw.Database, rows: Iterable[Sequence[object]]) -> Iterator[tuple]:
    """``rows`` (driver values in :data:`CHAINED` order) each with its chain value appended.
    Reads the journal's newest chain value when the first row is asked for; must run inside the
    write's transaction."""
    previous: str | None = None
    for row in rows:
        if previous is None:
            previous = head(database)
        previous = link(previous, row)
        yield tuple(row) + (previous,)


def is_sqlite(database: pw.Database) -> bool:
    return isinstance(database, pw.SqliteDatabase)


def install(database: pw.Database) -> None:
    """Add the ``chain`` column, chain the rows already there, and install the refusing
    triggers (SQLite).  Idempotent; PostgreSQL gets the column only."""
    columns = {c.name for c in database.get_columns(TABLE)}
    if "chain" not in columns:
        database.execute_sql(f'ALTER TABLE "{TABLE}" ADD COLUMN chain VARCHAR(64) NULL')
    if not is_sqlite(database):
        return
    remove_triggers(database)
    cols = ", ".join(f'"{c}"' for c in CHAINED)
    previous = ""
    pending: list[tuple[str, int]] = []
    cursor = database.execute_sql(f'SELECT id, {cols}, chain FROM "{TABLE}" ORDER BY id')
    for row in cursor.fetchall():  # (read all first: no updates while the cursor is open)
        previous = link(previous, row[1:-1])
        if row[-1] != previous:
            pending.append((previous, row[0]))
    for start in range(0, len(pending), 5000):
        database.cursor().executemany(f'UPDATE "{TABLE}" SET chain = ? WHERE id = ?',
                                      pending[start:start + 5000])
    for sql in _TRIGGERS:
        database.execute_sql(sql)


def remove_triggers(database: pw.Database) -> None:
    """Take the refusing triggers away (SQLite): only for rebuilding a database from scratch,
    e.g. emptying every table before a replay; :func:`install` puts them back (and chains any
    rows written meanwhile)."""
    if is_sqlite(database):
        for name in ("journal_no_update", "journal_no_delete"):
            database.execute_sql(f"DROP TRIGGER IF EXISTS {name}")


def first_broken(database: pw.Database) -> int | None:
    """The id of the first journal row whose chain value does not follow from the rows before
    it (edited, or a row before it removed), or None when the whole chain holds.  SQLite only."""
    cols = ", ".join(f'"{c}"' for c in CHAINED)
    previous = ""
    cursor = database.execute_sql(f'SELECT id, {cols}, chain FROM "{TABLE}" ORDER BY id')
    while True:
        rows = cursor.fetchmany(5000)
        if not rows:
            return None
        for row in rows:
            previous = link(previous, row[1:-1])
            if row[-1] != previous:
                return row[0]


def triggers_missing(database: pw.Database) -> list[str]:
    """The refusing triggers that are not there (someone dropped them)."""
    have = {r[0] for r in database.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (TABLE,))}
    return [n for n in ("journal_no_update", "journal_no_delete") if n not in have]
