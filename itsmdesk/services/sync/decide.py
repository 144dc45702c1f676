"""Deciding a sync conflict: which side's value a record keeps.

A sync journals a ``!conflict`` note on the hub when it kept the hub's value over a replica's
(:mod:`.ops`); the note reaches the replica with the next pull, so both sides list it.  A person
decides it on either side:

* **take the hub's value**: nothing changes but a ``!decided`` note on the record;
* **take the replica's value**: one journalled write through the funnel sets the field to the
  replica's value (``records.update``; a child row's field with ``records.update_child``; a
  setting with ``records.set_setting``), or deletes the record when the conflict was a delete
  the hub refused (``*deleted*``, reason "edited on the hub"), plus the ``!decided`` note.

The write reads the record's current version inside its own transaction, so a conflict whose
record changed again since is still decidable.  The decision is a normal batch: it syncs like
any write and the conflict drops out of the open list on the other side too.

A conflict has a different journal id on the hub and on each replica, so a decision names it by
a key that is the same everywhere (:attr:`Conflict.key`): the record, the conflict's field, the
pushed batch it came from, and for a child row's field the child row's id.  The ``!decided``
note's ``new`` is a JSON object with that key, ``take`` and the value taken.  Two people who
decide one conflict on two sides before syncing both keep their note; the first in journal
order is shown as the decision, the data holds whatever the later write left.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.models.base import Setting, TrackedModel
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.sync.ops import CONFLICT, children_by_table, models_by_kind

DECIDED = "!decided"
HUB, REPLICA = "hub", "replica"
DELETED_ON_HUB = "deleted on the hub"

# record kind -> the permission action of editing it (services/permissions.py RULES); a kind
# not named here (notifications, settings) needs the administrator's "settings.manage".
EDIT_ACTION: dict[str, str] = {
    "incident": "ticket.work",
    "problem": "problem.manage", "known_error": "problem.manage",
    "change": "change.edit", "change_template": "change.windows", "window": "change.windows",
    "cab_meeting": "cab.manage", "cab_member": "cab.manage",
    "release": "release.manage", "release_step": "release.manage",
    "article": "knowledge.edit",
    "ci": "ci.edit", "ci_class": "ci.edit", "relation": "ci.edit", "baseline": "ci.edit",
    "organisation": "org.edit", "site": "org.edit", "team": "org.edit",
    "person": "people.manage",
    "category": "catalog.manage", "calendar": "catalog.manage", "sla": "catalog.manage",
    "announcement": "announcement.manage",
}


def edit_action(kind: str, record: Any = None) -> str:
    """The permission action that editing a record of ``kind`` needs."""
    if kind == "queue":
        owner = getattr(record, "__data__", {}).get("owner") if record is not None else None
        return "queue.private" if owner is not None else "queue.shared"
    return EDIT_ACTION.get(kind, "settings.manage")


@dataclass(frozen=True)
class Decision:
    take: str
    who_name: str | None
    at: str | None
    journal_id: int


@dataclass(frozen=True)
class Conflict:
    """One ``!conflict`` note as the Conflicts dock and the CLI show it."""

    journal_id: int  # this database's journal id of the note (what to decide by here)
    kind: str
    record_id: uuid.UUID
    ref: str | None
    field: str  # as journalled: a field name, "*deleted*", "TABLE~field", "TABLE+"...
    reason: str
    hub: str | None  # the value that stayed (wire text)
    replica: str | None  # the value not taken (wire text; for a child row's field, its value)
    child_id: str | None  # a child row's conflict: the row's id
    site: str
    batch: str  # the pushed batch the replica's value came in
    who_name: str | None
    at: str | None  # when the replica's edit was made (UTC, wire text)
    noted_at: Any  # when the hub journalled the conflict
    decision: Decision | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The same on the hub and every replica (journal ids are not)."""
        return (str(self.record_id), self.field, self.batch, self.child_id or "")

    @property
    def child_table(self) -> str | None:
        """The child table of a child row's conflict (``work_log`` of ``work_log~text``)."""
        for mark in ("~", "+", "-"):
            if mark in self.field:
                return self.field.split(mark, 1)[0]
        return None

    @property
    def field_name(self) -> str:
        """The field itself (``text`` of ``work_log~text``; the journalled name otherwise)."""
        if "~" in self.field and not self.field.endswith("~"):
            return self.field.split("~", 1)[1]
        return self.field

    @property
    def is_delete(self) -> bool:
        return self.field == records.DELETED

    @property
    def replica_decidable(self) -> bool:
        """Whether the replica's side can be taken.  A field of a record the hub deleted can:
        the record comes back as it was deleted (from the journal), its child rows with it, with
        the replica's value; so can a child row the replica added to it (a note: the record
        comes back, or is back, with it); a child row the hub deleted cannot."""
        child = "+" in self.field or self.field.endswith(("~", "-")) or "~" in self.field
        if self.reason == DELETED_ON_HUB:
            added = self.field.endswith("+") and self.child_table is not None
            return (added or not child) and not self.is_delete and self.kind != "setting"
        return self.is_delete or not (self.field.endswith(("+", "~", "-")) or
                                      "+" in self.field)


