"""A record's history as a person reads it: names, not ids.

The journal stores ids (a team, a CI, the person who voted) and, for child rows, JSON objects.
:func:`named_history` turns one record's journal into lines (when, who, what happened to which
field, old and new text) with every id replaced by the name of what it points at; all the names
are looked up in one query per referenced table.  The forms' History tabs and
``itsmdesk history REF`` both read it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.models import ALL_MODELS
from itsmdesk.models.base import BaseModel
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import records

CREATED, DELETED, SET, ADDED, CHANGED, REMOVED, NOTE = (
    "created", "deleted", "set", "added", "changed", "removed", "note")
_OPS = {"+": ADDED, "~": CHANGED, "-": REMOVED}


@dataclass(frozen=True)
class NamedEntry:
    at: dt.datetime
    who: str | None
    site: str
    action: str  # created | deleted | set | added | changed | removed | note
    field: str  # a field name, a child table ("change_ci"), or a note's name ("transition_reason")
    old: str | None  # what it was, as text with names
    new: str | None  # what it became
    version: int | None


def _model_of(kind: str) -> type[pw.Model] | None:
    for model in ALL_MODELS:
        if issubclass(model, BaseModel) and not model.PARENT and records.kind_of(model) == kind:
            return model
    return None


def _child(table: str) -> type[BaseModel] | None:
    for model in ALL_MODELS:
        if issubclass(model, BaseModel) and model.PARENT and model._meta.table_name == table:
            return model
    return None


def _label_column(model: type[pw.Model]) -> pw.Field | None:
    for name in ("ref", "name", "title", "filename", "key"):
        if name in model._meta.fields:
            return model._meta.fields[name]
    return None


def _points_at(model_field: pw.Field | None, payload: dict | None = None
               ) -> type[pw.Model] | None:
    """The model a field's id points at: a foreign key's, or one of the plain id columns that
    name a record without a foreign key (who made or changed a record, the change an
    announcement is about, the record a notification is about)."""
    if model_field is None:
        return None
    if isinstance(model_field, pw.ForeignKeyField):
        return model_field.rel_model
    if not isinstance(model_field, pw.UUIDField) or model_field.primary_key:
        return None
    from itsmdesk.models import Change, Person

    name = model_field.name
    if name in ("created_by", "updated_by"):
        return Person
    if name == "change_id":
        return Change
    if name == "record_id" and payload and payload.get("record_kind"):
        kind = str(payload["record_kind"])
        return _model_of("incident" if kind == "request" else kind)  # requests are incidents
    return None


# How a record without a reference, name or title is named in its history: by these fields
_LABEL_PARTS = {"relation": ("source", "type", "target"), "cab_member": ("person", "role")}


class _Names:
    """Ids to names, looked up per table in one query each."""

    def __init__(self) -> None:
        self.wanted: dict[type[pw.Model], set[uuid.UUID]] = defaultdict(set)
        self.found: dict[tuple[type[pw.Model], str], str] = {}
        self.soft: dict[tuple[type[pw.Model], str], type[pw.Model]] = {}

    def want(self, model_field: pw.Field | None, text: str | None,
             payload: dict | None = None) -> None:
        target = _points_at(model_field, payload)
        if text and target is not None:
            try:
                self.wanted[target].add(uuid.UUID(str(text)))
            except ValueError:
                return
            if not isinstance(model_field, pw.ForeignKeyField):
                self.soft[(model_field.model, model_field.name)] = target

    def resolve(self) -> None:
        for model, ids in self.wanted.items():
            column = _label_column(model)
            if column is None or not ids:
                continue
            ids_list = list(ids)
            for start in range(0, len(ids_list), 500):
                for record_id, label in (model.select(model.id, column)
                                         .where(model.id.in_(ids_list[start:start + 500]))
                                         .tuples()):
                    self.found[(model, str(record_id))] = label

    def text(self, model_field: pw.Field | None, text: str | None,
             payload: dict | None = None) -> str | None:
        if text is None or model_field is None:
            return text
        target = _points_at(model_field, payload)
        if target is None:
            return text
        try:
            key = str(uuid.UUID(str(text)))
        except ValueError:
            return text
        return self.found.get((target, key), text)

    def label(self, model: type[pw.Model] | None, kind: str, record_id: Any,
              stored: str | None, payload: Any) -> str | None:
        """A record's name in its history: the stored label unless that is only its id; then
        the names of the fields that make it (a relation: source, type, target)."""
        if not isinstance(payload, dict) or model is None or not stored:
            return stored
        if stored.replace("-", "") != str(record_id).replace("-", ""):
            return stored
        parts = _LABEL_PARTS.get(kind) or tuple(
            n for n, f in model._meta.fields.items() if isinstance(f, pw.ForeignKeyField))
        named = [str(self.text(model._meta.fields.get(n), payload.get(n), payload))
                 for n in parts if payload.get(n) not in (None, "")]
        return " ".join(named) or stored


def _child_text(model: type[BaseModel], data: dict[str, Any], names: _Names) -> str:
    parts = []
    for name in model.LABEL_FIELDS or tuple(n for n in data if n != "id"):
        value = data.get(name)
        if value in (None, ""):
            continue
        parts.append(str(names.text(model._meta.fields.get(name), value)))
    return " · ".join(parts)


def named_history(kind: str, record_id: Any, limit: int = 500) -> list[NamedEntry]:
    """The record's history, newest first, ids shown by name."""
    model = _model_of(str(kind))
    rows = list(JournalEntry.select()
                .where((JournalEntry.record_kind == str(kind))
                       & (JournalEntry.record_id == record_id))
                .order_by(JournalEntry.at.desc(), JournalEntry.id.desc()).limit(limit))
    names = _Names()
    parsed: list[tuple[JournalEntry, Any]] = []
    for row in rows:
        payload: Any = None
        if row.field == records.CREATED and row.new and row.new.startswith("{"):
            payload = json.loads(row.new)
        elif row.field[-1:] in _OPS and _child(row.field[:-1]) is not None:
            payload = (json.loads(row.old) if row.old else {}, json.loads(row.new) if row.new else {})
        parsed.append((row, payload))
    # the record as created: what a plain id column points at may depend on it (a
    # notification's record_id on its record_kind), and it names a record labelled by its id
    created = next((p for _r, p in parsed if isinstance(p, dict)), None)
    for row, payload in parsed:
        if isinstance(payload, dict):
            if model is not None:
                for name, value in payload.items():
                    if name in model._meta.fields:
                        names.want(model._meta.fields[name], value, payload)
        elif isinstance(payload, tuple):
            child = _child(row.field[:-1])
            for side in payload:
                for name, value in side.items():
                    if name in child._meta.fields:
                        names.want(child._meta.fields[name], value)
        elif model is not None and row.field in model._meta.fields:
            model_field = model._meta.fields[row.field]
            names.want(model_field, row.old, created)
            names.want(model_field, row.new, created)
    names.resolve()
    out: list[NamedEntry] = []
    for row, payload in parsed:
        base = (row.at, row.who_name, row.site)
        if row.field == records.CREATED:
            out.append(NamedEntry(*base, CREATED, "", None,
                                  names.label(model, str(kind), record_id, row.record_ref,
                                              payload), row.version))
            if isinstance(payload, dict) and model is not None:
                for name in sorted(payload):
                    if name == "created_at" or name not in model._meta.fields:
                        continue
                    out.append(NamedEntry(*base, SET, name, None,
                                          names.text(model._meta.fields[name], payload[name],
                                                     payload), row.version))
        elif row.field == records.DELETED:
            out.append(NamedEntry(*base, DELETED, "",
                                  names.label(model, str(kind), record_id, row.record_ref,
                                              created), None, row.version))
        elif row.field.startswith("!"):
            out.append(NamedEntry(*base, NOTE, row.field[1:], row.old, row.new, row.version))
        elif isinstance(payload, tuple):
            child = _child(row.field[:-1])
            old, new = payload
            action = _OPS[row.field[-1]]
            if action == CHANGED:
                # name the row by its label fields as they are now, with what changed
                text_old = _child_text(child, old, names)
                text_new = _child_text(child, new, names)
                out.append(NamedEntry(*base, CHANGED, child._meta.table_name, text_old or None,
                                      text_new or None, row.version))
            else:
                text = _child_text(child, old if action == REMOVED else new, names)
                out.append(NamedEntry(*base, action, child._meta.table_name,
                                      text if action == REMOVED else None,
                                      text if action == ADDED else None, row.version))
        else:
            model_field = model._meta.fields.get(row.field) if model is not None else None
            out.append(NamedEntry(*base, SET, row.field, names.text(model_field, row.old, created),
                                  names.text(model_field, row.new, created), row.version))
    return out
