"""The write funnel: every write of every service passes through here.

One transaction per service call (:func:`atomic`; nested calls join it).  Inside it:

* a record's ``version`` is checked (a stale edit raises :class:`ConflictError` naming who
  changed the record, with its current values and the fields changed since, and nothing is
  written) and bumped once per service call;
* a child row (an affected CI, a vote, a note, an attachment...) bumps the version of the record
  it belongs to (``BaseModel.PARENT``) and is journalled on that record, so a stale edit of an RFC
  conflicts with a concurrent change to its CIs;
* settings are records too (kind ``setting``), versioned and journalled;
* the journal gets one row per changed field (who, when in UTC, site, the record's new version,
  one batch id per call), flushed in one statement before the commit;
* the call's :class:`Changes` (kinds and ids created, changed, deleted) is handed, after the
  commit, to every :func:`capture` around it: the GUI broadcasts it once, the CLI can report it.

Journal format (the contract :mod:`itsmdesk.services.replay` and sync rely on):

==================  =========================================================================
``field``            meaning of ``old`` / ``new``
==================  =========================================================================
``*created*``        ``new``: JSON object of the new record's fields (wire text, see to_text)
``*deleted*``        ``old``: JSON object of the record's fields when it was deleted
a field name         the field's old and new value as wire text
``TABLE+``           child row added: ``new`` JSON object of the row (with its ``id``)
``TABLE~``           child row changed: ``old``/``new`` JSON objects of ``id`` + changed fields
``TABLE-``           child row removed: ``old`` JSON object of the row
``!EVENT``           a note for people (no data change); replay ignores it
==================  =========================================================================

Services call ``create``/``update``/``delete``, ``add_child``/``update_child``/``remove_child``/
``set_links``, ``set_setting`` and ``note``; bulk writers (imports, the large demo) use
:mod:`itsmdesk.services.bulk`, the funnel's bulk half, which journals in the same format.  No
service writes a model any other way (tests/test_write_funnel.py).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import datetime as dt
import decimal
import enum
import functools
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import peewee as pw

from itsmdesk.errors import N_, ConflictError, NotFoundError, ValidationError
from itsmdesk.models import journal_guard, write_lock
from itsmdesk.models.base import BaseModel, RefCounter, Setting, TrackedModel, db, utcnow
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services.context import SYSTEM, Actor, current_site

M = TypeVar("M", bound=BaseModel)

# Bookkeeping no service sets: keys, locking, who/when, and the database-kept CMDB graph index.
SKIP_JOURNAL_FIELDS = {"id", "version", "created_at", "created_by", "updated_at", "updated_by",
                       "gid", "source_gid", "target_gid"}
# Never journalled at all (local to one database).
LOCAL_FIELDS = {"gid", "source_gid", "target_gid"}
# Kept in their table but never written into the journal: the journal says only that a value
# was set (SECRET_MARK) or cleared (None).  Replay and sync leave these fields alone.
SECRET_FIELDS = {"password_hash"}
SECRET_MARK = "(set)"
CREATED, DELETED = "*created*", "*deleted*"
SETTING_NAMESPACE = uuid.UUID("5d0c7a4e-7c1b-4c61-9a8e-2b8f4f4b7a10")


# -- wire form of values ----------------------------------------------------------------------------
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
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def from_text(model_field: pw.Field, text: str | None) -> Any:
    """The value :func:`to_text` wrote, read back as the field's Python value."""
    if text is None:
        return None
    known = _READERS.get(id(model_field))
    if known is None or known[0] is not model_field:  # (a sync reads hundreds of thousands)
        known = _READERS[id(model_field)] = (model_field, _reader(model_field))
    return text if known[1] is None else known[1](text)


_READERS: dict[int, tuple[pw.Field, Callable[[str], Any] | None]] = {}


def _reader(model_field: pw.Field) -> Callable[[str], Any] | None:
    """How :func:`from_text` reads a field's text (None: the text is the value)."""
    from itsmdesk.models.base import JSONField

    if isinstance(model_field, pw.ForeignKeyField):
        model_field = model_field.rel_field
    if isinstance(model_field, JSONField):
        return json.loads
    if isinstance(model_field, pw.UUIDField):
        return uuid.UUID
    if isinstance(model_field, pw.BooleanField):
        return lambda text: text == "true"
    if isinstance(model_field, (pw.IntegerField, pw.BigIntegerField, pw.AutoField)):
        return int
    if isinstance(model_field, pw.FloatField):
        return float
    if isinstance(model_field, pw.DecimalField):
        return decimal.Decimal
    if isinstance(model_field, pw.DateTimeField):
        return dt.datetime.fromisoformat
    if isinstance(model_field, pw.DateField):
        return dt.date.fromisoformat
    if isinstance(model_field, pw.BlobField):
        return lambda text: (base64.b64decode(text[len("base64:"):]) if text.startswith("base64:")
                             else text.encode())
    return None


def field_value(record: pw.Model, name: str) -> Any:
    """A field's raw value: the id for a foreign key (no extra query)."""
    model_field = record._meta.fields[name]
    if isinstance(model_field, pw.ForeignKeyField):
        return record.__data__.get(name)
    return getattr(record, name)


def snapshot(record: pw.Model) -> dict[str, Any]:
    return {name: field_value(record, name) for name in record._meta.fields}


def _is_default(model_field: pw.Field, value: Any) -> bool:
    """Whether ``value`` is what an insert without this field would store anyway."""
    default = model_field.default
    if callable(default):
        return False
    return value is None and default is None or value == "" and default == ""


