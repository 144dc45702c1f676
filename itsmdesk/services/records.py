"""The write path every service uses: one transaction, version check, journal rows.

``create``/``update``/``delete`` here are generic; each process's service validates its own
fields and then calls them.  A stale edit raises :class:`ConflictError` naming the record and who
changed it, with the record's current values and the fields changed since the caller's version,
and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import peewee as pw

from itsmdesk.errors import N_, ConflictError, NotFoundError, ValidationError
from itsmdesk.models.base import RefCounter, TrackedModel, db, utcnow
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services.context import SYSTEM, Actor

M = TypeVar("M", bound=TrackedModel)

# Bookkeeping no service sets: keys, locking, who/when, and the database-kept CMDB graph index.
SKIP_JOURNAL_FIELDS = {"id", "version", "created_at", "created_by", "updated_at", "updated_by",
                       "gid", "source_gid", "target_gid"}


def to_text(value: Any) -> str | None:
    """How a value is written into the journal (and compared for changes)."""
    if value is None:
        return None
    if isinstance(value, pw.Model):
        return str(value.get_id())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def field_value(record: pw.Model, name: str) -> Any:
    """A field's raw value: the id for a foreign key (no extra query)."""
    field = record._meta.fields[name]
    if isinstance(field, pw.ForeignKeyField):
        return record.__data__.get(name)
    return getattr(record, name)


def snapshot(record: pw.Model) -> dict[str, Any]:
    return {name: field_value(record, name) for name in record._meta.fields}


def next_ref(prefix: str, site: str = "") -> str:
    """Next human reference, e.g. ``INC-000124``; with a site code ``INC-OSL-000007``.

    Must run inside the caller's transaction.  The counter row is bumped with an UPDATE first so
    concurrent writers on PostgreSQL serialise on the row lock.
    """
    key = f"{prefix}-{site}" if site else prefix
    updated = RefCounter.update(value=RefCounter.value + 1).where(RefCounter.prefix == key).execute()
    if not updated:
        # First reference with this prefix: start after any existing ones (e.g. imported data).
        RefCounter.insert(prefix=key, value=1).on_conflict(
            conflict_target=[RefCounter.prefix],
            update={RefCounter.value: RefCounter.value + 1}).execute()
    value = RefCounter.get_by_id(key).value
    return f"{key}-{value:06d}"


JOURNAL_COLUMNS = ("record_kind", "record_id", "record_ref", "field", "old", "new", "who_id",
                   "who_name", "at", "site", "version", "batch")


def write_journal(kind: str, record_id: uuid.UUID, ref: str | None,
                  changes: Iterable[tuple[str, Any, Any]], actor: Actor,
                  version: int | None = None, batch: uuid.UUID | None = None,
                  at: dt.datetime | None = None) -> int:
    """Append one row per (field, old, new)."""
    when = at or utcnow()
    rows = [(kind, record_id, ref, name, to_text(old), to_text(new), actor.person_id, actor.name,
             when, actor.site, version, batch) for name, old, new in changes]
    return insert_journal_rows(rows)


def insert_journal_rows(rows: list[tuple]) -> int:
    """Bulk-append journal rows (tuples in :data:`JOURNAL_COLUMNS` order) with one executemany.

    Imports write hundreds of thousands of rows; building them through the ORM costs ~30x the
    driver's own executemany, so values are converted with the fields' ``db_value`` and sent raw.
    """
    if not rows:
        return 0
    database = db.obj
    pg = isinstance(database, pw.PostgresqlDatabase)
    fields = [JournalEntry._meta.fields[c] for c in JOURNAL_COLUMNS]
    uuid_idx = [i for i, f in enumerate(fields) if isinstance(f, pw.UUIDField)]
    time_idx = [i for i, f in enumerate(fields) if isinstance(f, pw.DateTimeField)]

    def convert(row: tuple) -> tuple:
        out = list(row)
        for i in uuid_idx:
            value = out[i]
            if value is not None:
                value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
                out[i] = str(value) if pg else value.hex
        if not pg:
            for i in time_idx:
                if out[i] is not None:
                    out[i] = out[i].strftime("%Y-%m-%d %H:%M:%S")
        return tuple(out)

    marks = ", ".join([database.param] * len(JOURNAL_COLUMNS))
    cols = ", ".join(f'"{c}"' for c in JOURNAL_COLUMNS)
    sql = f'INSERT INTO "{JournalEntry._meta.table_name}" ({cols}) VALUES ({marks})'
    cursor = database.cursor()
    cursor.executemany(sql, [convert(r) for r in rows])
    return len(rows)


def _check_fields(model: type[pw.Model], values: Mapping[str, Any], allow_id: bool = False) -> None:
    unknown = [k for k in values if k not in model._meta.fields
               or (k in SKIP_JOURNAL_FIELDS and not (allow_id and k in ("id", "created_at")))]
    if unknown:
        raise ValidationError(N_("Unknown field(s) for {kind}: {fields}"),
                              kind=getattr(model, "RECORD_KIND", model.__name__),
                              fields=", ".join(sorted(unknown)))


