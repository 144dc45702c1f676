"""Several small reads in one statement: one round trip instead of one per query.

A form's read model is a handful of small queries (the record, its notes, its attachments, the
pickers' choices).  On a branch-office link every statement costs a round trip (20-40 ms), so
:func:`select_many` sends them together::

    SELECT (SELECT json_group_array(json_array(q.c0, q.c1, ...)) FROM (<query 1>) q),
           (SELECT json_group_array(...) FROM (<query 2>) q), ...

(``json_agg(json_build_array(...) ORDER BY n)`` on PostgreSQL) and returns each query's rows as
tuples, every value converted back by the field it was selected from, so callers get what
``query.tuples()`` would have given them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import peewee as pw

from itsmdesk.models.base import JSONField, db


def _field_of(node: Any) -> pw.Field | None:
    node = node.unalias() if hasattr(node, "unalias") else node
    if isinstance(node, pw.ForeignKeyField):
        return node.rel_field
    return node if isinstance(node, pw.Field) else None


def _converter(node: Any) -> Callable[[Any], Any]:
    field = _field_of(node)
    if isinstance(field, pw.UUIDField):
        return lambda v: None if v is None else uuid.UUID(str(v))
    if isinstance(field, pw.DateTimeField):
        return lambda v: None if v is None else dt.datetime.fromisoformat(str(v))
    if isinstance(field, pw.DateField):
        return lambda v: None if v is None else dt.date.fromisoformat(str(v)[:10])
    if isinstance(field, pw.BooleanField):
        return lambda v: None if v is None else bool(v)
    if isinstance(field, JSONField):
        return lambda v: json.loads(v) if isinstance(v, str) else v
    if isinstance(field, pw.DecimalField):
        return lambda v: None if v is None else decimal.Decimal(str(v))
    return lambda v: v


def select_many(*queries: pw.Select) -> list[list[tuple]]:
    """Run every query in one statement; returns each one's rows (as ``.tuples()`` would)."""
    database = db.obj
    pg = isinstance(database, pw.PostgresqlDatabase)
    parts, params, converters = [], [], []
    for query in queries:
        columns = list(query._returning)
        inner = query.select(*[(c.unalias() if hasattr(c, "unalias") else c).alias(f"c{i}")
                               for i, c in enumerate(columns)])
        sql, args = database.get_sql_context().sql(inner).query()
        cells = ", ".join(f"q.c{i}" for i in range(len(columns)))
        if pg:
            parts.append(f"(SELECT coalesce(json_agg(json_build_array({cells}) ORDER BY q.n_), "
                         f"'[]'::json) FROM (SELECT s.*, row_number() OVER () AS n_ FROM "
                         f"({sql}) AS s) AS q)")
        else:
            parts.append(f"(SELECT json_group_array(json_array({cells})) FROM ({sql}) AS q)")
        params.extend(args)
        converters.append([_converter(c) for c in columns])
    row = database.execute_sql("SELECT " + ", ".join(parts), params).fetchone()
    out = []
    for cell, convert in zip(row, converters, strict=True):
        values = json.loads(cell) if isinstance(cell, str) else (cell or [])
        out.append([tuple(f(v) for f, v in zip(convert, item, strict=True)) for item in values])
    return out


def first(rows: Sequence[tuple]) -> tuple | None:
    return rows[0] if rows else None