def _bookkeeping(model: type[pw.Model]) -> set[str]:
    """Fields the funnel sets itself: a record's locking and who/when; a plain row has none
    (a work log note's ``created_at`` is its own data)."""
    return SKIP_JOURNAL_FIELDS if issubclass(model, TrackedModel) else {"id"} | LOCAL_FIELDS


def wire_row(record: pw.Model, include_id: bool = False) -> dict[str, str | None]:
    """The record's fields as wire text: every value an insert must be told (the rest is the
    field's default)."""
    skip = _bookkeeping(type(record))
    out: dict[str, str | None] = {}
    for name, model_field in record._meta.fields.items():
        if name in LOCAL_FIELDS or (name in skip and not (include_id and name == "id")):
            continue
        value = field_value(record, name)
        if name == "id" or not _is_default(model_field, value):
            out[name] = to_text(value) if name not in SECRET_FIELDS else _secret(value)
    return out


def _secret(value: Any) -> str | None:
    """A secret field's journal value: whether it is set, never what it is."""
    return None if value is None else SECRET_MARK


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def kind_of(model: type[pw.Model]) -> str:
    return getattr(model, "RECORD_KIND", None) or model._meta.table_name


def _label(record: pw.Model) -> str:
    labeller = getattr(record, "record_label", None)
    return labeller() if labeller else str(record.get_id())


# -- what a write changed ---------------------------------------------------------------------------
@dataclass
class Changes:
    """The kinds and ids one or more committed writes created, changed and deleted.

    Child rows appear twice: their parent record as changed, and their own table (e.g.
    ``work_log``) as created/changed/deleted.  ``wholesale`` holds kinds changed in bulk with no
    id list (an import): panels showing that kind refresh whole.
    """

    created: dict[str, set[Any]] = field(default_factory=dict)
    changed: dict[str, set[Any]] = field(default_factory=dict)
    deleted: dict[str, set[Any]] = field(default_factory=dict)
    wholesale: set[str] = field(default_factory=set)
    batches: list[uuid.UUID] = field(default_factory=list)

    def note(self, how: str, kind: str, record_id: Any) -> None:
        getattr(self, how).setdefault(str(kind), set()).add(record_id)

    def note_many(self, kind: str) -> None:
        self.wholesale.add(str(kind))

    def merge(self, other: Changes) -> None:
        for how in ("created", "changed", "deleted"):
            mine = getattr(self, how)
            for kind, ids in getattr(other, how).items():
                mine.setdefault(kind, set()).update(ids)
        self.wholesale |= other.wholesale
        self.batches.extend(other.batches)

    def kinds(self) -> set[str]:
        return set(self.created) | set(self.changed) | set(self.deleted) | self.wholesale

    def touches(self, *kinds: str) -> bool:
        mine = self.kinds()
        return any(str(k) in mine for k in kinds)

    def ids(self, kind: str) -> set[Any]:
        kind = str(kind)
        return (self.created.get(kind, set()) | self.changed.get(kind, set())
                | self.deleted.get(kind, set()))

    def is_wholesale(self, kind: str) -> bool:
        return str(kind) in self.wholesale

    def __bool__(self) -> bool:
        return bool(self.kinds())


# -- the unit of work -------------------------------------------------------------------------------
class Write:
    """One service call's transaction: its batch id, its time, the versions it bumped, the
    journal rows it will flush and the Changes it will publish after the commit."""

    def __init__(self, batch: uuid.UUID | None = None) -> None:
        self.batch = batch or uuid.uuid4()
        self.now = utcnow()
        self.changes = Changes(batches=[self.batch])
        self.bumped: dict[tuple[str, Any], int] = {}
        self.journal: list[tuple] = []

    def journal_row(self, kind: str, record_id: Any, ref: str | None, name: str, old: Any, new: Any,
                    actor: Actor, version: int | None, at: dt.datetime | None = None) -> None:
        self.journal.append((str(kind), record_id, (ref or "")[:300] or None, name,
                             to_text(old) if not isinstance(old, str) else old,
                             to_text(new) if not isinstance(new, str) else new,
                             actor.person_id, actor.name, at or self.now, site_of(actor), version,
                             self.batch))

    def flush(self) -> None:
        rows, self.journal = self.journal, []
        insert_journal_rows(rows)


_WRITE: contextvars.ContextVar[Write | None] = contextvars.ContextVar("itsmdesk_write", default=None)
_CAPTURES: contextvars.ContextVar[tuple[Changes, ...]] = contextvars.ContextVar(
    "itsmdesk_captures", default=())
_PRESET_BATCH: contextvars.ContextVar[list[uuid.UUID] | None] = contextvars.ContextVar(
    "itsmdesk_preset_batch", default=None)


@contextlib.contextmanager
def preset_batch(batch: uuid.UUID) -> Iterator[None]:
    """The next outermost write in this block gets ``batch`` as its batch id (chosen before
    the call, so a caller whose connection died during COMMIT can look whether it landed)."""
    token = _PRESET_BATCH.set([batch])
    try:
        yield
    finally:
        _PRESET_BATCH.reset(token)


def current() -> Write | None:
    """The write in progress on this thread, if any."""
    return _WRITE.get()


def _begin() -> Any:
    """The outermost transaction (:func:`itsmdesk.models.write_lock.write_transaction`).  On
    SQLite it begins IMMEDIATE: the write lock is taken at the start, so a second writer waits
    (busy timeout, then a few jittered retries, then a DatabaseBusyError naming the holder)
    instead of failing when it tries to upgrade a read lock halfway through."""
    return write_lock.write_transaction(db.obj)


