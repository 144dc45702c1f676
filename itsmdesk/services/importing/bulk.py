"""Bulk writes for the mapped import: rows straight through the DB-API cursor, in one transaction.

Per-row service calls cannot load 25,000 incidents and 700,000 journal rows in seconds, so the
importer validates everything first and then inserts in batches: ``executemany`` on SQLite,
``execute_values`` on PostgreSQL.  Values go through each peewee field's ``db_value`` so what
lands in the table is exactly what the ORM would have written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import peewee as pw

from itsmdesk.models.base import RefCounter, db
from itsmdesk.models.journal import JournalEntry

JOURNAL_COLUMNS = ("record_kind", "record_id", "record_ref", "field", "old", "new", "who_id",
                   "who_name", "at", "site", "version", "batch")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_sqlite() -> bool:
    return isinstance(db.obj, pw.SqliteDatabase)


def insert_rows(model: type[pw.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]],
                batch: int = 5000, tick: Callable[[int], None] | None = None,
                convert: bool = True) -> int:
    """Insert ``rows`` (tuples in ``columns`` order, Python values) into ``model``'s table.

    ``convert=False``: the rows hold database values already (tuples, passed as they are).
    """
    if not rows:
        return 0
    fields = [model._meta.fields[c] for c in columns]
    converters = [fast_converter(f) if convert else None for f in fields]
    table = _quote(model._meta.table_name)
    names = ", ".join(_quote(f.column_name) for f in fields)
    cursor = db.cursor()
    done = 0
    if _is_sqlite():
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(fields))})"
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            cursor.executemany(sql, _convert(chunk, converters))
            done += len(chunk)
            if tick:
                tick(done)
    else:
        from psycopg2.extras import execute_values

        sql = f"INSERT INTO {table} ({names}) VALUES %s"
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            execute_values(cursor, sql, _convert(chunk, converters), page_size=1000)
            done += len(chunk)
            if tick:
                tick(done)
    return done


def _identity(value: Any) -> Any:
    return value


def fast_converter(f: pw.Field) -> Callable[[Any], Any] | None:
    """``f.db_value`` where it matters; None where the driver takes the Python value as is."""
    target = f.rel_field if isinstance(f, pw.ForeignKeyField) else f
    if isinstance(target, pw.UUIDField):
        slow = f.db_value

        def uuid_value(value: Any) -> Any:
            if value is None or value.__class__ is str:
                return value
            return value.hex if value.__class__ is uuid.UUID else slow(value)

        return uuid_value
    plain = (pw.CharField, pw.TextField, pw.IntegerField, pw.BigIntegerField, pw.FloatField,
             pw.DateTimeField, pw.DateField, pw.BooleanField, pw.AutoField)
    if type(target) in plain or (isinstance(target, plain) and type(target).db_value in
                                 (pw.Field.db_value, pw._StringField.db_value,
                                  pw.IntegerField.db_value, pw.DateTimeField.db_value)):
        return None
    return f.db_value


def _convert(chunk: Sequence[Sequence[Any]], converters: list) -> Sequence[Sequence[Any]]:
    if all(c is None for c in converters):
        return chunk
    active = [(i, c) for i, c in enumerate(converters) if c is not None]
    out = []
    for row in chunk:
        row = list(row)
        for i, conv in active:
            row[i] = conv(row[i])
        out.append(tuple(row))
    return out


def insert_records(model: type[pw.Model], values: Sequence[dict[str, Any]],
                   tick: Callable[[int], None] | None = None) -> int:
    """Insert whole records: every model column, defaults filled in for the ones not given."""
    if not values:
        return 0
    columns = [name for name in model._meta.sorted_field_names]
    defaults: dict[str, Any] = {}
    for name in columns:
        f = model._meta.fields[name]
        defaults[name] = f.default
    rows = []
    for record in values:
        row = []
        for name in columns:
            if name in record:
                row.append(record[name])
            else:
                default = defaults[name]
                row.append(default() if callable(default) else default)
        rows.append(row)
    batch = max(1, min(5000, 30000 // len(columns)))
    deferred = _defer_fts_trigger(model) if _is_sqlite() and len(rows) >= 1000 else None
    if deferred is None:
        return insert_rows(model, columns, rows, batch=batch, tick=tick)
    trigger_sql, fill_sql, first_rowid = deferred
    try:
        done = insert_rows(model, columns, rows, batch=batch, tick=tick)
        db.execute_sql(fill_sql, (first_rowid,))
    finally:
        db.execute_sql(trigger_sql)
    return done


_TRIGGER_BODY = re.compile(r"BEGIN\s+INSERT\s+INTO\s+(\w+)\s*\(([^)]*)\)\s*VALUES\s*\(([^)]*)\)\s*;"
                           r"\s*END\s*$", re.IGNORECASE | re.DOTALL)


def _defer_fts_trigger(model: type[pw.Model]) -> tuple[str, str, int] | None:
    """SQLite: drop the table's full-text AFTER INSERT trigger for a bulk insert.

    One ``INSERT INTO x_fts SELECT ...`` afterwards indexes the new rows some 30 times faster
    than the trigger firing per row.  Returns (trigger SQL to recreate it, the fill statement,
    first new rowid), or None when there is no such trigger or its shape is not the expected
    ``INSERT INTO fts(cols) VALUES (new.cols)``.  Runs inside the caller's transaction, so a
    rollback restores the trigger too.
    """
    table = model._meta.table_name
    row = db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                         "tbl_name = ? AND name = ?", (table, f"{table}_fts_ai")).fetchone()
    if row is None:
        return None
    name, trigger_sql = row
    match = _TRIGGER_BODY.search(trigger_sql)
    if match is None:
        return None
    fts, cols, values = match.groups()
    sources = []
    for value in (v.strip() for v in values.split(",")):
        if not value.lower().startswith("new."):
            return None
        sources.append(_quote(value[4:]))
    first = db.execute_sql(f"SELECT coalesce(max(rowid), 0) + 1 FROM {_quote(table)}").fetchone()[0]
    fill = (f"INSERT INTO {_quote(fts)} ({cols}) SELECT {', '.join(sources)} "
            f"FROM {_quote(table)} WHERE rowid >= ?")
    db.execute_sql(f"DROP TRIGGER {_quote(name)}")
    return trigger_sql, fill, first


def insert_journal(rows: Sequence[tuple], tick: Callable[[int], None] | None = None) -> int:
    """Journal rows in ``JOURNAL_COLUMNS`` order, ids already as hex text (no conversion)."""
    return insert_rows(JournalEntry, JOURNAL_COLUMNS, rows, tick=tick, convert=False)


def allocate_refs(prefix: str, count: int, site: str = "") -> list[str]:
    """``count`` consecutive references, bumping the counter once (what ``records.next_ref``
    does for one).  Runs inside the caller's transaction."""
    if count <= 0:
        return []
    key = f"{prefix}-{site}" if site else prefix
    updated = RefCounter.update(value=RefCounter.value + count).where(RefCounter.prefix == key).execute()
    if not updated:
        RefCounter.insert(prefix=key, value=count).on_conflict(
            conflict_target=[RefCounter.prefix],
            update={RefCounter.value: RefCounter.value + count}).execute()
    last = RefCounter.get_by_id(key).value
    return [f"{key}-{n:06d}" for n in range(last - count + 1, last + 1)]


def update_record(model: type[pw.Model], record_id: uuid.UUID, version: int,
                  values: dict[str, Any]) -> bool:
    """Version-checked UPDATE; False when someone changed the row meanwhile."""
    query = model.update(**values).where((model.id == record_id) & (model.version == version))
    return query.execute() == 1