@dataclass
class Page:
    items: list[Conflict]
    next_before: int | None  # pass as ``before`` for the next (older) page; None at the end


def _parse(row: tuple) -> Conflict:
    journal_id, kind, record_id, ref, new, noted_at = row
    detail = json.loads(new or "{}")
    field = str(detail.get("field") or "")
    replica = detail.get("replica")
    child_id = None
    if "~" in field and not field.endswith("~") and replica:
        try:
            data = json.loads(replica)
        except ValueError:
            data = None
        if isinstance(data, dict) and "id" in data:
            child_id = str(data["id"])
            replica = data.get(field.split("~", 1)[1])
    return Conflict(journal_id, kind, record_id if isinstance(record_id, uuid.UUID)
                    else uuid.UUID(str(record_id)), ref, field, str(detail.get("reason") or ""),
                    detail.get("hub"), replica, child_id, str(detail.get("site") or ""),
                    str(detail.get("batch") or ""), detail.get("who_name"), detail.get("at"),
                    noted_at)


_COLUMNS = (JournalEntry.id, JournalEntry.record_kind, JournalEntry.record_id,
            JournalEntry.record_ref, JournalEntry.new, JournalEntry.at)


def _decisions(conflicts: list[Conflict]) -> dict[tuple, Decision]:
    """The ``!decided`` notes on these conflicts' records, by conflict key (the first wins)."""
    by_kind: dict[str, set[uuid.UUID]] = {}
    for c in conflicts:
        by_kind.setdefault(c.kind, set()).add(c.record_id)
    out: dict[tuple, Decision] = {}
    for kind, ids in by_kind.items():
        query = (JournalEntry.select(JournalEntry.id, JournalEntry.new, JournalEntry.who_name,
                                     JournalEntry.at)
                 .where((JournalEntry.record_kind == kind)
                        & (JournalEntry.record_id.in_(sorted(ids, key=str)))
                        & (JournalEntry.field == DECIDED))
                 .order_by(JournalEntry.id).tuples())
        for journal_id, new, who, at in query:
            note = json.loads(new or "{}")
            key = tuple(note.get("conflict") or ())
            if len(key) == 4 and key not in out:
                out[key] = Decision(str(note.get("take")), who, records.to_text(at), journal_id)
    return out


def _with_decisions(conflicts: list[Conflict]) -> list[Conflict]:
    found = _decisions(conflicts) if conflicts else {}
    return [replace(c, decision=found.get(c.key)) for c in conflicts]


def conflicts(limit: int = 100, before: int | None = None, include_decided: bool = False
              ) -> Page:
    """Conflicts of the bound database, newest first, ``limit`` at a time (keyset paging on the
    journal id: ``before`` is the previous page's ``next_before``).  Open ones only unless
    ``include_decided``."""
    items: list[Conflict] = []
    cursor = before
    chunk = max(limit, 50)
    while len(items) < limit:
        query = JournalEntry.select(*_COLUMNS).where(JournalEntry.field == CONFLICT)
        if cursor is not None:
            query = query.where(JournalEntry.id < cursor)
        rows = list(query.order_by(JournalEntry.id.desc()).limit(chunk).tuples())
        if not rows:
            return Page(items, None)
        page = _with_decisions([_parse(r) for r in rows])
        for c in page:
            if include_decided or c.decision is None:
                items.append(c)
                if len(items) == limit:
                    more = c.journal_id != rows[-1][0] or len(rows) == chunk
                    return Page(items, c.journal_id if more else None)
        cursor = rows[-1][0]
        if len(rows) < chunk:
            return Page(items, None)
    return Page(items, None)  # pragma: no cover - the loop returns


