"""The hub's half of sync: a pushed batch applied at most once, merged field by field.

A replica pushes its journal one *batch* at a time (the rows one service call wrote, with the
replica's site, the batch id, the replica's schema version and ``base``: the hub journal id the
replica had pulled up to when it pushed, i.e. the hub state its edits started from).  The hub:

1. refuses a batch from another schema version (never half-applied);
2. skips a batch it has applied before (a ``!synced`` marker row for (site, batch) is in its
   journal, written in the same transaction as the batch's rows);
3. merges each row against what changed on the hub since ``base`` (rows the same replica pushed
   earlier do not count):

   ==========================  ============================================================
   replica row                 on the hub
   ==========================  ============================================================
   a field of a record         applied, unless the hub changed the same field since base:
                               then the hub's value stays and a ``!conflict`` note keeps the
                               replica's (different fields of one record merge)
   ``*created*``               applied (keys are UUIDs, references the site's own block)
   ``*deleted*``               applied, unless the hub changed the record since base: then the
                               record stays and a ``!conflict`` note says so (a person decides);
                               the note carries the rows that put it back on the replica
   ``TABLE+`` (child added)    applied: notes, votes, attachments never conflict; only a parent
                               deleted on the hub makes it a conflict
   ``TABLE~`` (child changed)  per field of the child row, as for a record's fields
   ``TABLE-`` (child removed)  applied (nothing when the hub removed it already)
   a setting                   as a field (``value``)
   ``!note``                   journalled as it is
   ==========================  ============================================================

4. applies what it accepted through :func:`itsmdesk.services.replay.apply` (the journal's apply
   path, keys and who/when kept) with the hub's own versions: every record the batch touches
   gets the hub's version + 1, as one service call on the hub would.

Every row is first checked against its author's roles **on the hub** (a replica is not
trusted: :mod:`itsmdesk.services.sync.trust`); a refused row is a ``!conflict`` with the reason
``not permitted``.

Every conflict note carries ``revert``: the journal rows that put the pushing replica back to
the hub's state for what was not taken (the hub's value of a field, a refused new record
removed, a refused delete undone: ``restore``), applied there, unjournalled, when it pulls the
note.  So the hub's value is the provisional winner on both sides, whatever the order in which
rows arrive (a carried file can bring them long after the replica pulled the hub's edit).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models import ALL_MODELS
from itsmdesk.models.base import BaseModel, Setting, TrackedModel, db, utcnow
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.migrations import current_version
from itsmdesk.services import records, replay
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.sync.link import write_transaction
from itsmdesk.services.sync.trust import Gate

SYNC_NAMESPACE = uuid.UUID("0b6f3f4e-5a1d-4c57-8f64-6a1f0c2e9d31")
MARKER_KIND = "replica"  # the journal's record kind of a site's sync markers
SYNCED = "!synced"  # marker: the hub applied batch (site, batch); written before its rows
CONFLICT = "!conflict"  # a replica's value the hub did not take (for the Conflicts dock)


def site_record_id(site: str) -> uuid.UUID:
    """The record id under which a site's ``!synced`` markers are journalled."""
    return uuid.uuid5(SYNC_NAMESPACE, site.upper())


def encode_rows(rows: list[tuple]) -> list[list[str | None]]:
    """Journal rows (:data:`records.JOURNAL_COLUMNS` order) as JSON-safe wire text."""
    return [[records.to_text(v) for v in row] for row in rows]


def decode_rows(raw: list[list[str | None]]) -> list[tuple]:
    fields = [JournalEntry._meta.fields[c] for c in records.JOURNAL_COLUMNS]
    return [tuple(records.from_text(f, v) for f, v in zip(fields, row, strict=True))
            for row in raw]


