"""Rebuild data from the journal: the contract sync stands on.

Every write goes through :mod:`itsmdesk.services.records`, which journals it field by field (see
the table in its docstring).  Applying those rows in order to a database that has the schema but
none of the data rebuilds every record, child row and setting with the same keys, values,
versions and who/when: ``tests/test_replay.py`` proves it on the small demo, on SQLite and on
PostgreSQL.  A replica applies the rows it pulls from the hub the same way.

What replay does not rebuild: secret fields (``records.SECRET_FIELDS``: a local password hash,
journalled only as "(set)"; a replica's people sign in at their own database), the CMDB graph index (``gid`` columns: the database numbers them
itself), the full-text indexes (kept by triggers) and reference counters, which are set after
the rows to the highest reference each prefix reached.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.models import ALL_MODELS
from itsmdesk.models.base import BaseModel, RefCounter, Setting, TrackedModel, db
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import records

JournalRow = tuple  # in records.JOURNAL_COLUMNS order, as read by read_journal
_REF = re.compile(r"^(.*)-(\d+)$")


@dataclass
class ReplayReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    children: int = 0
    settings: int = 0
    skipped: list[str] = field(default_factory=list)  # rows no model could take (kind, field)


def _models_by_kind() -> dict[str, type[pw.Model]]:
    out: dict[str, type[pw.Model]] = {}
    for model in ALL_MODELS:
        if issubclass(model, BaseModel) and not model.PARENT and model is not BaseModel:
            out[records.kind_of(model)] = model
    return out


def _children_by_table() -> dict[str, type[BaseModel]]:
    return {m._meta.table_name: m for m in ALL_MODELS
            if issubclass(m, BaseModel) and m.PARENT}


def read_journal(database: pw.Database, after_id: int = 0,
                 limit: int | None = None, also: Sequence[int] = ()) -> list[JournalRow]:
    """Journal rows of ``database`` (not necessarily the bound one) after ``after_id`` (and those
    with the ids ``also``), in order, as tuples (id first, then :data:`records.JOURNAL_COLUMNS`),
    typed as peewee reads them."""
    cols = ("id",) + records.JOURNAL_COLUMNS
    where = f"id > {database.param}"
    params: list[int] = [after_id]
    if also:
        where += f" OR id IN ({', '.join([database.param] * len(also))})"
        params += list(also)
    sql = (f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "journal" '
           f'WHERE {where} ORDER BY id')
    if limit:
        sql += f" LIMIT {int(limit)}"
    if isinstance(database, pw.PostgresqlDatabase):
        # (psycopg2 types every column; keys with a lean caster: a sync reads hundreds of
        # thousands of them, and psycopg2's own made them half the time of the read)
        import psycopg2.extensions as pgx

        cursor = database.cursor()
        pgx.register_type(_pg_uuid_caster(), cursor)
        cursor.execute(sql, tuple(params))
        return cursor.fetchall()
    raw = database.execute_sql(sql, tuple(params)).fetchall()
    convert = [_journal_converter(JournalEntry._meta.fields[c]) for c in cols]
    return [tuple(v if v is None or f is None else f(v) for f, v in zip(convert, row, strict=True))
            for row in raw]


def _pg_uuid_caster() -> Any:
    """A psycopg2 caster of ``uuid`` columns that makes each distinct key once per read: a
    sync reads hundreds of thousands of rows naming a few thousand records and batches, and
    making a ``uuid.UUID`` per value was half the time of the read."""
    import psycopg2.extensions as pgx

    made: dict[str, uuid.UUID] = {}

    def cast(text: str | None, _cursor: Any) -> uuid.UUID | None:
        if text is None:
            return None
        key = made.get(text)
        if key is None:
            key = made[text] = uuid.UUID(text)
        return key

    return pgx.new_type((2950,), "ITSMDESK_UUID", cast)


def _journal_converter(model_field: pw.Field) -> Callable[[Any], Any] | None:
    """How a journal column read from SQLite becomes its Python value, fast: a sync reads
    every value of a hundred thousand rows, and peewee's general converters (the date tried
    against each format in turn) were a third of the time."""
    if isinstance(model_field, pw.UUIDField):  # (each key made once per read)
        made: dict[Any, uuid.UUID] = {}

        def key(value: Any) -> uuid.UUID:
            found = made.get(value)
            if found is None:
                found = made[value] = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
            return found
        return key
    if isinstance(model_field, pw.DateTimeField):
        def when(value: Any) -> Any:
            if isinstance(value, str):
                try:
                    return dt.datetime.fromisoformat(value)
                except ValueError:
                    pass
            return model_field.python_value(value)
        return when
    if isinstance(model_field, (pw.CharField, pw.TextField, pw.IntegerField)):
        return None  # (SQLite returns these as they are)
    return model_field.python_value


def _decode(model: type[pw.Model], wire: dict[str, str | None]) -> dict[str, Any]:
    values = {}
    for name, text in wire.items():
        model_field = model._meta.fields.get(name)
        if model_field is None or name in records.LOCAL_FIELDS or name in records.SECRET_FIELDS:
            continue
        values[name] = records.from_text(model_field, text)
    return values


def _stamp(model: type[pw.Model], values: dict[str, Any], version: int | None, at: dt.datetime,
           who: uuid.UUID | None) -> None:
    if issubclass(model, TrackedModel):
        values.update(version=version if version is not None else 1, updated_at=at,
                      updated_by=who)


class _Updates:
    """Field rows applied as few statements as can be.  Between two rows of another kind (a
    record created or deleted, a child row, a setting) plain field updates commute across
    records, so they are held per record, a later value of a field replacing the earlier one,
    and sent when the next other row comes (or :meth:`flush`): one UPDATE per record however
    many of its fields and rows there were, and the records of one table and set of columns
    in one statement -- SQLite ``executemany``; PostgreSQL ``UPDATE ... FROM (VALUES ...)``.
    A sync applies tens of thousands of rows, mostly to the same records again and again;
    peewee building a statement per row, and the server planning each, cost far more than
    the changes.  A column whose trigger judges every step (a change's status: draft ->
    submitted -> approved is allowed where draft -> approved is not) is never folded: the
    earlier step is sent first."""

    LIMIT = 20000  # records held before they are sent anyway
    PAGE = 1000  # records per PostgreSQL statement
    STEPWISE = frozenset({("change", "status")})
    STEPWISE_TABLES = frozenset(table for table, _column in STEPWISE)

    def __init__(self) -> None:
        self.pending: dict[tuple[type[pw.Model], Any], dict[str, Any]] = {}
        self.types: dict[type[pw.Model], dict[str, str]] = {}

    def add(self, model: type[pw.Model], record_id: Any, values: dict[str, Any]) -> None:
        key = (model, record_id)
        held = self.pending.get(key)
        if held is not None and model._meta.table_name in self.STEPWISE_TABLES and any(
                (model._meta.table_name, n) in self.STEPWISE for n in values if n in held):
            self.flush()
            held = None
        if held is None:
            if len(self.pending) >= self.LIMIT:
                self.flush()
            self.pending[key] = dict(values)
        else:
            held.update(values)

    def flush(self) -> None:
        if not self.pending:
            return
        statements: dict[tuple[type[pw.Model], tuple[str, ...]], list[tuple]] = {}
        for (model, record_id), values in self.pending.items():
            names = tuple(sorted(values))
            fields = model._meta.fields
            statements.setdefault((model, names), []).append(
                (model._meta.primary_key.db_value(record_id),
                 *(fields[n].db_value(values[n]) for n in names)))
        self.pending = {}
        database = db.obj
        cursor = database.cursor()
        pg = isinstance(database, pw.PostgresqlDatabase)
        for (model, names), params in statements.items():
            table = model._meta.table_name
            pk = model._meta.primary_key.column_name
            columns = [model._meta.fields[n].column_name for n in names]
            if pg:
                self._send_pg(cursor, model, table, pk, columns, params)
                continue
            sets = ", ".join(f'"{c}" = ?' for c in columns)
            cursor.executemany(f'UPDATE "{table}" SET {sets} WHERE "{pk}" = ?',
                               [(*p[1:], p[0]) for p in params])

    def _send_pg(self, cursor: Any, model: type[pw.Model], table: str, pk: str,
                 columns: list[str], params: list[tuple]) -> None:
        from psycopg2.extras import execute_values

        types = self.types.get(model)
        if types is None:  # (the columns' types, so the VALUES list is typed like the table)
            cursor.execute("SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
                           "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                           (f'"{table}"',))
            types = self.types[model] = dict(cursor.fetchall())
        names = [pk, *columns]
        template = "(" + ", ".join(f"%s::{types[c]}" for c in names) + ")"
        sets = ", ".join(f'"{c}" = v."{c}"' for c in columns)
        alias = ", ".join(f'"{c}"' for c in names)
        execute_values(cursor,
                       f'UPDATE "{table}" AS t SET {sets} FROM (VALUES %s) AS v({alias}) '
                       f'WHERE t."{pk}" = v."{pk}"', params, template=template,
                       page_size=self.PAGE)


def apply(rows: Iterable[JournalRow], keep_journal: bool | Sequence[bool] = True,
          progress: Callable[[int], None] | None = None,
          skip_orphans: bool = False) -> ReplayReport:
    """Apply journal rows (as :func:`read_journal` returns them) to the bound database, in one
    transaction; with ``keep_journal`` the rows are appended to its journal as they are (a
    sequence of flags: those rows whose flag is set, as a pull keeps the hub's rows but not the
    echoes of its own).
    ``skip_orphans``: a child row added to a record that is not here is skipped (sync: a replica
    that deleted the record gets it back, children and all, from the hub's conflict note)."""
    kinds = _models_by_kind()
    children = _children_by_table()
    report = ReplayReport()
    refs: dict[str, int] = {}
    journal: list[tuple] = []
    from itsmdesk.models.write_lock import write_transaction

    updates = _Updates()
    with write_transaction(db.obj):
        for n, row in enumerate(rows, 1):
            (_id, kind, record_id, ref, name, old, new, who_id, _who, at, _site, version,
             _batch) = row
            report.rows += 1
            if keep_journal is True or (keep_journal is not False and keep_journal[n - 1]):
                journal.append(row[1:])
            if name.startswith("!"):
                continue
            model = kinds.get(kind)
            field_row = model is not None and (name in records.SECRET_FIELDS or (
                name in model._meta.fields and name != records.CREATED))
            if not field_row:
                updates.flush()  # (anything else runs in order after the updates before it)
            if kind == "setting":
                _apply_setting(ref, new, version)
                report.settings += 1
                continue
            if model is None:
                report.skipped.append(f"{kind} {name}")
                continue
            if name == records.CREATED:
                values = _decode(model, json.loads(new))
                values["id"] = record_id
                if issubclass(model, TrackedModel):
                    values.setdefault("created_at", at)
                    values["created_by"] = who_id
                _stamp(model, values, version, at, who_id)
                model.insert(**values).execute()
                report.created += 1
                if "ref" in values and values["ref"]:
                    match = _REF.match(values["ref"])
                    if match:
                        prefix, number = match.group(1), int(match.group(2))
                        refs[prefix] = max(refs.get(prefix, 0), number)
            elif name == records.DELETED:
                model.delete().where(model.id == record_id).execute()
                report.deleted += 1
            elif name[-1:] in "+~-" and name[:-1] in children:
                if skip_orphans and name[-1] == "+" and not (
                        model.select(model.id).where(model.id == record_id).exists()):
                    report.skipped.append(f"{kind} {name}")
                    continue
                _apply_child(children[name[:-1]], name[-1], old, new)
                parent_values: dict[str, Any] = {}
                _stamp(model, parent_values, version, at, who_id)
                if parent_values:
                    updates.add(model, record_id, parent_values)
                report.children += 1
            elif name in records.SECRET_FIELDS:  # never in the journal: only its version
                values = {}
                _stamp(model, values, version, at, who_id)
                if values:
                    updates.add(model, record_id, values)
                report.updated += 1
            elif name in model._meta.fields:
                values = {name: records.from_text(model._meta.fields[name], new)}
                _stamp(model, values, version, at, who_id)
                updates.add(model, record_id, values)
                report.updated += 1
            else:
                report.skipped.append(f"{kind} {name}")
            if progress and n % 1000 == 0:
                progress(n)
        updates.flush()
        for prefix, value in refs.items():
            (RefCounter.insert(prefix=prefix, value=value)
             .on_conflict(conflict_target=[RefCounter.prefix],
                          update={RefCounter.value: pw.fn.MAX(RefCounter.value, value)
                                  if isinstance(db.obj, pw.SqliteDatabase)
                                  else pw.fn.GREATEST(RefCounter.value, value)})
             .execute())
        if journal:
            records.insert_journal_rows(journal)
    return report


def _apply_child(model: type[BaseModel], op: str, old: str | None, new: str | None) -> None:
    if op == "+":
        model.insert(**_decode(model, json.loads(new))).execute()
        return
    data = json.loads(old if op == "-" else new)
    child_id = uuid.UUID(data["id"])
    if op == "-":
        model.delete().where(model.id == child_id).execute()
    else:
        values = _decode(model, {k: v for k, v in data.items() if k != "id"})
        if values:
            model.update(**values).where(model.id == child_id).execute()


def _apply_setting(key: str, new: str | None, version: int | None) -> None:
    # records.to_text journals a dict, list or number as JSON but a string as it is (the mail
    # settings: a host name, a login): text that is not JSON is that string
    try:
        value = None if new is None else json.loads(new)
    except ValueError:
        value = new
    (Setting.insert(key=key, value=value, version=version or 1)
     .on_conflict(conflict_target=[Setting.key],
                  update={Setting.value: value, Setting.version: version or 1})
     .execute())


def table_dump(models: Sequence[type[pw.Model]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of every data table (keys sorted), for comparing two databases: what replay
    must reproduce.  Leaves out the journal, the schema version and the graph index."""
    out: dict[str, list[dict[str, Any]]] = {}
    for model in models or ALL_MODELS:
        if model in (JournalEntry,) or model._meta.table_name == "schema_info":
            continue
        names = [n for n in model._meta.sorted_field_names
                 if n not in records.LOCAL_FIELDS and n not in records.SECRET_FIELDS]
        rows = []
        for row in model.select().order_by(*model._meta.get_primary_keys()).iterator():
            rows.append({n: records.to_text(records.field_value(row, n)) for n in names})
        out[model._meta.table_name] = rows
    return out
