"""One DatabaseProxy, one BaseModel.

Every record has a UUID primary key (records created offline at two sites never collide), a
``version`` for optimistic locking, and who/when it was created and last changed.  Times are
naive UTC datetimes in the database; the views convert to the user's zone.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import uuid

import peewee as pw

db = pw.DatabaseProxy()


class NamedIndex(pw.ModelIndex):
    """A ModelIndex with a fixed name and a stable repr (schema fingerprints hash the reprs of
    indexes), for partial and covering indexes added with ``Model.add_index``."""

    def __repr__(self) -> str:
        return f"ModelIndex({self._name})"


_story_time: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "itsmdesk_story_time", default=None)


def utcnow() -> dt.datetime:
    """Now in UTC, naive (that is how every timestamp is stored); inside :class:`story_clock`
    (generated data, this thread only) the story's time."""
    story = _story_time.get()
    if story is not None:
        return story
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class story_clock:  # noqa: N801 - used as a context manager like a function
    """``with story_clock(start) as clock: clock.set(moment)``: generated data (the demo) is
    written as it happened, so records, their journal and the times services stamp (votes,
    transitions, work log notes) carry the story's time instead of the build's."""

    def __init__(self, start: dt.datetime) -> None:
        self.start = start

    def __enter__(self) -> story_clock:
        self.token = _story_time.set(self.start.replace(microsecond=0))
        return self

    def set(self, moment: dt.datetime) -> None:
        _story_time.set(moment.replace(microsecond=0))

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        _story_time.reset(self.token)


_id_source = uuid.uuid4


def new_id() -> uuid.UUID:
    """A new primary key (random; generated data may make the source deterministic)."""
    return _id_source()


class deterministic_ids:  # noqa: N801 - used as a context manager like a function
    """``with deterministic_ids(rng):`` draws new keys from a seeded generator (demo data)."""

    def __init__(self, rng) -> None:  # noqa: ANN001 - a random.Random
        self.rng = rng

    def __enter__(self) -> None:
        global _id_source
        self.saved = _id_source
        _id_source = lambda: uuid.UUID(int=self.rng.getrandbits(128), version=4)  # noqa: E731

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        global _id_source
        _id_source = self.saved


class JSONField(pw.TextField):
    """A JSON document stored as text: the same on SQLite and PostgreSQL."""

    def db_value(self, value):  # type: ignore[override]
        import json

        return None if value is None else json.dumps(value, sort_keys=True, default=str)

    def python_value(self, value):  # type: ignore[override]
        import json

        return None if value is None else json.loads(value)


class BaseModel(pw.Model):
    """Plain base: UUID key.  Link tables and child rows derive from this.

    A child row belongs to one record: ``PARENT`` names the foreign key to it.  The write funnel
    (``services/records.py``) journals an added, changed or removed child row on that parent and
    bumps the parent's version, so a stale edit of the parent conflicts with a concurrent change
    to its children.  ``LABEL_FIELDS`` are the fields that name the row to a person in the
    parent's history.  A row with no parent (``PARENT`` None) is journalled as a record of its
    own kind (``RECORD_KIND``), without a version.
    """

    PARENT: str | None = None
    LABEL_FIELDS: tuple[str, ...] = ()

    id = pw.UUIDField(primary_key=True, default=new_id)

    class Meta:
        database = db
        legacy_table_names = False


class TrackedModel(BaseModel):
    """A record people edit: versioned, journalled, knows who made and changed it.

    ``RECORD_KIND`` names the kind in the journal and in messages ("incident", "ci", ...).
    ``created_by``/``updated_by`` hold a person's id (not a foreign key, so that deleting a
    person or replicating from another site never breaks a record).
    """

    RECORD_KIND = "record"

    version = pw.IntegerField(default=1)
    created_at = pw.DateTimeField(default=utcnow)
    created_by = pw.UUIDField(null=True)
    updated_at = pw.DateTimeField(default=utcnow)
    updated_by = pw.UUIDField(null=True)

    def record_label(self) -> str:
        """How a person names this record: its reference, else its name or title."""
        for attr in ("ref", "name", "title"):
            value = getattr(self, attr, None)
            if value:
                return str(value)
        return str(self.id)


class RefCounter(pw.Model):
    """Next number per reference prefix (``INC``, ``INC-OSL``...)."""

    prefix = pw.CharField(primary_key=True, max_length=32)
    value = pw.BigIntegerField(default=0)

    class Meta:
        database = db
        table_name = "ref_counter"


class SchemaInfo(pw.Model):
    key = pw.CharField(primary_key=True, max_length=64)
    value = pw.TextField()

    class Meta:
        database = db
        table_name = "schema_info"


class Setting(pw.Model):
    """Organisation-wide settings kept in the database (priority matrix, escalation share...).

    Written only through ``records.set_setting``: versioned and journalled like a record (kind
    ``setting``), so a settings change has a who and a when and reaches other workstations."""

    key = pw.CharField(primary_key=True, max_length=128)
    value = JSONField(null=True)
    version = pw.IntegerField(default=1)  # optimistic locking, as on records

    class Meta:
        database = db
        table_name = "setting"