@contextlib.contextmanager
def atomic(savepoint: bool = False) -> Iterator[Write]:
    """The one transaction a service call runs in; a nested call joins the outer one.

    ``savepoint=True`` makes a nested block undoable on its own (for code that catches a failed
    statement and goes on); otherwise nesting costs nothing.
    """
    outer = _WRITE.get()
    if outer is not None:
        if not savepoint:
            yield outer
            return
        mark, bumped = len(outer.journal), dict(outer.bumped)
        saved = Changes()
        saved.merge(outer.changes)
        try:
            with db.atomic():
                yield outer
        except BaseException:
            del outer.journal[mark:]
            outer.bumped, outer.changes = bumped, saved
            raise
        return
    preset = _PRESET_BATCH.get()
    from_preset = bool(preset)
    write = Write(preset.pop() if preset else None)
    token = _WRITE.set(write)
    try:
        with _begin():
            yield write
            write.flush()
    except BaseException:
        if from_preset and preset is not None and not preset:
            preset.append(write.batch)  # nothing committed: a retry of the call keeps its batch
        raise
    finally:
        _WRITE.reset(token)
    for changes in _CAPTURES.get():
        changes.merge(write.changes)


@contextlib.contextmanager
def capture() -> Iterator[Changes]:
    """Collect the Changes of every write committed inside the block (on this thread)."""
    changes = Changes()
    token = _CAPTURES.set(_CAPTURES.get() + (changes,))
    try:
        yield changes
    finally:
        _CAPTURES.reset(token)


def _write() -> Write:
    write = _WRITE.get()
    if write is None:  # pragma: no cover - every public writer opens one
        raise RuntimeError("records: a write outside records.atomic()")
    return write


