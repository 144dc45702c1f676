"""The write funnel's bulk half: many rows in few statements, journalled in the funnel's format.

:mod:`itsmdesk.services.records` writes one record per call; imports and the large demo write
hundreds of thousands, which per-row service calls cannot do in seconds.  The functions here
write them in batches (``executemany`` on SQLite, ``execute_values`` on PostgreSQL), values
converted per column by the cheapest faithful converter, so what lands in a table is exactly
what the ORM would have written.  They are part of the funnel (tests/test_write_funnel.py):

* every function runs inside :func:`records.atomic` (it opens one when called outside) and
  records what it wrote in the write's :class:`~itsmdesk.services.records.Changes`: per id for
  modest counts, the whole kind (``note_many``) beyond :data:`NOTE_LIMIT` rows;
* the caller journals what it wrote in the funnel's own format, in the same write: a creation
  is one ``records.created_row`` whose payload :func:`wire_maker` builds (the dict
  ``records.wire_row`` gives for the record), an update one row per changed field carrying the
  record's new version, a child row ``TABLE+`` on its parent (:func:`child_row`).  Journal rows
  are plain tuples in ``records.JOURNAL_COLUMNS`` order written by :func:`insert_journal`;
* updates are version-checked (:func:`update_records`): a record someone changed meanwhile is
  reported, and the caller raises the conflict so the whole transaction rolls back.

``itsmdesk.services.replay`` rebuilds a database from those journal rows alone, so a bulk writer
must also store on each record the who/when/version the journal implies: ``created_at`` the
creation row's time (or the snapshot's ``created_at``), ``updated_at``/``updated_by``/``version``
those of the record's last journal row.
"""

from __future__ import annotations

import functools
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import TrackedModel, db
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import records
from itsmdesk.services.context import Actor

F = TypeVar("F", bound=Callable[..., Any])
Row = Sequence[Any]
Tick = Callable[[int], None] | None

NOTE_LIMIT = 5_000  # rows of one kind per call noted id by id; more: the kind as a whole
# records._json without building an encoder per call (the same text: sorted keys, no escapes)
_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