@dataclass
class Batch:
    """One replica write, as pushed: rows in :data:`records.JOURNAL_COLUMNS` order."""

    site: str
    batch: uuid.UUID
    schema: int
    base: int
    rows: list[tuple]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (for a carried file, later): values as wire text."""
        return {"site": self.site, "batch": str(self.batch), "schema": self.schema,
                "base": self.base,
                "rows": encode_rows(self.rows)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Batch:
        return cls(data["site"], uuid.UUID(data["batch"]), int(data["schema"]),
                   int(data["base"]), decode_rows(data["rows"]))


@dataclass
class Outcome:
    batch: uuid.UUID
    seen: bool = False  # applied before: skipped
    rows: int = 0
    applied: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def models_by_kind() -> dict[str, type[BaseModel]]:
    return {records.kind_of(m): m for m in ALL_MODELS
            if issubclass(m, BaseModel) and m is not BaseModel and not m.PARENT}


def children_by_table() -> dict[str, type[BaseModel]]:
    return {m._meta.table_name: m for m in ALL_MODELS if issubclass(m, BaseModel) and m.PARENT}


def refuse_schema(theirs: int, ours: int) -> ValidationError:
    if theirs < ours:
        return ValidationError(N_(
            "This replica is on schema version {theirs} and the hub on {ours}: upgrade itsmdesk "
            "here and open the replica once (it is upgraded), then sync again. Nothing was "
            "sent."), theirs=theirs, ours=ours)
    return ValidationError(N_(
        "This replica is on schema version {theirs} and the hub on {ours}: the hub must be "
        "upgraded first. Nothing was sent."), theirs=theirs, ours=ours)


def _own_batches_since(site: str, base: int) -> set[uuid.UUID]:
    rows = (JournalEntry.select(JournalEntry.batch)
            .where((JournalEntry.record_kind == MARKER_KIND)
                   & (JournalEntry.record_id == site_record_id(site))
                   & (JournalEntry.field == SYNCED) & (JournalEntry.id > base)).tuples())
    return {r[0] for r in rows}


_PREFETCH = 500  # ids per IN (...) when a group's records and journal rows are read at once


@dataclass
class PushCache:
    """What the hub transactions of one push share: the hub's journal rows on the records they
    touched since ``base``, each record's read up to a journal id (``read_upto``: that of the
    group that last locked it), and the records as the last group left them (see
    :meth:`_Group.read_journal`, :meth:`_Group.load`)."""

    base: int = 0
    journal: dict[tuple[str, Any], list[tuple]] = field(default_factory=dict)
    read_upto: dict[tuple[str, Any], int] = field(default_factory=dict)  # journal id, per record
    records: dict[tuple[str, Any], Any] = field(default_factory=dict)  # as the groups left them

    def reset(self, base: int) -> PushCache:
        self.base, self.journal, self.read_upto = base, {}, {}
        return self


class _Group:
    """What the batches of one hub transaction share, read once for all of them: the records
    they touch (locked on PostgreSQL, so no workstation changes them meanwhile), the hub's
    journal rows on those records since the oldest base, the site's batches already applied.
    Merging a batch then needs no query per record; the records are kept as the batches before
    leave them (:meth:`_Merge.mirror`), and every batch's rows are applied in one go at the
    end."""

    def __init__(self, batches: list[Batch], operator: Actor,
                 cache: PushCache | None = None) -> None:
        self.kinds = models_by_kind()
        self.children = children_by_table()
        self.pg = isinstance(db.obj, pw.PostgresqlDatabase)
        self.gate = Gate(operator)
        self.records: dict[tuple[str, Any], Any] = {}
        self.settings: dict[str, Setting | None] = {}  # (kept as the batches leave them)
        self.journal: dict[tuple[str, Any], list[tuple]] = {}
        site = batches[0].site if batches else ""
        self.base = min((b.base for b in batches), default=0)
        self.site = site
        self.batch_ids = {b.batch for b in batches}
        self._own: set[Any] | None = None
        ids = [b.batch for b in batches]
        self.seen: set[Any] = set()
        for start in range(0, len(ids), _PREFETCH):
            chunk = ids[start:start + _PREFETCH]
            self.seen |= {r[0] for r in JournalEntry.select(JournalEntry.batch).where(
                (JournalEntry.record_kind == MARKER_KIND)
                & (JournalEntry.record_id == site_record_id(site))
                & (JournalEntry.field == SYNCED) & JournalEntry.batch.in_(chunk)).tuples()}
        # (the site's own batches applied before are no conflict: not even read)
        marker = JournalEntry.alias()
        own_since = (marker.select(marker.batch)
                     .where((marker.record_kind == MARKER_KIND)
                            & (marker.record_id == site_record_id(site))
                            & (marker.field == SYNCED) & (marker.id > self.base)))
        wanted: dict[str, set[Any]] = {}
        for b in batches:
            if b.batch in self.seen:
                continue
            for row in b.rows:
                if row[0] in self.kinds and row[0] != MARKER_KIND and row[3][:1] != "!":
                    wanted.setdefault(row[0], set()).add(row[1])  # (notes need no lock)
        chunks: list[tuple[str, list[Any]]] = []
        for kind, record_ids in wanted.items():
            model = self.kinds[kind]
            ordered = sorted(record_ids, key=str)  # (one lock order for every sync)
            for start in range(0, len(ordered), _PREFETCH):
                chunk = ordered[start:start + _PREFETCH]
                found = self.load(kind, model, chunk, cache)
                for record_id in chunk:
                    self.records[(kind, record_id)] = found.get(record_id)
                chunks.append((kind, chunk))
        self.journal = self.read_journal(chunks, own_since, cache)

    def load(self, kind: str, model: type[BaseModel], ids: list[Any],
             cache: PushCache | None) -> dict[Any, BaseModel]:
        """The records ``ids``, locked on PostgreSQL.  With a ``cache``, a record an earlier
        group of the push left at the version it still has is taken as that group left it
        (:meth:`_Merge.mirror` kept it as applied); only the others are read whole."""
        if cache is None or "version" not in model._meta.fields:
            return _load(model, ids, self.pg)
        query = (model.select(model.id, model.version).where(model.id.in_(ids))
                 .order_by(model.id))
        if self.pg:
            query = query.for_update()
        found: dict[Any, BaseModel] = {}
        stale = []
        for record_id, version in query.tuples():
            known = cache.records.get((kind, record_id))
            if isinstance(known, model) and known.version == version:
                found[record_id] = known
            else:
                stale.append(record_id)
        if stale:
            found.update(_load(model, stale, False))
        return found

    def read_journal(self, chunks: list[tuple[str, list[Any]]], own_since: Any,
                     cache: PushCache | None) -> dict[tuple[str, Any], list[tuple]]:
        """The hub's rows on the group's records since base (but the site's own).  With a
        ``cache`` (one push's groups), a record an earlier group read is not read again: what
        others wrote since is one range of journal ids for all records (usually nothing but
        the site's own rows), not every record's history scanned again.  ``upto`` is read
        after the records are locked, so rows up to it on a locked record cannot commit later
        (a write journals after it locks what it writes); a record is read again from the
        ``upto`` of the group that last locked it, as rows on it may have committed late
        since."""
        if cache is None or cache.base != self.base:
            cache = PushCache(base=self.base) if cache is None else cache.reset(self.base)
        upto = JournalEntry.select(pw.fn.MAX(JournalEntry.id)).scalar() or 0
        columns = (JournalEntry.record_kind, JournalEntry.record_id, JournalEntry.id,
                   JournalEntry.field, JournalEntry.old, JournalEntry.new, JournalEntry.batch)
        others = (~JournalEntry.field.startswith("!")
                  & (JournalEntry.batch.is_null() | JournalEntry.batch.not_in(own_since)))
        group = {(kind, i) for kind, chunk in chunks for i in chunk}
        known = {key: cache.read_upto[key] for key in group if key in cache.journal}
        since = min(known.values(), default=upto)
        if since < upto:  # what others wrote on these records since a group before read them
            for r in (JournalEntry.select(*columns)
                      .where((JournalEntry.id > since) & (JournalEntry.id <= upto) & others)
                      .order_by(JournalEntry.id).tuples()):
                key = (r[0], r[1])
                if key in known and r[2] > known[key]:
                    cache.journal[key].append(r[2:])
        for key in group:
            cache.read_upto[key] = upto
        for kind, chunk in chunks:
            fresh = [i for i in chunk if (kind, i) not in cache.journal]
            if not fresh:
                continue
            for record_id in fresh:
                cache.journal[(kind, record_id)] = []
            for r in (JournalEntry.select(*columns)
                      .where((JournalEntry.record_kind == kind)
                             & JournalEntry.record_id.in_(fresh)
                             & (JournalEntry.id > self.base) & (JournalEntry.id <= upto)
                             & others)
                      .order_by(JournalEntry.id).tuples()):
                cache.journal[(kind, r[1])].append(r[2:])
        return cache.journal

    def reads_child_rows(self, op: Batch) -> bool:
        """Whether merging ``op`` reads child rows from the hub's tables: a delete (the rows
        that put the record back if it is refused), a child row changed (the hub's row to
        compare), a child row refused (the hub's row to put back).  The group's mirror keeps
        records, not child rows, so what the batches before accepted must be in the tables
        first (a note added, then its incident's delete refused: the note comes back too)."""
        for row in op.rows:
            name = row[3]
            if name == records.DELETED:
                return True
            if name[-1:] in "+~-" and name[:-1] in self.children and (
                    name[-1] == "~" or self.gate.refusal(row) is not None):
                return True
        return False

    @property
    def own(self) -> set[Any]:
        """The site's batches applied since the oldest base (read only when a record outside
        the prefetch needs it: the prefetched journal leaves them out in SQL)."""
        if self._own is None:
            self._own = _own_batches_since(self.site, self.base) | self.batch_ids
        return self._own


def _load(model: type[BaseModel], ids: list[Any], lock: bool) -> dict[Any, BaseModel]:
    """The records with ``ids`` (locked when ``lock``: a workstation's save of one waits for
    the sync), as model instances made straight from the rows: peewee's constructor, run per
    field for thousands of records per group, cost more than reading them."""
    names = model._meta.sorted_field_names
    query = (model.select(*(model._meta.fields[n] for n in names))
             .where(model.id.in_(ids)).order_by(model.id))
    if lock:
        query = query.for_update()
    out = {}
    for values in query.tuples():
        record = model.__new__(model)
        record.__data__ = dict(zip(names, values, strict=True))
        record._dirty = set()
        record.__rel__ = {}
        out[record.__data__["id"]] = record
    return out


class _Merge:
    """The state of one batch being merged on the hub."""

    def __init__(self, op: Batch, operator: Actor = SYSTEM, group: _Group | None = None) -> None:
        self.op = op
        group = group or _Group([op], operator)
        self.group = group
        self.kinds = group.kinds
        self.children = group.children
        self.pg = group.pg
        self.current: dict[tuple[str, Any], Any] = {}
        self.versions: dict[tuple[str, Any], int | None] = {}
        self.since: dict[tuple[str, Any], list[tuple]] = {}
        self.since_fields: dict[tuple[str, Any], set[str]] = {}
        self.accepted: list[tuple] = []
        self.conflicts: list[tuple] = []
        self.conflict_batch = uuid.uuid4()
        self.outcome = Outcome(op.batch, rows=len(op.rows))
        self.gate = group.gate
        self.reverts: dict[int, list[tuple]] = {}  # conflict index -> rows putting it back
        self.stamps: dict[tuple[str, Any], tuple] = {}  # record -> who/when of its last accepted

    def as_on_hub(self, row: tuple) -> tuple:
        """A revert row stamped as the record is on the hub after the batch: its version, and
        who/when of the last row the batch applied to it (else the record's own stamp)."""
        key = (row[0], row[1])
        who_id, who_name, at = self.stamps.get(key) or self.hub_stamp(key) or row[6:9]
        return (*row[:6], who_id, who_name, at, row[9], self.versions.get(key, row[10]),
                row[11])

    def hub_stamp(self, key: tuple[str, Any]) -> tuple | None:
        current = self.current.get(key)
        if isinstance(current, TrackedModel):
            return (current.updated_by, None, current.updated_at)
        return None

    def conflict_rows(self) -> list[tuple]:
        """The conflict notes as journal rows.  A note's ``revert`` rows carry the version the
        record has on the hub after the whole batch (known only now), so the replica that
        applies them ends on the hub's version."""
        out = []
        for n, row in enumerate(self.conflicts):
            detail = dict(row[6])
            if n in self.reverts:
                detail["revert"] = encode_rows([self.as_on_hub(r) for r in self.reverts[n]])
            out.append((*row[:6], json.dumps(detail, sort_keys=True, ensure_ascii=False),
                        *row[7:]))
        return out

    # -- the hub's side of a record ---------------------------------------------------------------
    def record(self, kind: str, record_id: Any, ref: str | None, lock: bool = True) -> Any:
        """The hub's record (None: not there).  ``lock=False`` for a note's: it changes no
        data, so it neither waits for nor holds up a workstation's save, and an operator who
        may not change the record (PostgreSQL refuses them FOR UPDATE) can still sync it."""
        key = (kind, record_id)
        if key not in self.current and key in self.group.records:
            self.current[key] = self.group.records[key]
        if key not in self.current:
            if kind == "setting":
                if ref not in self.group.settings:
                    self.group.settings[ref] = Setting.get_or_none(Setting.key == ref)
                row = self.group.settings[ref]
            else:
                model = self.kinds.get(kind)
                row = None
                if model is not None:
                    query = model.select().where(model.id == record_id)
                    if self.pg and lock:  # a workstation's save of the record waits for us
                        query = query.for_update()
                    row = query.first()
            if not lock:
                return row  # (not kept: a later row of the batch that writes it locks it)
            self.current[key] = row
        return self.current[key]

    def changed_since(self, kind: str, record_id: Any) -> list[tuple]:
        """(field, old, new) of the hub's rows on the record after base, but the replica's own
        earlier batches and notes."""
        key = (kind, record_id)
        if key not in self.since:
            if key in self.group.records:  # (read without the site's rows and notes)
                base = self.op.base
                self.since[key] = [r[1:4] for r in self.group.journal.get(key, ()) if r[0] > base]
            else:
                own = self.group.own
                self.since[key] = [
                    (f, o, n) for f, o, n, b in
                    JournalEntry.select(JournalEntry.field, JournalEntry.old, JournalEntry.new,
                                        JournalEntry.batch)
                    .where((JournalEntry.record_kind == kind)
                           & (JournalEntry.record_id == record_id)
                           & (JournalEntry.id > self.op.base)).tuples()
                    if b not in own and not f.startswith("!")]
        return self.since[key]

    def changed_fields(self, kind: str, record_id: Any) -> set[str]:
        """The fields the hub changed on the record since base (see :meth:`changed_since`)."""
        key = (kind, record_id)
        fields = self.since_fields.get(key)
        if fields is None:
            fields = self.since_fields[key] = {f for f, _o, _n in self.changed_since(*key)}
        return fields

    def created(self, kind: str, record_id: Any, new: str | None, version: Any,
                row: tuple) -> Any:
        """A record a batch of the group created, as it will be once applied (unsaved)."""
        from itsmdesk.services.replay import _decode

        model = self.kinds.get(kind)
        if model is None or not new:
            return True
        values = _decode(model, json.loads(new))
        values["id"] = record_id
        instance = model(**values)
        if isinstance(instance, TrackedModel):
            instance.version = version or 1
            instance.updated_at, instance.updated_by = row[9], row[7]
        return instance

    def mirror(self) -> None:
        """Leave the group's records as this batch's accepted rows leave them on the hub (they
        are applied at the end of the group), for the batches after it."""
        for row in self.accepted:
            kind, record_id, name, new, version = row[1], row[2], row[4], row[6], row[11]
            key = (kind, record_id)
            if kind == MARKER_KIND:
                continue
            if kind == "setting":
                current = self.group.settings.get(row[3])
                if current is None:  # a new setting: as it will be once applied
                    current = self.group.settings[row[3]] = Setting(key=row[3], version=0)
            elif key not in self.group.records:
                continue
            else:
                current = self.group.records[key]
            if name == records.DELETED:
                self.group.records[key] = None
                continue
            if name == records.CREATED:
                self.group.records[key] = self.created(kind, record_id, new, version, row)
                continue
            if not isinstance(current, (TrackedModel, Setting)):
                continue
            if isinstance(current, Setting):
                if name == "value":
                    current.value = records.from_text(Setting._meta.fields["value"], new)
            elif name in current._meta.fields and not name.startswith("!") \
                    and name not in records.SECRET_FIELDS:
                current.__data__[name] = records.from_text(current._meta.fields[name], new)
                getattr(current, "__rel__", {}).pop(name, None)
            if version is not None:
                current.version = version
            if isinstance(current, TrackedModel):
                current.updated_at, current.updated_by = row[9], row[7]

    def version_for(self, kind: str, record_id: Any, current: Any, row_version: Any) -> Any:
        key = (kind, record_id)
        if key not in self.versions:
            if current is None:
                self.versions[key] = row_version
            elif isinstance(current, (TrackedModel, Setting)):
                self.versions[key] = current.version + 1
            else:
                self.versions[key] = row_version
        return self.versions[key]

    # -- outcomes ---------------------------------------------------------------------------------
    def accept(self, row: tuple, current: Any, old: Any = ..., new: Any = ...) -> None:
        kind, record_id = row[0], row[1]
        values = list(row)
        if old is not ...:
            values[4] = old
        if new is not ...:
            values[5] = new
        values[10] = self.version_for(kind, record_id, current, row[10])
        self.accepted.append((None, *values))
        self.stamps[(kind, record_id)] = (row[6], row[7], row[8])
        if not row[3].startswith("!"):
            self.outcome.applied += 1

    def conflict(self, row: tuple, current: Any, reason: str, name: str,
                 hub_value: str | None, replica_value: str | None,
                 restore: list[tuple] | None = None, revert: list[tuple] | None = None) -> None:
        kind, record_id, ref = row[0], row[1], row[2]
        detail: dict[str, Any] = {
            "field": name, "reason": reason, "hub": hub_value, "replica": replica_value,
            "site": self.op.site, "batch": str(self.op.batch), "who_id": records.to_text(row[6]),
            "who_name": row[7], "at": records.to_text(row[8])}
        if restore:
            detail["restore"] = encode_rows(restore)
        version = getattr(current, "version", None)
        self.conflicts.append((None, kind, record_id, ref, CONFLICT, None, detail, row[6],
                               row[7], row[8], row[9], version, self.conflict_batch))
        if revert:
            self.reverts[len(self.conflicts) - 1] = revert
        shown = {k: v for k, v in detail.items() if k not in ("restore", "revert")}
        self.outcome.conflicts.append({"kind": kind, "id": str(record_id), "ref": ref, **shown})

    # -- one row ----------------------------------------------------------------------------------
    def merge(self, row: tuple) -> None:
        kind, record_id, ref, name, old, new = row[:6]
        if kind == MARKER_KIND:
            self.accept(row, self.record(kind, record_id, ref))
            return
        refused = self.gate.refusal(row)
        if refused is not None:
            self.refuse(row, refused)
            return
        if name.startswith("!"):
            self.accept(row, self.record(kind, record_id, ref, lock=False))
            return
        if name == records.CREATED:
            if self.record(kind, record_id, ref) is None:
                self.accept(row, None)
                self.current[(kind, record_id)] = True  # (exists from here on)
            return
        current = self.record(kind, record_id, ref)
        if name == records.DELETED:
            if current is None:
                return  # deleted on both sides
            if self.changed_since(kind, record_id):
                self.conflict(row, current, "edited on the hub", records.DELETED, None, None,
                              restore=self.restore_rows(kind, current, ref))
            else:
                self.accept(row, current)
            return
        if name[-1:] in "+~-" and name[:-1] in self.children:
            self.merge_child(row, current)
            return
        if current is None and kind == "setting":  # a new setting
            self.accept(row, None)
            return
        if current is None:
            self.conflict(row, None, "deleted on the hub", name, None, new)
            return
        if name in records.SECRET_FIELDS:  # journalled as "(set)" only: its stamp, no merge
            self.accept(row, current)
            return
        hub_value = self.value_of(current, name)
        if name in self.changed_fields(kind, record_id):
            if hub_value != new:
                self.conflict(row, current, "changed on both sides", name, hub_value, new,
                              revert=[self.field_row(row, current, name, hub_value)])
            return
        self.accept(row, current, old=hub_value)

    def field_row(self, row: tuple, current: Any, name: str, value: str | None) -> tuple:
        """A journal row that sets ``name`` of the row's record back to the hub's ``value``."""
        version = getattr(current, "version", None)
        return (row[0], row[1], row[2], name, value, value, row[6], row[7], row[8], row[9],
                version, self.conflict_batch)

    def refuse(self, row: tuple, action: str) -> None:
        """A row its author may not make on the hub: kept as a conflict, the replica put back."""
        kind, record_id, ref, name, old, new = row[:6]
        current = self.record(kind, record_id, ref, lock=not name.startswith("!"))
        revert: list[tuple] = []
        restore: list[tuple] | None = None
        hub_value = None
        if name == records.CREATED:
            if current is None:  # the replica's new record goes away there
                revert = [(kind, record_id, ref, records.DELETED, new, None, *row[6:10], None,
                           self.conflict_batch)]
            hub_value = None
        elif name == records.DELETED:
            if current is not None:
                restore = self.restore_rows(kind, current, ref)
        elif name[-1:] in "+~-" and name[:-1] in self.children:
            if current is not None:
                revert = self.child_revert(row, getattr(current, "version", None))
        elif current is not None and not name.startswith("!"):
            hub_value = self.value_of(current, name)
            if name not in records.SECRET_FIELDS:
                revert = [self.field_row(row, current, name, hub_value)]
        self.conflict(row, current if current is not True else None,
                      f"not permitted: {action}", name, hub_value,
                      new if name != records.DELETED else old, restore=restore, revert=revert)

    def child_revert(self, row: tuple, version: int | None) -> list[tuple]:
        """The rows that put a child row back as the hub has it (or remove one the hub does
        not have)."""
        name, old, new = row[3], row[4], row[5]
        table = name[:-1]
        data = json.loads((old if name[-1] == "-" else new) or "{}")
        child = self.children[table].get_or_none(self.children[table].id == data.get("id"))
        stamp = (*row[6:10], version, self.conflict_batch)
        if child is None:
            if name[-1] == "-":
                return []
            return [(row[0], row[1], row[2], table + "-", json.dumps(data, sort_keys=True),
                     None, *stamp)]
        theirs = records.wire_row(child, include_id=True)
        if name[-1] == "-":  # the replica removed it: it comes back
            return [(row[0], row[1], row[2], table + "+", None, _json(theirs), *stamp)]
        return [(row[0], row[1], row[2], table + "~", _json(theirs), _json(theirs), *stamp)]

    def restore_rows(self, kind: str, current: Any, ref: str | None) -> list[tuple]:
        """Rows that put the record back as the hub has it (with its child rows) on the replica
        that deleted it, so both sides hold it again until a person decides."""
        model = type(current)
        wire = records.wire_row(current)
        if isinstance(current, TrackedModel):
            wire["created_at"] = records.to_text(current.created_at)
        created_by = getattr(current, "created_by", None)
        updated_by = getattr(current, "updated_by", None)
        created_at = getattr(current, "created_at", None) or utcnow()
        updated_at = getattr(current, "updated_at", None) or utcnow()
        version = getattr(current, "version", None)
        batch = self.conflict_batch
        rows = [(kind, current.id, ref, records.CREATED, None, _json(wire), created_by, None,
                 created_at, "", version, batch)]
        for table, child in sorted(self.children.items()):
            parent_field = child._meta.fields[child.PARENT]
            if parent_field.rel_model is not model:
                continue
            for row in child.select().where(parent_field == current.id).order_by(child.id):
                rows.append((kind, current.id, ref, table + "+", None,
                             _json(records.wire_row(row, include_id=True)), updated_by, None,
                             updated_at, "", version, batch))
        name = next((n for n in wire if n != "created_at"), None)
        if name is not None:  # the record's last who/when (a field set to its own value)
            rows.append((kind, current.id, ref, name, wire[name], wire[name], updated_by, None,
                         updated_at, "", version, batch))
        return rows

    def value_of(self, current: Any, name: str) -> str | None:
        if current is True:
            return None
        if isinstance(current, Setting):
            return records.to_text(current.value)
        if name in current._meta.fields:
            return records.to_text(records.field_value(current, name))
        return None

    def merge_child(self, row: tuple, current: Any) -> None:
        name, old, new = row[3], row[4], row[5]
        op = name[-1]
        if op == "+":
            if current is None:
                self.conflict(row, None, "deleted on the hub", name, None, new)
            else:
                self.accept(row, current)
            return
        data = json.loads(old if op == "-" else new)
        child_id = data.get("id")
        table = name[:-1]
        hub_keys: set[str] = set()
        removed = False
        for f, o, n in self.changed_since(row[0], row[1]) if current is not None else ():
            if f == table + "-" and json.loads(o or "{}").get("id") == child_id:
                removed = True
            elif f == table + "~":
                theirs_old, theirs_new = json.loads(o or "{}"), json.loads(n or "{}")
                if theirs_new.get("id") == child_id:
                    hub_keys |= {k for k, v in theirs_new.items()
                                 if k != "id" and theirs_old.get(k) != v}
        if op == "-":
            if current is not None and not removed:
                self.accept(row, current)
            return
        if current is None or removed:
            self.conflict(row, current, "deleted on the hub", name, None, new)
            return
        mine_old = json.loads(old or "{}")
        changed = {k for k, v in data.items() if k != "id" and mine_old.get(k) != v}
        child_row = self.children[table].get_or_none(self.children[table].id == child_id)
        clash = {k for k in changed & hub_keys if child_row is None
                 or k not in child_row._meta.fields
                 or records.to_text(records.field_value(child_row, k)) != data[k]}
        changed -= (changed & hub_keys) - clash  # (the same value on both sides)
        if not clash:
            self.accept(row, current)
            return
        for key in sorted(clash):
            theirs = (records.to_text(records.field_value(child_row, key))
                      if child_row is not None and key in child_row._meta.fields else None)
            back = json.dumps({"id": child_id, key: theirs}, sort_keys=True)
            self.conflict(row, current, "changed on both sides", f"{name}{key}", theirs,
                          json.dumps({"id": child_id, key: data[key]}, sort_keys=True),
                          revert=[(row[0], row[1], row[2], table + "~", back, back, *row[6:10],
                                   getattr(current, "version", None), self.conflict_batch)])
        keep = changed - clash
        if keep:
            labels = {k: v for k, v in data.items() if k not in changed}
            self.accept(row, current,
                        old=json.dumps({**labels, **{k: mine_old.get(k) for k in keep}},
                                       sort_keys=True),
                        new=json.dumps({**labels, **{k: data[k] for k in keep}}, sort_keys=True))


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def apply_batch(op: Batch, operator: Actor = SYSTEM) -> Outcome:
    """Apply one pushed batch to the bound database (the hub) in one transaction, at most once.
    Returns what was applied and the conflicts it journalled.  ``operator``: who runs the sync
    (:class:`trust.Gate`)."""
    return apply_batches([op], operator)[0]


def apply_batches(batches: list[Batch], operator: Actor = SYSTEM,
                  cache: PushCache | None = None) -> list[Outcome]:
    """Apply pushed batches of one site in order, in **one** hub transaction (a commit per batch
    is what a slow disk or link makes expensive): each merged on its own, at most once, against
    the hub as the batches before it leave it; their rows applied in one go.  ``cache``: the
    same one for every call of one push (:class:`PushCache`)."""
    database = db.obj
    ours = current_version(database)
    for op in batches:
        if op.schema != ours:
            raise refuse_schema(op.schema, ours or 0)
    if len({op.site for op in batches}) > 1:
        raise ValueError("apply_batches: batches of one site at a time")
    out: list[Outcome] = []
    rows: list[tuple] = []
    with write_transaction(database):
        group = _Group(batches, operator, cache)
        for op in batches:
            if op.batch in group.seen:
                out.append(Outcome(op.batch, seen=True, rows=len(op.rows)))
                continue
            group.seen.add(op.batch)
            if rows and group.reads_child_rows(op):
                replay.apply(rows, keep_journal=True)  # (the batches before, in the tables)
                rows = []
            merge = _Merge(op, operator, group)
            for row in op.rows:
                merge.merge(tuple(row))
            merge.mirror()
            first = op.rows[0] if op.rows else (None,) * 12
            marker = (None, MARKER_KIND, site_record_id(op.site), op.site, SYNCED, None,
                      json.dumps({"rows": len(op.rows), "applied": merge.outcome.applied,
                                  "conflicts": len(merge.conflicts), "base": op.base,
                                  "schema": op.schema}, sort_keys=True),
                      first[6], first[7], utcnow(), op.site, None, op.batch)
            rows += [marker, *merge.accepted, *merge.conflict_rows()]
            out.append(merge.outcome)
        replay.apply(rows, keep_journal=True)
    if cache is not None:  # (committed: the next group may take them as they are)
        cache.records.update(group.records)
    return out


def conflicts(limit: int | None = None) -> list[dict[str, Any]]:
    """The ``!conflict`` notes of the bound database, newest first (the Conflicts dock will
    read these; deciding one is not built yet)."""
    query = (JournalEntry.select().where(JournalEntry.field == CONFLICT)
             .order_by(JournalEntry.id.desc()))
    if limit:
        query = query.limit(limit)
    out = []
    for row in query:
        detail = json.loads(row.new or "{}")
        detail.pop("revert", None)  # (rows for the replica's pull, not for people)
        detail.pop("restore", None)
        out.append({"kind": row.record_kind, "id": str(row.record_id), "ref": row.record_ref,
                    "noted_at": row.at,
                    **detail})
    return out
