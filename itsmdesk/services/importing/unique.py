"""Before anything is written: would a planned row break a UNIQUE constraint?

The dry run and the import run the same check, so a dry run that reports no bad row means the
import meets no duplicate (the database's IntegrityError is never what a person reads).  For
every unique column or unique index of a model that the import inserts or updates, the planned
values are compared with each other (a CI name given by two rows with different keys, the same
relation twice) and with the rows already stored (a name another record already holds).
NULLs never collide, as in SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.services.records import to_text

# kept by the import or the database itself, never from the file
SKIP = {"id", "ref", "gid", "source_gid", "target_gid"}


@dataclass(frozen=True)
class Clash:
    """Planned row ``tag`` collides on ``fields`` = ``values``: with the planned row ``other``
    (a tag) or with the stored record ``stored`` (its label)."""

    tag: Any
    fields: tuple[str, ...]
    values: tuple[Any, ...]
    other: Any = None
    stored: str | None = None


def unique_sets(model: type[pw.Model]) -> list[tuple[str, ...]]:
    """The unique constraints of ``model`` (field names), bookkeeping left out."""
    out: list[tuple[str, ...]] = []
    for f in model._meta.sorted_fields:
        if f.unique and f.name not in SKIP:
            out.append((f.name,))
    for index in model._meta.indexes:
        if isinstance(index, (tuple, list)) and len(index) == 2 and index[1] is True:
            names = tuple(index[0])
            if not SKIP.intersection(names):
                out.append(names)
    return out


def _key(values: dict[str, Any], names: tuple[str, ...]) -> tuple[Any, ...] | None:
    out = []
    for name in names:
        value = values.get(name)
        if value is None:
            return None
        out.append(to_text(value))
    return tuple(out)


def clashes(model: type[pw.Model], rows: Iterable[tuple[Any, dict[str, Any], Any]]
            ) -> list[Clash]:
    """``rows`` are ``(tag, values, own_id)``: a planned insert (``own_id`` None) or update (the
    stored record's id; only the fields it changes need be in ``values``, the rest are read)."""
    rows = list(rows)
    found: list[Clash] = []
    for names in unique_sets(model):
        if not any(any(n in values for n in names) for _t, values, _o in rows):
            continue
        full = _complete(model, names, rows)
        seen: dict[tuple[Any, ...], Any] = {}
        keyed: list[tuple[Any, tuple[Any, ...], Any]] = []
        for tag, values, own in full:
            key = _key(values, names)
            if key is None:
                continue
            if key in seen:
                found.append(Clash(tag, names, key, other=seen[key]))
                continue
            seen[key] = tag
            keyed.append((tag, key, own))
        stored = _stored(model, names, [k for _t, k, _o in keyed])
        for tag, key, own in keyed:
            holder = stored.get(key)
            if holder is not None and holder[0] != own:
                found.append(Clash(tag, names, key, stored=holder[1]))
    return found


def _complete(model: type[pw.Model], names: tuple[str, ...],
              rows: list[tuple[Any, dict[str, Any], Any]]) -> list[tuple[Any, dict[str, Any], Any]]:
    """Updates that change only part of a multi-column constraint: the other parts as stored."""
    need = [own for _t, values, own in rows
            if own is not None and any(n in values for n in names)
            and not all(n in values for n in names)]
    current: dict[Any, dict[str, Any]] = {}
    columns = [model._meta.fields[n] for n in names]
    for start in range(0, len(need), 500):
        query = model.select(model.id, *columns).where(model.id.in_(need[start:start + 500]))
        for row in query.tuples():
            current[row[0]] = dict(zip(names, row[1:], strict=True))
    out = []
    for tag, values, own in rows:
        if own is not None and not any(n in values for n in names):
            continue  # an update leaving this constraint alone cannot break it
        if own in current:
            values = {**current[own], **values}
        out.append((tag, values, own))
    return out


def _stored(model: type[pw.Model], names: tuple[str, ...], keys: list[tuple[Any, ...]]
            ) -> dict[tuple[Any, ...], tuple[uuid.UUID, str]]:
    """The stored rows holding any of ``keys`` (key -> (id, label))."""
    if not keys:
        return {}
    first = model._meta.fields[names[0]]
    columns = [model._meta.fields[n] for n in names]
    wanted = set(keys)
    firsts = sorted({k[0] for k in keys})
    out: dict[tuple[Any, ...], tuple[uuid.UUID, str]] = {}
    for start in range(0, len(firsts), 500):
        chunk = firsts[start:start + 500]
        query = model.select(model.id, *columns).where(first.in_(chunk))
        for row in query.tuples():
            key = tuple(to_text(v) for v in row[1:])
            if key in wanted:
                out.setdefault(key, (row[0], ""))
    if out:
        labels = {r.id: r.record_label() for r in model.select().where(
            model.id.in_([v[0] for v in out.values()][:500]))}
        out = {k: (v[0], labels.get(v[0], str(v[0]))) for k, v in out.items()}
    return out


def too_long(model: type[pw.Model], values: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Text values longer than their column allows (PostgreSQL refuses them, SQLite would
    keep them): ``(field, length, max)``."""
    out = []
    for name, value in values.items():
        f = model._meta.fields.get(name)
        limit = getattr(f, "max_length", None)
        if limit and isinstance(value, str) and len(value) > limit:
            out.append((name, len(value), limit))
    return out