def _in_write(fn: F) -> F:
    """Run a bulk writer inside the current write, or in a write of its own."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if records.current() is not None:
            return fn(*args, **kwargs)
        with records.atomic():
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _write() -> records.Write:
    write = records.current()
    if write is None:  # pragma: no cover - every public writer opens one
        raise RuntimeError("bulk: a write outside records.atomic()")
    return write


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_sqlite() -> bool:
    return isinstance(db.obj, pw.SqliteDatabase)


# -- wire text --------------------------------------------------------------------------------------
def uuid_text(value: Any) -> str | None:
    """A key as the journal writes it (``str(uuid)``), from a UUID or either text form the
    drivers return (32 hex digits on SQLite)."""
    if value is None:
        return None
    if value.__class__ is str:
        if len(value) == 32:
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        return str(uuid.UUID(value)) if len(value) != 36 else value
    return str(value) if isinstance(value, uuid.UUID) else records.to_text(value)


class Keys:
    """:func:`uuid_text`, memoised (the same CIs, classes and teams come up again and again)."""

    def __init__(self) -> None:
        self.cache: dict[Any, str | None] = {}

    def __call__(self, value: Any) -> str | None:
        try:
            return self.cache[value]
        except KeyError:
            text = self.cache[value] = uuid_text(value)
            return text
        except TypeError:
            return records.to_text(value)


def new_keys(count: int) -> list[str]:
    """``count`` new random keys (UUID version 4, as the 32 hex digits both drivers take), in
    ascending order: rows given them in turn extend the primary-key index (and the journal's)
    at its end instead of landing at random places, several times faster on a large insert."""
    raw = os.urandom(16 * count)
    out = []
    for start in range(0, 16 * count, 16):
        key = bytearray(raw[start:start + 16])
        key[6] = key[6] & 0x0F | 0x40  # version 4
        key[8] = key[8] & 0x3F | 0x80  # RFC 4122 variant
        out.append(key.hex())
    out.sort()
    return out


class Texts:
    """``records.to_text``, memoised: imports repeat the same ids, times and codes."""

    def __init__(self) -> None:
        self.cache: dict[tuple[type, Any], str | None] = {}

    def __call__(self, value: Any) -> str | None:
        if value is None or value.__class__ is str:
            return value
        key = (value.__class__, value)
        try:
            return self.cache[key]
        except KeyError:
            text = self.cache[key] = records.to_text(value)
            return text
        except TypeError:  # unhashable (dict/list)
            return records.to_text(value)


def wire_maker(model: type[pw.Model], include_id: bool = False, texts: Texts | None = None
               ) -> Callable[[Mapping[str, Any]], dict[str, str | None]]:
    """A function turning a record's values into the dict ``records.wire_row`` gives for it:
    every field an insert must be told, as wire text.

    ``values`` holds Python values (keys as UUIDs or driver text); a field it leaves out has
    its default.  A field with a computed default (``utcnow``, ``dict``) must be given: the
    value inserted and the value journalled have to be the same one.
    """
    text = texts or Texts()
    tracked = issubclass(model, TrackedModel)
    skip = records.SKIP_JOURNAL_FIELDS if tracked else {"id"} | records.LOCAL_FIELDS
    plan: list[tuple[str, Any, bool, bool]] = []
    for name, model_field in model._meta.fields.items():
        if name in records.LOCAL_FIELDS or (name in skip and not (include_id and name == "id")):
            continue
        target = model_field.rel_field if isinstance(model_field, pw.ForeignKeyField) \
            else model_field
        plan.append((name, model_field.default, callable(model_field.default),
                     isinstance(target, pw.UUIDField)))
    key_text = Keys()

    def make(values: Mapping[str, Any]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name, default, computed, is_key in plan:
            if name in values:
                value = values[name]
            elif computed:
                raise ValueError(f"{model.__name__}.{name}: its default is computed; give it")
            else:
                value = default
            if value is None:
                if computed or default is not None or name == "id":
                    out[name] = None
            elif is_key:
                out[name] = key_text(value)
            elif value.__class__ is str:
                if value or computed or default != "":
                    out[name] = value
            else:
                out[name] = text(value)
        return out

    return make


def fill_defaults(model: type[pw.Model], values: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the computed defaults (``utcnow``, ``dict``...) of the fields ``values`` does not
    give, once, so the row inserted and the row journalled hold the same value (a record's key
    and who/when are the caller's to set)."""
    skip = records.SKIP_JOURNAL_FIELDS if issubclass(model, TrackedModel) else records.LOCAL_FIELDS
    for name, model_field in model._meta.fields.items():
        if name not in values and callable(model_field.default) and name not in skip:
            values[name] = model_field.default()
    return values


def child_row(child_model: type[pw.Model], op: str, parent_id: Any, label: str | None,
              old: Mapping[str, str | None] | None, new: Mapping[str, str | None] | None,
              actor: Actor, at: Any, version: int | None, batch: Any) -> tuple:
    """The journal row of a child row added (``op`` "+"), changed ("~") or removed ("-"),
    journalled on its parent (``old``/``new``: the row's wire dicts, with its ``id``)."""
    parent_model = child_model._meta.fields[child_model.PARENT].rel_model
    return (records.kind_of(parent_model), parent_id, (label or "")[:300] or None,
            child_model._meta.table_name + op, None if old is None else _json(old),
            None if new is None else _json(new), actor.person_id, actor.name, at,
            records.site_of(actor), version, batch)


# -- noting what changed ----------------------------------------------------------------------------
def _as_key(value: Any) -> Any:
    if value.__class__ is str and len(value) in (32, 36):
        try:
            return uuid.UUID(value)
        except ValueError:
            return value
    return value


class _Notes:
    """Ids written by one bulk call, noted in the write's Changes once the call is done."""

    def __init__(self, how: str, kind: str) -> None:
        self.how, self.kind = how, kind
        self.ids: list[Any] | None = []

    def add(self, values: Iterable[Any]) -> None:
        if self.ids is None:
            return
        self.ids.extend(values)
        if len(self.ids) > NOTE_LIMIT:
            self.ids = None

    def commit(self, changes: records.Changes) -> None:
        if self.ids is None:
            changes.note_many(self.kind)
            return
        for value in self.ids:
            if value is not None:
                changes.note(self.how, self.kind, _as_key(value))


def note(how: str, kind: str, ids: Iterable[Any]) -> None:
    """Record ids a bulk writer created/changed/deleted in the current write's Changes."""
    notes = _Notes(how, kind)
    notes.add(ids)
    notes.commit(_write().changes)


# -- inserting ---------------------------------------------------------------------------------------
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


def _convert(chunk: Sequence[Row], converters: list) -> Sequence[Row]:
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


def _field(model: type[pw.Model], name: str) -> pw.Field:
    """A field by its name (``site``) or its column's (``site_id``)."""
    found = model._meta.fields.get(name) or model._meta.columns.get(name)
    if found is None:
        raise KeyError(f"{model.__name__} has no field {name}")
    return found


def _chunks(rows: Iterable[Row], size: int) -> Iterable[list[Row]]:
    if isinstance(rows, Sequence):
        for start in range(0, len(rows), size):
            yield list(rows[start:start + size]) if not isinstance(rows, list) \
                else rows[start:start + size]
        return
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _text_limits(model: type[pw.Model], fields: Sequence[pw.Field]) -> list[tuple[int, str, int]]:
    """(position, name, max length or 0) of the text columns among ``fields``."""
    if model is JournalEntry:  # the journal's own texts are built by us, not typed in
        return []
    return [(i, f.name, getattr(f, "max_length", None) or 0) for i, f in enumerate(fields)
            if isinstance(f, pw.CharField | pw.TextField)]


def _check_texts(model: type[pw.Model], limits: list[tuple[int, str, int]],
                 rows: Iterable[Sequence[Any]]) -> None:
    """What PostgreSQL refuses and SQLite would quietly store (a value longer than its column, a
    NUL), refused on both back ends with the write funnel's sentences, before anything is sent."""
    from itsmdesk.models.database import nul_error

    for row in rows:
        for index, name, limit in limits:
            value = row[index]
            if not isinstance(value, str):
                continue
            if limit and len(value) > limit:
                raise ValidationError(N_("{name} of {kind} is longer than {max} characters "
                                         "({length}); shorten it"), field=name, name=name,
                                      kind=records.kind_of(model), max=limit, length=len(value))
            if "\x00" in value:
                raise nul_error()


@_in_write
def insert_rows(model: type[pw.Model], columns: Sequence[str], rows: Iterable[Row],
                batch: int = 5000, tick: Tick = None, convert: bool = True,
                page_size: int = 1000) -> int:
    """Insert ``rows`` (tuples in ``columns`` order: field or column names) into ``model``'s
    table; returns how many.  ``rows`` may be a generator (it is read ``batch`` rows at a time).

    ``convert=False``: the rows hold the driver's values already (keys as hex text on SQLite,
    times as text...), passed as they are.  The caller journals the rows in the same write;
    they are noted as created in the write's Changes (a child row also as a change of its
    parent).
    """
    fields = [_field(model, c) for c in columns]
    converters = [fast_converter(f) if convert else None for f in fields]
    table = _quote(model._meta.table_name)
    names = ", ".join(_quote(f.column_name) for f in fields)
    notes: list[tuple[_Notes, int]] = []
    if model is not JournalEntry:  # (the journal is not data: nothing to tell the panels)
        names_of = [f.name for f in fields]
        parent = getattr(model, "PARENT", None)
        kind = model._meta.table_name if parent else records.kind_of(model)  # as records notes
        if "id" in names_of:
            notes.append((_Notes("created", kind), names_of.index("id")))
        else:
            _write().changes.note_many(kind)
        if parent and parent in names_of:
            parent_model = model._meta.fields[parent].rel_model
            notes.append((_Notes("changed", records.kind_of(parent_model)),
                          names_of.index(parent)))
    cursor = db.cursor()
    done = 0
    if _is_sqlite():
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(fields))})"

        def run(chunk: Sequence[Row]) -> None:
            cursor.executemany(sql, chunk)
    else:
        from psycopg2.extras import execute_values

        sql = f"INSERT INTO {table} ({names}) VALUES %s"

        def run(chunk: Sequence[Row]) -> None:
            execute_values(cursor, sql, chunk, page_size=page_size)
    limits = _text_limits(model, fields)
    for chunk in _chunks(rows, batch):
        if limits:
            _check_texts(model, limits, chunk)
        for found, index in notes:
            found.add(row[index] for row in chunk)
        run(_convert(chunk, converters))
        done += len(chunk)
        if tick:
            tick(done)
    changes = _write().changes
    for found, _index in notes:
        found.commit(changes)
    return done


