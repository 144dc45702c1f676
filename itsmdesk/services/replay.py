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
    fields = [JournalEntry._meta.fields[c] for c in cols]
    out = []
    for raw in database.execute_sql(sql, tuple(params)).fetchall():
        out.append(tuple(f.python_value(v) for f, v in zip(fields, raw, strict=True)))
    return out


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
    """Field rows applied as few statements as can be: consecutive rows of one record become one
    UPDATE (its SQL built once per table and set of columns), and runs of UPDATEs are sent
    together (SQLite ``executemany``; PostgreSQL several statements per round trip).  A sync
    applies tens of thousands of rows; peewee building each statement, and a round trip each,
    cost more than the database running them.  Anything else applied in between waits for
    :meth:`flush`, so rows still take effect in their order."""

    PAGE = 200  # statements per round trip

    def __init__(self) -> None:
        self.key: tuple[type[pw.Model], Any] | None = None
        self.values: dict[str, Any] = {}
        self.sql: dict[tuple[type[pw.Model], tuple[str, ...]], str] = {}
        self.queued: list[tuple[str, tuple]] = []

    def add(self, model: type[pw.Model], record_id: Any, values: dict[str, Any]) -> None:
        if (model, record_id) != self.key:
            self._close_record()
            self.key = (model, record_id)
        self.values.update(values)

    def _close_record(self) -> None:
        if self.key is None:
            return
        model, record_id = self.key
        names = tuple(self.values)
        sql = self.sql.get((model, names))
        if sql is None:
            param = db.obj.param
            sets = ", ".join(f'"{model._meta.fields[n].column_name}" = {param}' for n in names)
            sql = self.sql[(model, names)] = (
                f'UPDATE "{model._meta.table_name}" SET {sets} '
                f'WHERE "{model._meta.primary_key.column_name}" = {param}')
        params = tuple(model._meta.fields[n].db_value(self.values[n]) for n in names)
        self.queued.append((sql, (*params, model._meta.primary_key.db_value(record_id))))
        self.key, self.values = None, {}
        if len(self.queued) >= self.PAGE:
            self._send()

    def _send(self) -> None:
        if not self.queued:
            return
        database = db.obj
        cursor = database.cursor()
        if isinstance(database, pw.PostgresqlDatabase):
            for start in range(0, len(self.queued), self.PAGE):
                page = self.queued[start:start + self.PAGE]
                cursor.execute(";".join(cursor.mogrify(sql, params).decode()
                                        for sql, params in page))
        else:
            start = 0
            while start < len(self.queued):  # runs of one statement: executemany
                sql = self.queued[start][0]
                end = start
                while end < len(self.queued) and self.queued[end][0] == sql:
                    end += 1
                cursor.executemany(sql, [params for _sql, params in self.queued[start:end]])
                start = end
        self.queued = []

    def flush(self) -> None:
        self._close_record()
        self._send()


def apply(rows: Iterable[JournalRow], keep_journal: bool = True,
          progress: Callable[[int], None] | None = None,
          skip_orphans: bool = False) -> ReplayReport:
    """Apply journal rows (as :func:`read_journal` returns them) to the bound database, in one
    transaction; with ``keep_journal`` the rows are appended to its journal as they are.
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
            if keep_journal:
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
