"""External keys (the id a record has in the system it was imported from) are unique per kind.

Schema 12 guards this with a partial unique index per table (``WHERE external_key IS NOT
NULL``).  Before that index existed, two imports of the same file running at once could create
every record twice; this module

* resolves such duplicates when the database is upgraded (:func:`resolve_duplicates`, the data
  step of migration 12): the oldest record keeps its key, each later one is renamed to
  ``KEY#dup-N`` through the write funnel's bulk half, so the renaming is journalled and
  version-checked like any edit;
* turns the unique index refusing a write into a sentence (:func:`refuse_taken`,
  :func:`violation_error`) instead of a driver's IntegrityError;
* finds what ``itsmdesk check`` reports (:func:`problems`): duplicates (a database whose index is
  missing), renamed duplicates still waiting for a person, indexes missing.

The migration lives in ``models/`` which may not import services, so this module registers its
data step with :data:`itsmdesk.models.migrations.DATA_STEPS` when it is imported (services'
``__init__`` imports it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ConflictError, ValidationError
from itsmdesk.models import ALL_MODELS, TrackedModel, migrations
from itsmdesk.services import bulk, records
from itsmdesk.services.context import SYSTEM

DUP_MARK = "#dup-"
KEY_LENGTH = 200  # the external_key columns' max_length


def keyed_models() -> list[type[TrackedModel]]:
    """Every model with an ``external_key`` column (incident, change, CI, article, person,
    problem, known error, release)."""
    return [m for m in ALL_MODELS if "external_key" in m._meta.fields]


def _label_field(model: type[pw.Model]) -> pw.Field:
    for name in ("ref", "name", "title"):
        if name in model._meta.fields:
            return model._meta.fields[name]
    return model._meta.fields["id"]


def _dup_key(key: str, n: int) -> str:
    suffix = f"{DUP_MARK}{n}"
    return key[:KEY_LENGTH - len(suffix)] + suffix


# -- the data step of migration 12 -----------------------------------------------------------------
def duplicate_groups(model: type[pw.Model]) -> list[str]:
    """The external keys more than one record of ``model`` holds."""
    key = model.external_key
    return [k for (k,) in model.select(key).where(key.is_null(False)).group_by(key)
            .having(pw.fn.COUNT(model.id) > 1).tuples()]


def resolve_duplicates(database: pw.Database | None = None) -> dict[str, int]:
    """Rename the later holders of a duplicated external key to ``KEY#dup-N``, oldest first
    keeping it; journalled (bulk funnel), in the caller's transaction.  Returns the number
    renamed per table.  Reads only the columns it needs, so it works on a database whose later
    migrations have not run yet."""
    renamed: dict[str, int] = {}
    with records.atomic() as write:
        for model in keyed_models():
            groups = duplicate_groups(model)
            if not groups:
                continue
            label = _label_field(model)
            updates: list[tuple[Any, int, Mapping[str, Any]]] = []
            taken: set[str] = set()
            for start in range(0, len(groups), 500):
                chunk = groups[start:start + 500]
                rows = (model.select(model.id, model.version, model.external_key, label)
                        .where(model.external_key.in_(chunk))
                        .order_by(model.external_key, model.created_at, label, model.id)
                        .tuples())  # (oldest first; the same second: the lower reference)
                seen: dict[str, int] = {}
                for rid, version, key, name in rows:
                    n = seen.get(key, 0)
                    seen[key] = n + 1
                    if n == 0:
                        continue  # the oldest keeps its key
                    new = _dup_key(key, n)
                    while new in taken or _exists(model, new):
                        n += 1
                        new = _dup_key(key, n)
                    taken.add(new)
                    updates.append((rid, version, {"external_key": new, "version": version + 1,
                                                   "updated_at": write.now, "updated_by": None}))
                    write.journal_row(records.kind_of(model), rid, str(name or rid),
                                      "external_key", key, new, SYSTEM, version + 1)
            moved = bulk.update_records(model, updates)
            if moved:  # (a migration runs alone; nobody else can have changed them)
                raise ConflictError(N_("{n} record(s) changed while their duplicate external "
                                       "keys were renamed; nothing was changed"), n=len(moved))
            renamed[model._meta.table_name] = len(updates)
    return renamed


def _exists(model: type[pw.Model], key: str) -> bool:
    return model.select(model.id).where(model.external_key == key).exists()


migrations.DATA_STEPS[12] = lambda database: resolve_duplicates(database)


# -- refusing a taken key with a sentence ----------------------------------------------------------
def refuse_taken(model: type[pw.Model], key: str | None, record_id: Any = None) -> None:
    """Raise a sentence if another record of ``model`` already holds ``key`` (checked before the
    unique index would refuse the write)."""
    if not key or "external_key" not in model._meta.fields:
        return
    query = model.select(model.id, _label_field(model)).where(model.external_key == key)
    if record_id is not None:
        query = query.where(model.id != record_id)
    holder = query.tuples().first()
    if holder is not None:
        raise ValidationError(N_("{record} already has external key {key}; nothing was saved"),
                              field="external_key", record=str(holder[1] or holder[0]), key=key)


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+)\.external_key")
_PG_UNIQUE = re.compile(r'unique constraint "(\w+)_external_key_unique".*?Key \(external_key\)='
                        r"\((.*)\) already exists", re.S)


def violation_error(exc: BaseException) -> ValidationError | None:
    """The unique index on external keys refusing a write, as a sentence (None for any other
    error).  The record that holds the key is not looked up: on PostgreSQL the transaction is
    already aborted."""
    text = str(exc)
    match = _SQLITE_UNIQUE.search(text)
    if match:
        return ValidationError(N_("Another {kind} record already has this external key; "
                                  "nothing was saved"), field="external_key",
                               kind=match.group(1))
    match = _PG_UNIQUE.search(text)
    if match:
        return ValidationError(N_("Another {kind} record already has external key {key}; "
                                  "nothing was saved"), field="external_key",
                               kind=match.group(1), key=match.group(2))
    return None


# -- what `itsmdesk check` reports -----------------------------------------------------------------
def index_name(model: type[pw.Model]) -> str:
    return f"{model._meta.table_name}_external_key_unique"


def problems(database: pw.Database, limit: int = 5) -> list[tuple[str, dict[str, Any]]]:
    """(N_ template, values) per finding: duplicated keys, renamed duplicates, missing indexes."""
    out: list[tuple[str, dict[str, Any]]] = []
    indexes = _existing_indexes(database)
    for model in keyed_models():
        table = model._meta.table_name
        if index_name(model) not in indexes:
            out.append((N_("{table}: the unique index on external keys is missing (two "
                           "imports at once could double records)"), {"table": table}))
        groups = duplicate_groups(model)
        if groups:
            out.append((N_("{table}: {n} external key(s) held by more than one record, e.g. "
                           "{examples}"), {"table": table, "n": len(groups),
                                           "examples": ", ".join(groups[:limit])}))
        label = _label_field(model)
        marked = model.select(model.external_key, label).where(
            model.external_key.contains(DUP_MARK))
        count = marked.count()
        if count:
            examples = ", ".join(f"{name} ({key})" for key, name in marked.limit(limit).tuples())
            out.append((N_("{table}: {n} record(s) held an external key another record already "
                           "had and were renamed to KEY#dup-N, e.g. {examples}; merge or delete "
                           "them"), {"table": table, "n": count, "examples": examples}))
    return out


def _existing_indexes(database: pw.Database) -> set[str]:
    if isinstance(database, pw.PostgresqlDatabase):  # (found as the tables are: search_path)
        names = [index_name(m) for m in keyed_models()]
        rows = database.execute_sql(
            "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(quote_ident(n)) IS NOT NULL",
            (names,)).fetchall()
    else:
        rows = database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {r[0] for r in rows}