@_in_write
def insert_records(model: type[pw.Model], values: Sequence[Mapping[str, Any]],
                   tick: Tick = None) -> int:
    """Insert whole records (dicts of Python values): every column, the defaults filled in for
    the ones not given (a database-kept graph index column is left to the database)."""
    if not values:
        return 0
    given = set().union(*(v.keys() for v in values[:1]))
    columns = [name for name in model._meta.sorted_field_names
               if name not in records.LOCAL_FIELDS or name in given]
    defaults = [(name, model._meta.fields[name].default) for name in columns]
    rows = []
    for record in values:
        row = []
        for name, default in defaults:
            if name in record:
                row.append(record[name])
            else:
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


@_in_write
def insert_journal(rows: Sequence[Row], tick: Tick = None, convert: bool = True) -> int:
    """Write journal rows (tuples in ``records.JOURNAL_COLUMNS`` order) after the journal rows
    the write holds so far, keeping the order changes were made in (replay applies them in
    that order).  ``convert=False``: keys already hex text and times text, as the driver
    stores them."""
    write = _write()
    write.flush()
    if _is_sqlite():  # each row chained to the one before (models/journal_guard.py)
        from itsmdesk.models import journal_guard

        converters = [fast_converter(_field(JournalEntry, c)) if convert else None
                      for c in records.JOURNAL_COLUMNS]
        driver_rows = (row for chunk in _chunks(rows, 5000) for row in _convert(chunk, converters))
        return insert_rows(JournalEntry, records.JOURNAL_COLUMNS + ("chain",),
                           journal_guard.chain(db.obj, driver_rows), tick=tick, convert=False)
    return insert_rows(JournalEntry, records.JOURNAL_COLUMNS, rows, tick=tick, convert=convert)