def open_count() -> int:
    """How many conflicts are still to be decided here."""
    n, before = 0, None
    while True:
        page = conflicts(500, before)
        n += len(page.items)
        if page.next_before is None:
            return n
        before = page.next_before


def get(conflict_journal_id: int) -> Conflict:
    """The conflict journalled here under ``conflict_journal_id``, with its decision if any."""
    row = (JournalEntry.select(*_COLUMNS)
           .where((JournalEntry.id == conflict_journal_id) & (JournalEntry.field == CONFLICT))
           .tuples().first())
    if row is None:
        raise NotFoundError(N_("There is no sync conflict {id} in this database; list them "
                               "with 'itsmdesk replica conflicts'."), id=conflict_journal_id)
    return _with_decisions([_parse(row)])[0]


# -- deciding ---------------------------------------------------------------------------------------
def _current(c: Conflict) -> tuple[type[pw.Model] | None, Any]:
    """(model, the record as it is now or None when it is gone)."""
    if c.kind == "setting":
        return Setting, Setting.get_or_none(Setting.key == c.ref)
    model = models_by_kind().get(c.kind)
    if model is None:
        return None, None
    if issubclass(model, TrackedModel):
        records.lock(model, [c.record_id])  # (PostgreSQL: two people deciding queue here)
    return model, model.get_or_none(model.id == c.record_id)


def _label(c: Conflict) -> str:
    return c.ref or f"{c.kind} {c.record_id}"


def _restore_deleted(c: Conflict, model: type[pw.Model], actor: Actor) -> Any:
    """A record the hub deleted while the replica edited it, put back as it was when it was
    deleted (its last ``*deleted*`` journal row holds every field), through the write funnel:
    a person decided the edit matters more than the delete.  Its child rows (notes, work logs,
    links) come back too, as they were when it was deleted: a delete journals only the record
    (the database drops its child rows with it), so they are read from the record's own
    ``TABLE+``/``TABLE~``/``TABLE-`` journal rows before the ``*deleted*`` one (see
    :func:`_children_when_deleted`) and added with ``records.add_children`` in the same batch.
    None when the journal has no such row."""
    from itsmdesk.services.replay import _decode

    row = (JournalEntry.select(JournalEntry.id, JournalEntry.old)
           .where((JournalEntry.record_kind == c.kind) & (JournalEntry.record_id == c.record_id)
                  & (JournalEntry.field == records.DELETED))
           .order_by(JournalEntry.id.desc()).first())
    if row is None or not row.old:
        return None
    values = _decode(model, json.loads(row.old))
    values["id"] = c.record_id
    for name in ("version", "updated_at", "updated_by", "created_by"):
        values.pop(name, None)
    record = records.create(model, values, actor)
    for child_model, rows in _children_when_deleted(c, model, row.id):
        records.add_children(child_model, rows, actor)
    return record