def _in_write(fn):  # noqa: ANN001, ANN202 - decorator
    """Run a writer inside the current write, or in a write of its own."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if _WRITE.get() is not None:
            return fn(*args, **kwargs)
        with atomic():
            return fn(*args, **kwargs)
    return wrapper


# -- references -------------------------------------------------------------------------------------
def next_ref(prefix: str, site: str = "") -> str:
    """Next human reference, e.g. ``INC-000124``; with a site code ``INC-OSL-000007``.

    Must run inside the caller's transaction.  The counter row is bumped with an UPDATE first so
    concurrent writers on PostgreSQL serialise on the row lock.
    """
    key = f"{prefix}-{site}" if site else prefix
    if isinstance(db.obj, pw.PostgresqlDatabase):
        row = db.execute_sql(
            'INSERT INTO "ref_counter" (prefix, value) VALUES (%s, 1) ON CONFLICT (prefix) '
            'DO UPDATE SET value = "ref_counter".value + 1 RETURNING value', (key,)).fetchone()
        return f"{key}-{row[0]:06d}"
    updated = RefCounter.update(value=RefCounter.value + 1).where(RefCounter.prefix == key).execute()
    if not updated:
        RefCounter.insert(prefix=key, value=1).on_conflict(
            conflict_target=[RefCounter.prefix],
            update={RefCounter.value: RefCounter.value + 1}).execute()
    value = RefCounter.get_by_id(key).value
    return f"{key}-{value:06d}"


def reserve_refs(prefix: str, count: int, site: str = "") -> int:
    """Reserve ``count`` consecutive numbers for a bulk writer; returns the first."""
    key = f"{prefix}-{site}" if site else prefix
    updated = RefCounter.update(value=RefCounter.value + count).where(RefCounter.prefix == key).execute()
    if not updated:
        RefCounter.insert(prefix=key, value=count).on_conflict(
            conflict_target=[RefCounter.prefix],
            update={RefCounter.value: RefCounter.value + count}).execute()
    return RefCounter.get_by_id(key).value - count + 1


# -- the journal ------------------------------------------------------------------------------------
JOURNAL_COLUMNS = ("record_kind", "record_id", "record_ref", "field", "old", "new", "who_id",
                   "who_name", "at", "site", "version", "batch")
_JOURNAL_CHUNK = 400  # rows per INSERT on PostgreSQL (12 parameters each)


def insert_journal_rows(rows: Sequence[tuple]) -> int:
    """Append journal rows (tuples in :data:`JOURNAL_COLUMNS` order), in bulk.

    PostgreSQL: one statement per 400 rows (a save on a branch-office link pays one round trip
    for its journal) or COPY for thousands; SQLite: one prepared statement for every row.  Either
    way imports and syncs of hundreds of thousands of rows avoid the ORM's per-row cost.
    """
    if not rows:
        return 0
    database = db.obj
    pg = isinstance(database, pw.PostgresqlDatabase)
    fields = [JournalEntry._meta.fields[c] for c in JOURNAL_COLUMNS]
    uuid_idx = [i for i, f in enumerate(fields) if isinstance(f, pw.UUIDField)]
    time_idx = [i for i, f in enumerate(fields) if isinstance(f, pw.DateTimeField)]

    keys: dict[Any, str] = {}  # (the same records and batches again and again: each once)

    def convert(row: tuple) -> tuple:
        out = list(row)
        for i in uuid_idx:
            value = out[i]
            if value is not None:
                text = keys.get(value)
                if text is None:
                    key = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
                    text = keys[value] = str(key) if pg else key.hex
                out[i] = text
        if not pg:
            for i in time_idx:
                value = out[i]
                if value is not None:  # (str(): a third of strftime's time)
                    out[i] = (str(value)[:19] if type(value) is dt.datetime
                              else value.strftime("%Y-%m-%d %H:%M:%S"))
        return tuple(out)

    names = JOURNAL_COLUMNS if pg else JOURNAL_COLUMNS + ("chain",)  # (SQLite: hash chain)
    one = "(" + ", ".join([database.param] * len(names)) + ")"
    cols = ", ".join(f'"{c}"' for c in names)
    head = f'INSERT INTO "{JournalEntry._meta.table_name}" ({cols}) VALUES '
    cursor = database.cursor()
    if pg and len(rows) >= _COPY_FROM and _may_copy(database):
        cursor.copy_expert(f'COPY "{JournalEntry._meta.table_name}" ({cols}) FROM STDIN',
                           io.StringIO(_copy_text(rows)), size=1 << 20)
        return len(rows)
    converted = [convert(row) for row in rows]
    if not pg:  # (no round trips to save: one statement run for every row is the fastest)
        cursor.executemany(f'INSERT INTO "{JournalEntry._meta.table_name}" ({cols}) VALUES {one}',
                           list(journal_guard.chain(database, converted)))
        return len(rows)
    for start in range(0, len(rows), _JOURNAL_CHUNK):
        part = converted[start:start + _JOURNAL_CHUNK]
        params = [value for row in part for value in row]
        cursor.execute(head + ", ".join([one] * len(part)), params)
    return len(rows)


# From this many rows (a sync, an import) the journal is written with COPY where PostgreSQL allows
# it: half the time of multi-row INSERTs.  Not where the journal has row-level security (a
# shared database set up with roles): COPY FROM is refused there, so INSERTs it is.
_COPY_FROM = 1000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _may_copy(database: pw.Database) -> bool:
    known = getattr(database, "_itsmdesk_journal_copy", (None, False))
    connection = database.connection()
    if known[0] is not connection:  # (asked once per connection)
        row = database.execute_sql(
            "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass",
            (f'"{JournalEntry._meta.table_name}"',)).fetchone()
        known = (connection, bool(row) and not row[0])
        database._itsmdesk_journal_copy = known
    return known[1]


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_NULL = "\\N"


def _copy_text(rows: Sequence[tuple]) -> str:
    """Journal rows (:data:`JOURNAL_COLUMNS` order) in COPY's text format: NULL as ``\\N``,
    backslash, tab and line breaks escaped in the texts; keys and times as PostgreSQL reads
    them (a key as text with or without dashes, a time as ``YYYY-MM-DD HH:MM:SS``)."""
    special = _COPY_SPECIAL.search

    def text(value: Any) -> str:
        if value is None:
            return _NULL
        value = str(value)
        return value.translate(_COPY_ESCAPES) if special(value) else value

    def key(value: Any) -> Any:
        return _NULL if value is None else value

    out = []
    for kind, record_id, ref, name, old, new, who_id, who_name, at, site, version, batch in rows:
        out.append(f"{text(kind)}\t{record_id}\t{text(ref)}\t{text(name)}\t{text(old)}\t"
                   f"{text(new)}\t{key(who_id)}\t{text(who_name)}\t{text(at)}\t{text(site)}\t"
                   f"{key(version)}\t{key(batch)}\n")
    return "".join(out)


def site_of(actor: Actor) -> str:
    """Where a write comes from: the actor's site, else this workstation's (ITSMDESK_SITE)."""
    return actor.site or current_site()


def created_row(kind: str, record_id: Any, ref: str | None, wire: Mapping[str, str | None],
                actor: Actor, at: dt.datetime, version: int | None, batch: uuid.UUID) -> tuple:
    """The ``*created*`` journal row of a record whose fields are ``wire`` (bulk writers)."""
    return (str(kind), record_id, (ref or "")[:300] or None, CREATED, None, _json(wire),
            actor.person_id, actor.name, at, site_of(actor), version, batch)


# -- records ----------------------------------------------------------------------------------------
# the integers each column type holds on both back ends (SQLite would overflow past 64 bits and
# store 32-bit columns' big values; PostgreSQL refuses): one sentence instead
_INT_BOUNDS = ((pw.BigIntegerField, 2 ** 63), (pw.SmallIntegerField, 2 ** 15),
               (pw.IntegerField, 2 ** 31))


def _check_fields(model: type[pw.Model], values: Mapping[str, Any], allow_id: bool = False) -> None:
    skip = _bookkeeping(model)
    unknown = [k for k in values if k not in model._meta.fields or k in LOCAL_FIELDS
               or (k in skip and not (allow_id and k in ("id", "created_at")))]
    if unknown:
        raise ValidationError(N_("Unknown field(s) for {kind}: {fields}"),
                              kind=kind_of(model), fields=", ".join(sorted(unknown)))
    for key, value in values.items():  # PostgreSQL refuses what SQLite would quietly store
        limit = getattr(model._meta.fields[key], "max_length", None)
        if isinstance(value, str) and "\x00" in value:  # SQLite would store it, PG refuses
            from itsmdesk.models.database import nul_error

            raise nul_error()
        if isinstance(value, int) and not isinstance(value, bool):
            bound = next((b for t, b in _INT_BOUNDS if isinstance(model._meta.fields[key], t)),
                         None)
            if bound and not -bound <= value < bound:
                raise ValidationError(N_("{name} of {kind} is {value}, outside the numbers it "
                                         "can hold ({low} to {high})"), field=key, name=key,
                                      kind=kind_of(model), value=value, low=-bound,
                                      high=bound - 1)
        if limit and isinstance(value, str) and len(value) > limit:
            raise ValidationError(N_("{name} of {kind} is longer than {max} characters "
                                     "({length}); shorten it"), field=key, name=key,
                                  kind=kind_of(model), max=limit, length=len(value))


def _fill_defaults(model: type[pw.Model], data: dict[str, Any]) -> None:
    """Evaluate every default once, so the row inserted and the row journalled agree (a
    callable default such as ``utcnow`` must not be called twice)."""
    for name, model_field in model._meta.fields.items():
        if name not in data and model_field.default is not None:
            default = model_field.default
            data[name] = default() if callable(default) else default


def _raw(value: Any) -> Any:
    return value.get_id() if isinstance(value, pw.Model) else value


def _set_raw(record: pw.Model, name: str, value: Any) -> None:
    """Put a written value into the in-memory row without another query."""
    model_field = record._meta.fields[name]
    if isinstance(model_field, pw.ForeignKeyField):
        record.__data__[name] = value
        record.__rel__.pop(name, None)
    else:
        setattr(record, name, value)


def _refuse_taken_key(model: type[pw.Model], key: Any, record_id: Any = None) -> None:
    """A record's external key held by another record of its kind: a sentence naming that
    record, before the unique index would refuse the write (services/unique_keys.py)."""
    if key:
        from itsmdesk.services.unique_keys import refuse_taken

        refuse_taken(model, key, record_id)


@_in_write
def create(model: type[M], values: Mapping[str, Any], actor: Actor = SYSTEM,
           ref_prefix: str | None = None) -> M:
    """Insert one record and journal it (``*created*`` with every field that was set).

    ``values`` may carry ``id`` (records replicated or imported keep their key) and
    ``created_at`` (imported history keeps its time).  A child row goes to :func:`add_child`.
    """
    if model.PARENT:
        return add_child(model, values, actor)
    write = _write()
    _check_fields(model, values, allow_id=True)
    data = {k: _raw(v) for k, v in values.items()}
    tracked = issubclass(model, TrackedModel)
    if tracked:
        data.setdefault("created_at", write.now)
        data["updated_at"] = write.now
        data["created_by"] = data["updated_by"] = actor.person_id
        data["version"] = 1
    if ref_prefix and not data.get("ref"):
        data["ref"] = next_ref(ref_prefix, site_of(actor))
    _fill_defaults(model, data)
    _refuse_taken_key(model, data.get("external_key"))
    model.insert(**data).execute()
    record = model(**data)
    record._dirty.clear()
    wire = wire_row(record)
    if tracked and record.created_at != write.now:
        wire["created_at"] = to_text(record.created_at)
    kind = kind_of(model)
    version = 1 if tracked else None
    write.journal.append(created_row(kind, record.id, _label(record), wire, actor, write.now,
                                     version, write.batch))
    write.bumped[(kind, record.id)] = 1
    write.changes.note("created", kind, record.id)
    return record


def lock(model: type[TrackedModel], record_ids: Iterable[Any]) -> None:
    """Lock these records for the rest of the caller's write, all at once and in one order (by
    id), before reading them: two writers that touch the same records in different orders then
    queue instead of deadlocking, and each reads the other's committed values.  PostgreSQL
    only; SQLite's write transaction already holds the whole database (BEGIN IMMEDIATE)."""
    ids = sorted({str(i) for i in record_ids if i is not None})
    if not ids or not isinstance(db.obj, pw.PostgresqlDatabase):
        return
    table = model._meta.table_name
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        marks = ", ".join(["%s"] * len(chunk))
        db.execute_sql(f'SELECT id FROM "{table}" WHERE id IN ({marks}) ORDER BY id FOR UPDATE',
                       chunk).fetchall()


