"""Storage side of a replica: cloning the hub's tables into a new file, and the replica's
bookkeeping keys.

Like a backup (``migrations.backup_sqlite``), a clone is a copy of storage, not a write of data
by a service: it lives here, beside the schema code, and the sync service
(:mod:`itsmdesk.services.sync`) calls it.

The replica's own bookkeeping (which site it is, which hub it came from, how far it has pulled
and pushed) is kept in ``schema_info`` under keys starting with ``replica.``: rows that are
local to one database file, never journalled and never synced, so neither side needs a
migration for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import peewee as pw

from itsmdesk.models.base import SchemaInfo

META_PREFIX = "replica."
META_KEYS = ("site", "hub", "hub_identity", "pull_checkpoint", "push_checkpoint", "created_at",
             "last_sync", "site_key", "pulled_ranges", "bases", "pull_gaps", "scope", "scope_waiting")

# Never cloned: the journal (copied row by row so its hash chain is computed for the new file),
# the schema version (the new file has its own), and the database-kept graph index columns.
_NOT_CLONED = {"journal", "schema_info"}
_LOCAL_COLUMNS = {"gid", "source_gid", "target_gid"}


def set_local_password(database: pw.Database, login: str, password_hash: str,
                       replace: bool = False) -> bool:
    """Let the person with ``login`` sign in to the replica ``database`` with the password the
    hash was made from: when they have no local password (a hub secured with PostgreSQL's own
    logins keeps none), or always with ``replace``.  Local sign-in data, like the bookkeeping:
    never journalled as a change, never synced (each database keeps its own passwords).  True
    when it was set."""
    only_unset = "" if replace else ' AND "password_hash" IS NULL'
    cursor = database.execute_sql(
        f'UPDATE "person" SET "password_hash" = {database.param} '
        f'WHERE "login" = {database.param}{only_unset}', (password_hash, login))
    return cursor.rowcount == 1


def read_meta(database: pw.Database) -> dict[str, str]:
    """The replica keys of ``database`` (without the prefix); empty for a database that is not
    a replica."""
    if not database.table_exists(SchemaInfo._meta.table_name):
        return {}
    rows = database.execute_sql('SELECT key, value FROM "schema_info" WHERE key LIKE '
                                f"{database.param}", (META_PREFIX + "%",)).fetchall()
    return {key[len(META_PREFIX):]: value for key, value in rows}


def write_meta(database: pw.Database, values: Mapping[str, object]) -> None:
    """Set replica keys of ``database`` (in the caller's transaction, if any)."""
    with database.bind_ctx([SchemaInfo], False, False):
        for key, value in values.items():
            if key not in META_KEYS:
                raise KeyError(key)
            (SchemaInfo.insert(key=META_PREFIX + key, value=str(value))
             .on_conflict(conflict_target=[SchemaInfo.key],
                          update={SchemaInfo.value: str(value)})
             .execute())


RowFilter = Callable[[type[pw.Model], list[pw.Field]], Callable[[tuple], bool] | None]


def clone_tables(source: pw.Database, target: pw.Database, models: list[type[pw.Model]],
                 chunk: int = 500, keep: RowFilter | None = None) -> dict[str, int]:
    """Copy every row of every table of ``models`` (but the journal and schema_info) from
    ``source`` to the empty tables of ``target``, keys, versions and who/when as they are.

    Runs inside the caller's transactions on both sides (the caller opens a snapshot on the
    source).  Foreign keys are not checked row by row on the target (tables are copied parents
    first, but some refer to themselves); the caller runs ``PRAGMA foreign_key_check`` after.
    ``keep(model, fields)``: a test a row (a tuple in ``fields`` order) must pass to be copied,
    or None to copy the whole table (a scoped replica, see ``services/sync/scope.py``).
    Returns the number of rows per table.
    """
    counts: dict[str, int] = {}
    for model in pw.sort_models(models):
        table = model._meta.table_name
        if table in _NOT_CLONED:
            continue
        fields = [f for f in model._meta.sorted_fields if f.column_name not in _LOCAL_COLUMNS]
        with source.bind_ctx([model], False, False):
            rows = list(model.select(*fields).tuples())
        test = keep(model, fields) if keep is not None else None
        if test is not None:
            rows = [row for row in rows if test(row)]
        counts[table] = len(rows)
        if not rows:
            continue
        per = max(1, min(chunk, 30000 // max(1, len(fields))))
        with target.bind_ctx([model], False, False):
            for start in range(0, len(rows), per):
                model.insert_many(rows[start:start + per], fields=fields).execute()
    return counts


def write_identity(database: pw.Database, key: str, value: str) -> None:
    """Keep a hub's identity (a ``schema_info`` key of its own, never journalled)."""
    with database.bind_ctx([SchemaInfo], False, False):
        SchemaInfo.insert(key=key, value=value).on_conflict_ignore().execute()


def copyable_fields(model: type[pw.Model]) -> list[pw.Field]:
    """The columns a copy carries (not the database-kept graph index)."""
    return [f for f in model._meta.sorted_fields if f.column_name not in _LOCAL_COLUMNS]


def read_rows(source: pw.Database, model: type[pw.Model], column: str,
              values: Iterable[object], chunk: int = 500) -> list[tuple]:
    """Rows of ``model`` in ``source`` whose ``column`` is one of ``values``, as tuples in
    :func:`copyable_fields` order."""
    fields = copyable_fields(model)
    values = list(values)
    out: list[tuple] = []
    with source.bind_ctx([model], False, False):
        for start in range(0, len(values), chunk):
            out += list(model.select(*fields)
                        .where(model._meta.fields[column].in_(values[start:start + chunk]))
                        .tuples())
    return out


def insert_rows(target: pw.Database, model: type[pw.Model], rows: list[tuple]) -> int:
    """Insert rows read by :func:`read_rows` into ``target`` as they are, skipping those whose
    key is there already (in the caller's transaction).  Returns how many were new."""
    if not rows:
        return 0
    fields = copyable_fields(model)
    pk = model._meta.primary_key
    with target.bind_ctx([model], False, False):
        index = fields.index(pk)
        ids = [row[index] for row in rows]
        there = set()
        for start in range(0, len(ids), 500):
            there |= {r[0] for r in model.select(pk).where(pk.in_(ids[start:start + 500]))
                      .tuples()}
        new = [row for row in rows if row[index] not in there]
        per = max(1, min(500, 30000 // max(1, len(fields))))
        for start in range(0, len(new), per):
            model.insert_many(new[start:start + per], fields=fields).execute()
    return len(new)


def wipe_tables(target: pw.Database, models: list[type[pw.Model]]) -> None:
    """Empty every data table of ``target`` (but the journal and schema_info), children first,
    in the caller's transaction (a scope fetched again from the hub, ``sync/scope.refetch``)."""
    for model in reversed(pw.sort_models(models)):
        if model._meta.table_name in _NOT_CLONED:
            continue
        target.execute_sql(f'DELETE FROM "{model._meta.table_name}"')