def create(model: type[M], values: Mapping[str, Any], actor: Actor = SYSTEM,
           ref_prefix: str | None = None, batch: uuid.UUID | None = None) -> M:
    """Insert one record and journal every field that was set.  Call inside ``db.atomic()``.

    ``values`` may carry ``id`` (records replicated or imported keep their key) and
    ``created_at`` (imported history keeps its time).
    """
    _check_fields(model, values, allow_id=True)
    data = dict(values)
    now = utcnow()
    data.setdefault("created_at", now)
    data["updated_at"] = now
    data["created_by"] = data["updated_by"] = actor.person_id
    if ref_prefix and not data.get("ref"):
        data["ref"] = next_ref(ref_prefix, actor.site)
    record = model.create(**data)
    changes = [(name, None, field_value(record, name)) for name in model._meta.fields
               if name not in SKIP_JOURNAL_FIELDS and field_value(record, name) not in (None, "")]
    write_journal(model.RECORD_KIND, record.id, record.record_label(),
                  [("*created*", None, record.record_label())] + changes, actor, record.version, batch)
    return record


def get(model: type[M], record_id: Any) -> M:
    record = model.get_or_none(model.id == record_id) if record_id is not None else None
    if record is None:
        raise NotFoundError(N_("No {kind} with id {id}"), kind=model.RECORD_KIND, id=record_id)
    return record


def _fields_changed_since(kind: str, record_id: uuid.UUID, version: int) -> list[str]:
    rows = (JournalEntry.select(JournalEntry.field).distinct()
            .where((JournalEntry.record_kind == kind) & (JournalEntry.record_id == record_id)
                   & (JournalEntry.version > version)))
    return sorted(r.field for r in rows if not r.field.startswith("*"))


def raise_conflict(record: TrackedModel, expected_version: int) -> None:
    who = "someone"
    if record.updated_by:
        from itsmdesk.models.people import Person

        person = Person.get_or_none(Person.id == record.updated_by)
        who = person.name if person else who
    last = (JournalEntry.select().where((JournalEntry.record_kind == record.RECORD_KIND)
                                        & (JournalEntry.record_id == record.id))
            .order_by(JournalEntry.id.desc()).first())
    if last and last.who_name and not record.updated_by:
        who = last.who_name
    raise ConflictError(
        N_("{record} was changed by {who} at {when} UTC after you opened it "
           "(your version {yours}, now {theirs}); nothing was saved."),
        current=snapshot(record),
        changed_fields=_fields_changed_since(record.RECORD_KIND, record.id, expected_version),
        record=record.record_label(), who=who, when=to_text(record.updated_at),
        yours=expected_version, theirs=record.version)


def update(model: type[M], record_id: Any, expected_version: int | None,
           changes: Mapping[str, Any], actor: Actor = SYSTEM,
           batch: uuid.UUID | None = None) -> M:
    """Apply ``changes`` if the record is still at ``expected_version``; journal each change.

    ``expected_version`` None skips the check (system jobs such as SLA escalation, which must
    not lose to a person's edit but also never overwrite one: they only touch their own fields).
    Call inside ``db.atomic()``.
    """
    _check_fields(model, changes)
    record = get(model, record_id)
    if expected_version is not None and record.version != expected_version:
        raise_conflict(record, expected_version)
    diffs = []
    for name, new in changes.items():
        old = field_value(record, name)
        new_raw = new.get_id() if isinstance(new, pw.Model) else new
        if to_text(old) != to_text(new_raw):
            diffs.append((name, old, new_raw))
    if not diffs:
        return record
    new_version = record.version + 1
    values = {name: new for name, _old, new in diffs}
    values.update(version=new_version, updated_at=utcnow(), updated_by=actor.person_id)
    query = model.update(**values).where((model.id == record.id) & (model.version == record.version))
    if query.execute() != 1:  # someone committed between our read and our write
        raise_conflict(get(model, record_id), record.version)
    write_journal(model.RECORD_KIND, record.id, record.record_label(), diffs, actor, new_version, batch)
    return get(model, record_id)


def delete(model: type[M], record_id: Any, expected_version: int | None,
           actor: Actor = SYSTEM) -> None:
    record = get(model, record_id)
    if expected_version is not None and record.version != expected_version:
        raise_conflict(record, expected_version)
    write_journal(model.RECORD_KIND, record.id, record.record_label(),
                  [("*deleted*", record.record_label(), None)], actor, record.version + 1)
    record.delete_instance()


def atomic():
    """The one transaction a service call runs in."""
    return db.atomic()


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    who: str | None
    site: str
    field: str
    old: str | None
    new: str | None
    version: int | None


def history(kind: str, record_id: Any, limit: int | None = None) -> list[HistoryEntry]:
    """Who changed what, when, newest first."""
    query = (JournalEntry.select()
             .where((JournalEntry.record_kind == kind) & (JournalEntry.record_id == record_id))
             .order_by(JournalEntry.at.desc(), JournalEntry.id.desc()))
    if limit:
        query = query.limit(limit)
    return [HistoryEntry(r.at, r.who_name, r.site, r.field, r.old, r.new, r.version) for r in query]