def get(model: type[M], record_id: Any) -> M:
    record = model.get_or_none(model.id == record_id) if record_id is not None else None
    if record is None:
        raise NotFoundError(N_("No {kind} with id {id}"), kind=kind_of(model), id=record_id)
    return record


def _fields_changed_since(kind: str, record_id: uuid.UUID, version: int) -> list[str]:
    rows = (JournalEntry.select(JournalEntry.field).distinct()
            .where((JournalEntry.record_kind == kind) & (JournalEntry.record_id == record_id)
                   & (JournalEntry.version > version)))
    return sorted(r.field for r in rows if not r.field.startswith(("*", "!")))


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
        current=snapshot(record), shown=_names_of(record),
        changed_fields=_fields_changed_since(record.RECORD_KIND, record.id, expected_version),
        record=record.record_label(), who=who, when=to_text(record.updated_at),
        yours=expected_version, theirs=record.version)


def _names_of(record: pw.Model) -> dict[str, str]:
    """Display text of the record's foreign keys (a person's, a team's, a CI's name...), for a
    merge dialog that must not show ids.  One query per referenced table."""
    out: dict[str, str] = {}
    for name, model_field in record._meta.fields.items():
        value = record.__data__.get(name)
        if not isinstance(model_field, pw.ForeignKeyField) or value is None:
            continue
        target = model_field.rel_model
        for column in ("ref", "name", "title"):
            if column in target._meta.fields:
                row = (target.select(target._meta.fields[column]).where(target.id == value)
                       .tuples().first())
                if row:
                    out[name] = str(row[0])
                break
    return out


def _bump(record: TrackedModel, expected_version: int | None, actor: Actor,
          values: Mapping[str, Any] | None = None) -> int:
    """Check ``record`` is at ``expected_version`` (unless this write already bumped it), write
    ``values`` with the new version and who/when; returns the record's version afterwards."""
    write = _write()
    key = (kind_of(type(record)), record.id)
    mine = write.bumped.get(key)
    if mine is None and expected_version is not None and record.version != expected_version:
        raise_conflict(record, expected_version)
    new_version = record.version if mine == record.version else record.version + 1
    model = type(record)
    assignments = dict(values or {})
    assignments.update(version=new_version, updated_at=write.now, updated_by=actor.person_id)
    query = model.update(**assignments).where((model.id == record.id)
                                              & (model.version == record.version))
    if query.execute() != 1:  # someone committed between our read and our write
        raise_conflict(get(model, record.id), record.version)
    for name, value in assignments.items():
        _set_raw(record, name, value)
    write.bumped[key] = new_version
    write.changes.note("changed", key[0], record.id)
    return new_version