def _children_when_deleted(c: Conflict, model: type[pw.Model], deleted_id: int
                           ) -> list[tuple[type[pw.Model], list[dict[str, Any]]]]:
    """The child rows the record had on the hub when the journal row ``deleted_id`` deleted
    it, rebuilt from the record's child rows journalled before it (each ``*created*`` or
    ``*deleted*`` starts a life with no child rows).

    The same on the hub and on a replica: a replica's journal also holds its own rows the hub
    did not take (the hub's ``!conflict`` notes on the record name them by batch; the replica
    was put back unjournalled), so those are passed over: a child row or a delete not taken.
    (A child row's field the hub kept its own value of needs nothing: the hub's row that set
    it was pulled after the replica's.)  A row whose other keys point at a record gone since
    loses that link when it may be empty and is left out when it may not (the database
    dropped or emptied it, unjournalled, when that record went); a row that is there already
    stays."""

    tables = {table: child for table, child in children_by_table().items()
              if child._meta.fields[child.PARENT].rel_model is model}
    if not tables:
        return []
    skipped = _not_taken(c)
    alive: dict[str, dict[str, dict[str, Any]]] = {}
    query = (JournalEntry.select(JournalEntry.field, JournalEntry.old, JournalEntry.new,
                                 JournalEntry.batch)
             .where((JournalEntry.record_kind == c.kind) & (JournalEntry.record_id == c.record_id)
                    & (JournalEntry.id < deleted_id) & ~JournalEntry.field.startswith("!"))
             .order_by(JournalEntry.id).tuples())
    for name, old, new, batch in query:
        if name in (records.CREATED, records.DELETED):
            if (str(batch), name, "") not in skipped:
                alive = {}
            continue
        table, op = name[:-1], name[-1:]
        if op not in ("+", "~", "-") or table not in tables:
            continue
        try:
            data = json.loads((old if op == "-" else new) or "{}")
        except ValueError:
            continue
        if not isinstance(data, dict) or "id" not in data:
            continue
        child_id = str(data["id"])
        if {(str(batch), name, child_id), (str(batch), name, "")} & skipped:
            continue
        rows = alive.setdefault(table, {})
        if op == "+":
            rows[child_id] = dict(data)
        elif op == "~":
            if child_id in rows:
                rows[child_id].update(data)
        else:
            rows.pop(child_id, None)
    out: list[tuple[type[pw.Model], list[dict[str, Any]]]] = []
    for table in sorted(alive):
        child = tables[table]
        wanted = []
        for wire in alive[table].values():
            values = _child_values(child, wire, c.record_id)
            if values is not None and not _is_there(child, values):
                wanted.append(values)
        if wanted:
            out.append((child, wanted))
    return out


def _not_taken(c: Conflict) -> set[tuple[str, str, str]]:
    """The rows of pushed batches the hub's conflict notes on ``c``'s record say it did not
    take whole (a child row added, changed or removed; a delete), as (batch, journalled field,
    child row id or "" for any)."""
    skipped: set[tuple[str, str, str]] = set()
    query = (JournalEntry.select(JournalEntry.new)
             .where((JournalEntry.record_kind == c.kind) & (JournalEntry.record_id == c.record_id)
                    & (JournalEntry.field == CONFLICT)).tuples())
    for (new,) in query:
        try:
            detail = json.loads(new or "{}")
        except ValueError:
            continue
        name, batch = str(detail.get("field") or ""), str(detail.get("batch") or "")
        if name == records.DELETED or name[-1:] in ("+", "~", "-"):
            child_id = ""
            try:
                data = json.loads(detail.get("replica") or "null")
            except ValueError:
                data = None
            if isinstance(data, dict) and "id" in data and name != records.DELETED:
                child_id = str(data["id"])
            skipped.add((batch, name, child_id))
    return skipped


def _child_values(child: type[pw.Model], wire: dict[str, Any], record_id: Any
                  ) -> dict[str, Any] | None:
    """A journalled child row (its wire form) as values to add under ``record_id`` (None when
    a record it must refer to is gone, see :func:`_still_linked`)."""
    from itsmdesk.services.replay import _decode

    values = _decode(child, wire)
    values[child.PARENT] = record_id
    return _still_linked(child, values)


def _is_there(child: type[pw.Model], values: dict[str, Any]) -> bool:
    return child.select(child.id).where(child.id == values["id"]).exists()


def _still_linked(child: type[pw.Model], values: dict[str, Any]) -> dict[str, Any] | None:
    """``values`` with the keys to records gone since emptied (None when one may not be)."""
    for name, model_field in child._meta.fields.items():
        if (not isinstance(model_field, pw.ForeignKeyField) or name == child.PARENT
                or values.get(name) is None):
            continue
        key = model_field.rel_field
        if model_field.rel_model.select(key).where(key == values[name]).exists():
            continue
        if not model_field.null:
            return None
        values[name] = None
    return values