# -- references ---------------------------------------------------------------------------------------
@_in_write
def reserve_refs(prefix: str, count: int, site: str = "") -> list[str]:
    """``count`` consecutive references (``INC-000124`` ...), bumping the counter once."""
    if count <= 0:
        return []
    first = records.reserve_refs(prefix, count, site)
    key = f"{prefix}-{site}" if site else prefix
    return [f"{key}-{n:06d}" for n in range(first, first + count)]


# -- updating -----------------------------------------------------------------------------------------
@_in_write
def update_records(model: type[TrackedModel], updates: Sequence[tuple[Any, int, Mapping[str, Any]]],
                   tick: Tick = None) -> list[Any]:
    """Version-checked UPDATEs: each ``(id, version it was read at, values)`` is written only
    if the record is still at that version (``values`` carry its new ``version`` and who/when).
    Returns the ids (as given) of records someone changed meanwhile; the caller
    raises the conflict, rolling the whole write back.  Records with the same set of changed
    fields share one ``executemany``.
    """
    groups: dict[tuple[str, ...], list[tuple[Any, int, Mapping[str, Any]]]] = {}
    for update in updates:
        groups.setdefault(tuple(sorted(update[2])), []).append(update)
    mark = db.obj.param
    table = _quote(model._meta.table_name)
    id_value = model._meta.fields["id"].db_value
    cursor = db.cursor()
    moved: list[Any] = []
    done = 0
    for names, group in groups.items():
        fields = [model._meta.fields[n] for n in names]
        limits = _text_limits(model, fields)
        if limits:
            _check_texts(model, limits, ([values[f.name] for f in fields]
                                         for _rid, _v, values in group))
        sets = ", ".join(f"{_quote(f.column_name)} = {mark}" for f in fields)
        sql = f"UPDATE {table} SET {sets} WHERE id = {mark} AND version = {mark}"
        params = [tuple(f.db_value(values[f.name]) for f in fields) + (id_value(rid), version)
                  for rid, version, values in group]
        cursor.executemany(sql, params)
        if cursor.rowcount != len(group):
            given = {_as_key(rid): rid for rid, _v, _values in group}
            wanted = {_as_key(rid): values.get("version") for rid, _v, values in group}
            ids = list(wanted)
            missed = []
            for start in range(0, len(ids), 500):
                query = (model.select(model.id, model.version)
                         .where(model.id.in_(ids[start:start + 500])).tuples())
                missed += [given[rid] for rid, version in query if version != wanted.get(rid)]
            # another writer may have reached the very version we meant to write
            moved += missed or list(given.values())
        done += len(group)
        if tick:
            tick(done)
    note("changed", records.kind_of(model), (u[0] for u in updates))
    return moved