def _diffs(record: pw.Model, changes: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    out = []
    for name, new in changes.items():
        old = field_value(record, name)
        new_raw = _raw(new)
        if to_text(old) != to_text(new_raw):
            out.append((name, old, new_raw))
    return out


@_in_write
def update(model: type[M], record_id: Any, expected_version: int | None,
           changes: Mapping[str, Any], actor: Actor = SYSTEM, current: M | None = None) -> M:
    """Apply ``changes`` if the record is still at ``expected_version``; journal each change.

    ``expected_version`` None skips the check (system jobs such as SLA escalation, which must
    not lose to a person's edit but also never overwrite one: they only touch their own fields).
    ``current``: the row as the caller read it in this transaction (saves a round trip; the
    UPDATE is still guarded by its version, so a change made since is a conflict).
    """
    if model.PARENT:
        return update_child(model, record_id, changes, actor, expected_version)
    write = _write()
    _check_fields(model, changes)
    record = current if current is not None and current.id == record_id else get(model, record_id)
    tracked = isinstance(record, TrackedModel)
    if tracked and expected_version is not None and record.version != expected_version \
            and (kind_of(model), record.id) not in write.bumped:
        raise_conflict(record, expected_version)
    diffs = _diffs(record, changes)
    if not diffs:
        return record
    values = {name: new for name, _old, new in diffs}
    _refuse_taken_key(model, values.get("external_key"), record.id)
    if tracked:
        version = _bump(record, expected_version, actor, values)
    else:
        model.update(**values).where(model.id == record.id).execute()
        for name, value in values.items():
            _set_raw(record, name, value)
        version = None
        write.changes.note("changed", kind_of(model), record.id)
    label = _label(record)
    for name, old, new in diffs:
        if name in SECRET_FIELDS:
            old, new = _secret(old), _secret(new)
        write.journal_row(kind_of(model), record.id, label, name, old, new, actor, version)
    return record


@_in_write
def update_rows(model: type[M], ids: Iterable[Any], changes: Mapping[str, Any],
                actor: Actor = SYSTEM) -> int:
    """The same change to many rows of a kind without versions (notifications marked read) in
    one UPDATE; each row that changes is journalled.  Returns how many changed."""
    if issubclass(model, TrackedModel) or model.PARENT:
        raise TypeError("update_rows is for rows without a version or parent")
    write = _write()
    _check_fields(model, changes)
    ids = list(ids)
    if not ids:
        return 0
    rows = list(model.select().where(model.id.in_(ids)))
    changed = [(row, _diffs(row, changes)) for row in rows]
    changed = [(row, diffs) for row, diffs in changed if diffs]
    if not changed:
        return 0
    values = {name: _raw(value) for name, value in changes.items()}
    model.update(**values).where(model.id.in_([row.id for row, _d in changed])).execute()
    kind = kind_of(model)
    for row, diffs in changed:
        for name, old, new in diffs:
            write.journal_row(kind, row.id, _label(row), name, old, new, actor, None)
        write.changes.note("changed", kind, row.id)
    return len(changed)


@_in_write
def delete(model: type[M], record_id: Any, expected_version: int | None,
           actor: Actor = SYSTEM) -> None:
    """Delete a record (its child rows go with it); journal it with its last values."""
    if model.PARENT:
        remove_child(model, record_id, actor, expected_version)
        return
    write = _write()
    record = get(model, record_id)
    kind = kind_of(model)
    tracked = isinstance(record, TrackedModel)
    if tracked and expected_version is not None and record.version != expected_version \
            and (kind, record.id) not in write.bumped:
        raise_conflict(record, expected_version)
    version = record.version + 1 if tracked else None
    write.journal_row(kind, record.id, _label(record), DELETED, _json(wire_row(record)), None,
                      actor, version)
    record.delete_instance()
    write.changes.note("deleted", kind, record.id)


# -- child rows -------------------------------------------------------------------------------------
def _parent_of(child_model: type[BaseModel]) -> tuple[str, type[TrackedModel]]:
    name = child_model.PARENT
    if not name:
        raise TypeError(f"{child_model.__name__} has no PARENT")
    return name, child_model._meta.fields[name].rel_model


def _touch_parent(child_model: type[BaseModel], parent_id: Any, expected_version: int | None,
                  actor: Actor) -> TrackedModel:
    _name, parent_model = _parent_of(child_model)
    parent = get(parent_model, parent_id)
    _bump(parent, expected_version, actor)
    return parent


def _child_event(parent: TrackedModel, child_model: type[BaseModel], op: str, old: Any, new: Any,
                 actor: Actor, child_id: Any) -> None:
    write = _write()
    table = child_model._meta.table_name
    write.journal_row(kind_of(type(parent)), parent.id, _label(parent), table + op,
                      None if old is None else _json(old), None if new is None else _json(new),
                      actor, parent.version)
    write.changes.note({"+": "created", "~": "changed", "-": "deleted"}[op], table, child_id)


@_in_write
def add_child(child_model: type[M], values: Mapping[str, Any], actor: Actor = SYSTEM,
              expected_version: int | None = None) -> M:
    """Add a child row (``values`` names its parent); bumps and journals the parent."""
    name, _parent_model = _parent_of(child_model)
    _check_fields(child_model, {k: v for k, v in values.items() if k != "id"})
    data = {k: _raw(v) for k, v in values.items()}
    _fill_defaults(child_model, data)
    parent = _touch_parent(child_model, data[name], expected_version, actor)
    child_model.insert(**data).execute()
    row = child_model(**data)
    row._dirty.clear()
    _child_event(parent, child_model, "+", None, wire_row(row, include_id=True), actor, row.id)
    return row


@_in_write
def add_children(child_model: type[M], rows: Sequence[Mapping[str, Any]], actor: Actor = SYSTEM,
                 expected_version: int | None = None) -> list[M]:
    """Add several child rows of one parent in one INSERT."""
    if not rows:
        return []
    name, _parent_model = _parent_of(child_model)
    datas = []
    for values in rows:
        data = {k: _raw(v) for k, v in values.items()}
        _fill_defaults(child_model, data)
        datas.append(data)
    keys = set().union(*datas)  # one INSERT needs the same columns in every row
    for data in datas:
        for key in keys - data.keys():
            data[key] = None
    parent_ids = {d[name] for d in datas}
    if len(parent_ids) != 1:
        raise TypeError("add_children: rows of one parent only")
    parent = _touch_parent(child_model, parent_ids.pop(), expected_version, actor)
    per = max(1, 30000 // max(1, len(datas[0])))  # SQLite's bound-parameter limit
    for start in range(0, len(datas), per):
        child_model.insert_many(datas[start:start + per]).execute()
    out = []
    for data in datas:
        row = child_model(**data)
        row._dirty.clear()
        _child_event(parent, child_model, "+", None, wire_row(row, include_id=True), actor, row.id)
        out.append(row)
    return out


@_in_write
def update_child(child_model: type[M], child_id: Any, changes: Mapping[str, Any],
                 actor: Actor = SYSTEM, expected_version: int | None = None) -> M:
    """Change fields of a child row; bumps and journals its parent (old and new values)."""
    name, _parent_model = _parent_of(child_model)
    _check_fields(child_model, changes)
    if name in changes:
        raise ValidationError(N_("Unknown field(s) for {kind}: {fields}"),
                              kind=child_model._meta.table_name, fields=name)
    row = get(child_model, child_id)
    diffs = _diffs(row, changes)
    if not diffs:
        return row
    parent = _touch_parent(child_model, field_value(row, name), expected_version, actor)
    # the row's label fields go along on both sides, so its history line says which row it was
    labels = {n: to_text(field_value(row, n)) for n in child_model.LABEL_FIELDS}
    values = {n: new for n, _old, new in diffs}
    child_model.update(**values).where(child_model.id == row.id).execute()
    for n, value in values.items():
        _set_raw(row, n, value)
    old = {"id": str(row.id), **labels, **{n: to_text(o) for n, o, _new in diffs}}
    new = {"id": str(row.id), **labels, **{n: to_text(v) for n, _old, v in diffs}}
    _child_event(parent, child_model, "~", old, new, actor, row.id)
    return row


@_in_write
def remove_child(child_model: type[BaseModel], child_id: Any, actor: Actor = SYSTEM,
                 expected_version: int | None = None) -> bool:
    """Remove a child row; bumps and journals its parent.  False when it was not there."""
    name, _parent_model = _parent_of(child_model)
    row = child_model.get_or_none(child_model.id == child_id)
    if row is None:
        return False
    parent = _touch_parent(child_model, field_value(row, name), expected_version, actor)
    child_model.delete().where(child_model.id == row.id).execute()
    _child_event(parent, child_model, "-", wire_row(row, include_id=True), None, actor, row.id)
    return True


@_in_write
def remove_children(child_model: type[BaseModel], rows: Iterable[BaseModel], actor: Actor = SYSTEM,
                    expected_version: int | None = None) -> int:
    """Remove several child rows of one parent in one DELETE."""
    rows = list(rows)
    if not rows:
        return 0
    name, _parent_model = _parent_of(child_model)
    parent_ids = {field_value(r, name) for r in rows}
    if len(parent_ids) != 1:
        raise TypeError("remove_children: rows of one parent only")
    parent = _touch_parent(child_model, parent_ids.pop(), expected_version, actor)
    child_model.delete().where(child_model.id.in_([r.id for r in rows])).execute()
    for row in rows:
        _child_event(parent, child_model, "-", wire_row(row, include_id=True), None, actor, row.id)
    return len(rows)


@_in_write
def set_links(child_model: type[BaseModel], parent_id: Any, link_field: str,
              wanted: Iterable[Any], actor: Actor = SYSTEM, expected_version: int | None = None
              ) -> tuple[list[Any], list[Any]]:
    """Make the parent's links (``link_field`` of its child rows) exactly ``wanted``: adds the
    missing rows, removes the others; returns (added, removed) link ids."""
    name, _parent_model = _parent_of(child_model)
    wanted_ids = list(dict.fromkeys(_raw(w) for w in wanted if w is not None))
    have = {field_value(r, link_field): r for r in
            child_model.select().where(child_model._meta.fields[name] == _raw(parent_id))}
    keep = set(wanted_ids)
    add = [w for w in wanted_ids if w not in have]
    remove = [r for key, r in have.items() if key not in keep]
    if not add and not remove:
        return [], []
    if remove:
        remove_children(child_model, remove, actor, expected_version)
    if add:
        add_children(child_model, [{name: _raw(parent_id), link_field: w} for w in add], actor,
                     expected_version)
    return add, [field_value(r, link_field) for r in remove]


def _check_version(model: type[TrackedModel], record_id: Any, expected_version: int) -> None:
    write = _WRITE.get()
    record = get(model, record_id)
    if record.version != expected_version and (
            write is None or (kind_of(model), record.id) not in write.bumped):
        raise_conflict(record, expected_version)


@_in_write
def check_version(model: type[TrackedModel], record_id: Any, expected_version: int | None) -> None:
    """Raise the stale-edit conflict when the record moved past ``expected_version``."""
    if expected_version is not None:
        _check_version(model, record_id, expected_version)


@_in_write
def note(model: type[TrackedModel], record_id: Any, event: str, text: str,
         actor: Actor = SYSTEM) -> None:
    """A line in the record's history that changes no data (``!event``): 'wave deployed'."""
    write = _write()
    record = get(model, record_id)
    write.journal_row(kind_of(model), record.id, _label(record), "!" + event, None, text, actor,
                      getattr(record, "version", None))
    write.changes.note("changed", kind_of(model), record.id)


# -- settings ---------------------------------------------------------------------------------------
def setting_id(key: str) -> uuid.UUID:
    return uuid.uuid5(SETTING_NAMESPACE, key)


def get_setting(key: str, default: Any = None) -> Any:
    row = Setting.get_or_none(Setting.key == key)
    return default if row is None or row.value is None else row.value


def setting_version(key: str) -> int | None:
    row = Setting.get_or_none(Setting.key == key)
    return row.version if row else None


@_in_write
def set_setting(key: str, value: Any, actor: Actor = SYSTEM,
                expected_version: int | None = None) -> int:
    """Store an organisation-wide setting; versioned and journalled like a record.  Returns the
    setting's new version."""
    write = _write()
    row = Setting.get_or_none(Setting.key == key)
    kind = "setting"
    if row is not None and expected_version is not None and row.version != expected_version \
            and (kind, key) not in write.bumped:
        raise ConflictError(
            N_("The setting {key} was changed by someone else after you opened it (your "
               "version {yours}, now {theirs}); nothing was saved."),
            current={"value": row.value, "version": row.version}, changed_fields=["value"],
            key=key, yours=expected_version, theirs=row.version)
    old = None if row is None else row.value
    if row is not None and to_text(old) == to_text(value):
        return row.version
    if row is None:
        version = 1
        Setting.insert(key=key, value=value, version=version).execute()
    else:
        version = row.version if write.bumped.get((kind, key)) == row.version else row.version + 1
        Setting.update(value=value, version=version).where(Setting.key == key).execute()
    write.bumped[(kind, key)] = version
    write.journal_row(kind, setting_id(key), key, "value", to_text(old), to_text(value), actor,
                      version)
    write.changes.note("changed", kind, key)
    return version


# -- bulk writers -----------------------------------------------------------------------------------
@_in_write
def journal_rows(rows: Sequence[tuple]) -> int:
    """Journal rows a bulk writer made itself (``created_row`` tuples, or field rows in
    :data:`JOURNAL_COLUMNS` order).  Written with the rest of the write's journal."""
    write = _write()
    write.journal.extend(rows)
    for row in rows:
        write.changes.note("deleted" if row[3] == DELETED else
                           "created" if row[3] == CREATED else "changed", row[0], row[1])
    if len(write.journal) > 50_000:  # keep memory flat on very large imports
        write.flush()
    return len(rows)


# -- reading the journal ----------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    who: str | None
    site: str
    field: str
    old: str | None
    new: str | None
    version: int | None


def _expand(row: JournalEntry) -> list[HistoryEntry]:
    """A journal row as history lines: a creation becomes the ``*created*`` line (new: the
    record's label) and one line per field it was created with."""
    if row.field == CREATED and row.new and row.new.startswith("{"):
        try:
            values = json.loads(row.new)
        except ValueError:
            values = None
        if isinstance(values, dict):
            lines = [HistoryEntry(row.at, row.who_name, row.site, name, None, value, row.version)
                     for name, value in sorted(values.items(), reverse=True)
                     if name != "created_at"]
            return lines + [HistoryEntry(row.at, row.who_name, row.site, CREATED, None,
                                         row.record_ref, row.version)]
    if row.field == DELETED and row.old and row.old.startswith("{"):
        return [HistoryEntry(row.at, row.who_name, row.site, DELETED, row.record_ref, None,
                             row.version)]
    return [HistoryEntry(row.at, row.who_name, row.site, row.field, row.old, row.new, row.version)]


def history(kind: str, record_id: Any, limit: int | None = None) -> list[HistoryEntry]:
    """Who changed what, when, newest first (a creation expanded to its fields)."""
    query = (JournalEntry.select()
             .where((JournalEntry.record_kind == str(kind)) & (JournalEntry.record_id == record_id))
             .order_by(JournalEntry.at.desc(), JournalEntry.id.desc()))
    if limit:
        query = query.limit(limit)
    out: list[HistoryEntry] = []
    for row in query:
        out.extend(_expand(row))
    return out[:limit] if limit else out


def field_history_query(kind: str, record_id: Any, fields: Iterable[str]) -> pw.Select:
    """The journal rows :func:`field_history` reads (for a batched read, see services/batch)."""
    wanted = set(fields)
    return (JournalEntry.select(*[JournalEntry._meta.fields[c] for c in _HISTORY_COLUMNS])
            .where((JournalEntry.record_kind == str(kind)) & (JournalEntry.record_id == record_id)
                   & (JournalEntry.field.in_(list(wanted | {CREATED}))))
            .order_by(JournalEntry.id))


_HISTORY_COLUMNS = ("at", "who_name", "site", "field", "old", "new", "version", "record_ref")


def field_history_from(rows: Iterable[tuple], fields: Iterable[str]) -> list[HistoryEntry]:
    """:func:`field_history` from rows its query already returned (as tuples)."""
    wanted = set(fields)
    out: list[HistoryEntry] = []
    for values in rows:
        row = JournalEntry(**dict(zip(_HISTORY_COLUMNS, values, strict=True)))
        out.extend(e for e in reversed(_expand(row)) if e.field in wanted)
    return out


def field_history(kind: str, record_id: Any, fields: Iterable[str]) -> list[HistoryEntry]:
    """The values ``fields`` took over the record's life, oldest first (its creation included)."""
    fields = list(fields)
    return field_history_from(field_history_query(kind, record_id, fields).tuples(), fields)