def _add_child_back(c: Conflict, child_model: type[pw.Model] | None, actor: Actor) -> None:
    """The child row the replica added to a record the hub deleted (``c.replica``: its wire
    row), added to the record that is back: through the write funnel, in the decision's
    batch."""

    try:
        wire = json.loads(c.replica or "")
    except ValueError:
        wire = None
    values = None
    if child_model is not None and isinstance(wire, dict) and "id" in wire:
        values = _child_values(child_model, wire, c.record_id)
    if values is None:
        raise ValidationError(N_("{record}: the row the replica added cannot be added back (it "
                                 "refers to something deleted since); keep the hub's side."),
                              record=_label(c))
    if not _is_there(child_model, values):
        records.add_child(child_model, values, actor)  # (the decision's own batch: no check)


def _take_replica(c: Conflict, model: type[pw.Model] | None, current: Any, actor: Actor) -> None:
    if not c.replica_decidable:
        raise ValidationError(N_("{record}: the hub deleted what the replica changed, so only "
                                 "the hub's side can be kept."), record=_label(c))
    if c.is_delete:
        if current is not None:
            records.delete(model, c.record_id, current.version
                           if isinstance(current, TrackedModel) else None, actor)
        return
    if current is None and model is not None and c.reason == DELETED_ON_HUB:
        current = _restore_deleted(c, model, actor)
    if current is None or model is None:
        raise ValidationError(N_("{record} is no longer there (deleted since the conflict), so "
                                 "the replica's value cannot be taken; keep the hub's."),
                              record=_label(c))
    if c.kind == "setting":
        value = records.from_text(Setting._meta.fields["value"], c.replica)
        records.set_setting(c.ref, value, actor, expected_version=current.version)
        return
    table = c.child_table
    if table is not None and c.field.endswith("+"):  # a child row added to a deleted record
        _add_child_back(c, children_by_table().get(table), actor)
        return
    if table is not None:
        child_model = children_by_table().get(table)
        name = c.field_name
        row = (child_model.get_or_none(child_model.id == c.child_id)
               if child_model is not None and c.child_id else None)
        if row is None or name not in child_model._meta.fields:
            raise ValidationError(N_("{record}: the row the replica changed is no longer there, "
                                     "so its value cannot be taken; keep the hub's."),
                                  record=_label(c))
        value = records.from_text(child_model._meta.fields[name], c.replica)
        records.update_child(child_model, row.id, {name: value}, actor,
                             expected_version=getattr(current, "version", None))
        return
    if c.field not in model._meta.fields:
        raise ValidationError(N_("{record} has no field {field} any more; keep the hub's "
                                 "value."), record=_label(c), field=c.field)
    value = records.from_text(model._meta.fields[c.field], c.replica)
    records.update(model, c.record_id, getattr(current, "version", None), {c.field: value},
                   actor, current=current)


def decide(conflict_journal_id: int, take: str, actor: Actor = SYSTEM) -> Conflict:
    """Decide the conflict journalled here under ``conflict_journal_id``: keep the hub's value
    (``take="hub"``) or take the replica's (``take="replica"``).  One journalled write with a
    ``!decided`` note; returns the conflict with its decision."""
    if take not in (HUB, REPLICA):
        raise ValidationError(N_("Take 'hub' or 'replica', not '{take}'."), take=take)
    with records.atomic() as write:
        c = get(conflict_journal_id)
        if c.decision is not None:
            raise ValidationError(N_("The conflict on {record} ({field}) was decided already, by "
                                     "{who} at {when} UTC."), record=_label(c), field=c.field,
                                  who=c.decision.who_name or "?", when=c.decision.at or "?")
        model, current = _current(c)
        require(actor, edit_action(c.kind, current), current)
        chosen = c.replica if take == REPLICA else c.hub
        note = json.dumps({"conflict": list(c.key), "take": take, "value": chosen,
                           "reason": c.reason}, sort_keys=True, ensure_ascii=False)
        version = getattr(current, "version", None)
        # the note first: a delete taken from the replica leaves no record to note it on
        records.journal_rows([(c.kind, c.record_id, c.ref, DECIDED, None, note, actor.person_id,
                               actor.name, write.now, records.site_of(actor), version,
                               write.batch)])
        if take == REPLICA:
            _take_replica(c, model, current, actor)
    return get(conflict_journal_id)
