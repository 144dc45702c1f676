"""Ticket queues: predefined and saved queues, paged/keyset queries, counts, bulk edit.

A queue is a filter plus a sort.  Views never load a queue: they ask for its ``count`` and for
pages of rows.  Sequential pages use keyset paging (``WHERE (sort_key, id) < (last_key,
last_id)``) on the index that fits the queue; a jump far into the list (the scrollbar dragged to
row 900,000) uses ``OFFSET`` on the same index, which reads only index entries.

Sorts are one column plus ``id`` as tie-break, both in the same direction, so the keyset
condition is a single row-value comparison that both SQLite and PostgreSQL run on an index.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.cmdb import CI
from itsmdesk.models.incident import OPEN_STATUSES, Incident
from itsmdesk.models.people import Person, Team, TeamMember
from itsmdesk.models.servicedesk import Category, SavedQueue
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require

# Columns a queue may show, filter and sort on (field name -> English header).
COLUMNS: dict[str, str] = {  # column -> label (N_: the views translate it)
    "ref": N_("Reference"), "priority": N_("Priority"), "title": N_("Title"),
    "status": N_("Status"), "sla_state": N_("SLA"), "resolution_due": N_("Due"),
    "team": N_("Team"), "assignee": N_("Assignee"), "caller": N_("Caller"),
    "category": N_("Category"), "ci": N_("CI"), "opened_at": N_("Opened"),
    "updated_at": N_("Updated"), "kind": N_("Kind"), "channel": N_("Channel"),
    "impact": N_("Impact"), "urgency": N_("Urgency"), "resolved_at": N_("Resolved"),
}
DEFAULT_COLUMNS = ["ref", "priority", "title", "status", "sla_state", "resolution_due",
                   "assignee", "team", "opened_at"]
SORTABLE = {"ref", "priority", "title", "status", "sla_state", "resolution_due", "opened_at",
            "updated_at", "resolved_at", "kind", "channel", "impact", "urgency"}
EDITABLE = {"team", "assignee", "status", "priority", "category", "impact", "urgency", "channel",
            "pending_reason", "resolution_code", "solution", "service", "ci"}
OPS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "null", "not_null", "contains")


@dataclass(frozen=True)
class QueueSpec:
    key: str  # "all_open", or "saved:<uuid>"
    name: str  # English; the view translates predefined names
    filters: tuple = ()  # ((field, op, value), ...); values may be "$me", "$my_teams", "$days:-7"
    sort: tuple[str, str] = ("opened_at", "desc")
    columns: tuple[str, ...] = tuple(DEFAULT_COLUMNS)
    saved_id: Any = None
    version: int | None = None


OPEN = ("status", "in", list(OPEN_STATUSES))
PREDEFINED: list[QueueSpec] = [
    QueueSpec("my_open", "My open", (OPEN, ("assignee", "eq", "$me"))),
    QueueSpec("my_team", "My team", (OPEN, ("team", "in", "$my_teams"))),
    QueueSpec("unassigned", "Unassigned", (OPEN, ("assignee", "null", None))),
    QueueSpec("at_risk", "SLA at risk", (OPEN, ("sla_state", "eq", "at_risk")),
              ("resolution_due", "asc")),
    QueueSpec("breached", "Breached", (OPEN, ("sla_state", "eq", "breached")),
              ("resolution_due", "asc")),
    QueueSpec("all_open", "All open", (OPEN,)),
    QueueSpec("resolved_recent", "Resolved recently",
              (("status", "in", ["resolved", "fulfilled"]), ("resolved_at", "ge", "$days:-7")),
              ("resolved_at", "desc")),
    QueueSpec("all", "All tickets", ()),
]


class QueueRow:
    """One row of a queue page, as the driver returned it.

    ``values`` (column name -> value) is built on first use and the id becomes a UUID only
    when asked for: a page is fetched whole, but most of its rows are never painted or opened.
    """

    __slots__ = ("_raw", "_names", "_values", "_id", "_keys")

    def __init__(self, raw: tuple, names: dict[str, int], keys: tuple = (None, None, True)) -> None:
        self._raw, self._names, self._values, self._id = raw, names, None, None
        self._keys = keys  # (sort column index or None, tie index, tie is the raw rowid)

    @property
    def version(self) -> int:
        return self._raw[self._names["version"]]

    @property
    def sort_key(self) -> tuple:
        """(sort value, tie) as the next page's keyset ``after`` wants it."""
        sort_i, tie_i, raw_tie = self._keys
        return (self._raw[sort_i] if sort_i is not None else None,
                self._raw[tie_i] if raw_tie else self.id)

    @property
    def values(self) -> dict[str, Any]:
        if self._values is None:
            self._values = {name: self._raw[i] for name, i in self._names.items()}
            self._values["id"] = self.id
        return self._values

    def get(self, name: str, default: Any = None) -> Any:
        """One column's value straight from the driver's tuple (no dict, no UUID built)."""
        if name == "id":
            return self.id
        i = self._names.get(name)
        return default if i is None else self._raw[i]

    @property
    def id(self) -> uuid.UUID:
        if self._id is None:
            value = self._raw[self._names["id"]]
            self._id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return self._id

    def __repr__(self) -> str:
        return f"QueueRow({self._raw[self._names['ref']]!r})" if "ref" in self._names else "QueueRow()"


class PageRows(Sequence):
    """A page's rows: the driver's tuples, each wrapped in a :class:`QueueRow` on first use
    (a page is fetched whole, but a view touches only the rows it paints)."""

    __slots__ = ("_raw", "_names", "_keys", "_made")

    def __init__(self, raw: list[tuple], names: dict[str, int], keys: tuple) -> None:
        self._raw, self._names, self._keys = raw, names, keys
        self._made: list[QueueRow | None] = [None] * len(raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, i):  # noqa: ANN001, ANN204 - an index or a slice, like a list
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._raw)))]
        row = self._made[i]
        if row is None:
            row = self._made[i] = QueueRow(self._raw[i], self._names, self._keys)
        return row


@dataclass
class Page:
    offset: int
    rows: Sequence[QueueRow] = field(default_factory=list)


# -- queue definitions ---------------------------------------------------------------------------
def queues_for(person_id: Any = None) -> list[QueueSpec]:
    """Predefined queues and the saved queues this person owns or that are shared."""
    saved = SavedQueue.select().order_by(SavedQueue.name)
    if person_id is not None:
        saved = saved.where((SavedQueue.owner == person_id) | (SavedQueue.shared == True))  # noqa: E712
    else:
        saved = saved.where(SavedQueue.shared == True)  # noqa: E712
    return list(PREDEFINED) + [spec_of(q) for q in saved]


def spec_of(row: SavedQueue) -> QueueSpec:
    d = row.definition or {}
    sort = tuple(d.get("sort") or ("opened_at", "desc"))
    return QueueSpec(f"saved:{row.id}", row.name, tuple(tuple(f) for f in d.get("filters", [])),
                     (sort[0], sort[1]), tuple(d.get("columns") or DEFAULT_COLUMNS), row.id,
                     row.version)


def get_spec(key: str, person_id: Any = None) -> QueueSpec:
    for spec in PREDEFINED:
        if spec.key == key:
            return spec
    if key.startswith("saved:"):
        row = records.get(SavedQueue, key.split(":", 1)[1])
        return spec_of(row)
    raise ValidationError(N_("Unknown queue {key}"), key=key)


def _check_definition(filters: list, sort: Any, columns: list) -> None:
    for f in filters:
        if len(f) != 3 or f[0] not in COLUMNS or f[1] not in OPS:
            raise ValidationError(N_("A queue filter needs a field, an operator and a value: {f}"),
                                  field="filters", f=f)
    if sort and (sort[0] not in SORTABLE or sort[1] not in ("asc", "desc")):
        raise ValidationError(N_("Cannot sort a queue by {field}"), field="sort", field_=sort[0])
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValidationError(N_("Unknown queue column(s): {cols}"), field="columns",
                              cols=", ".join(unknown))


def save_queue(name: str, filters: list, sort: Any = ("opened_at", "desc"),
               columns: list | None = None, shared: bool = False, actor: Actor = SYSTEM,
               queue_id: Any = None, version: int | None = None) -> SavedQueue:
    """Create (or with ``queue_id`` update) a saved custom queue, kept in the database."""
    if not (name or "").strip():
        raise ValidationError(N_("A queue needs a name"), field="name")
    columns = list(columns or DEFAULT_COLUMNS)
    filters = [list(f) for f in filters]
    _check_definition(filters, sort, columns)
    definition = {"filters": filters, "sort": list(sort), "columns": columns}
    with records.atomic():
        if shared:
            require(actor, "queue.shared")
        if queue_id is not None:
            _may_change(records.get(SavedQueue, queue_id), actor)
        if queue_id is None:
            return records.create(SavedQueue, {"name": name.strip(), "owner": actor.person_id,
                                               "shared": shared, "definition": definition}, actor)
        return records.update(SavedQueue, queue_id, version,
                              {"name": name.strip(), "shared": shared, "definition": definition},
                              actor)


def _may_change(queue: SavedQueue, actor: Actor) -> None:
    """A private queue is its owner's alone; a shared one (or one nobody owns) is also the
    team leads' and administrators'."""
    mine = queue.owner_id is not None and queue.owner_id == actor.person_id
    if mine:
        return
    if not queue.shared and queue.owner_id is not None:
        from itsmdesk.services.accounts import has_accounts

        if not has_accounts():  # a database without accounts: anyone is anyone
            return
        require(actor, "queue.private", {"owner": queue.owner_id, "name": queue.name})
    require(actor, "queue.shared")


def delete_queue(queue_id: Any, version: int | None, actor: Actor = SYSTEM) -> None:
    with records.atomic():
        _may_change(records.get(SavedQueue, queue_id), actor)
        records.delete(SavedQueue, queue_id, version, actor)


# -- queries -----------------------------------------------------------------------------------
def _resolve(value: Any, person_id: Any, now: dt.datetime) -> Any:
    if value == "$me":
        return person_id
    if value == "$my_teams":
        if person_id is None:
            return []
        return [m.team_id for m in TeamMember.select(TeamMember.team)
                .where(TeamMember.person == person_id)]
    if isinstance(value, str) and value.startswith("$days:"):
        return now + dt.timedelta(days=int(value.split(":", 1)[1]))
    return value


def _condition(name: str, op: str, value: Any, counting: bool = False) -> Any:
    col = getattr(Incident, name)
    if name == "sla_state" and _backend_sqlite():
        # Most tickets ever breached are long closed: let the status/assignee/team index drive
        # the query and test the SLA state on the few open rows (unary + = "not via an index").
        col = pw.NodeList((pw.SQL("+"), col), glue="")
    if op == "null" or (op == "eq" and value is None):
        return col.is_null()
    if op == "not_null":
        return col.is_null(False)
    if op == "eq":
        return col == value
    if op == "ne":
        return col != value
    if op == "in":
        cond = col.in_(list(value or []))
        if counting and name == "status" and "closed" not in (value or []) and _backend_sqlite():
            # Open (or just resolved) tickets are a sliver of the table; ANALYZE statistics only
            # know that status has few distinct values, so say it, or SQLite scans the table.
            # (Not for pages: there the index that fits the sort wins and stops at the limit.)
            return pw.fn.likelihood(cond, pw.SQL("0.01"))
        return cond
    if op == "not_in":
        return col.not_in(list(value or []))
    if op == "lt":
        return col < value
    if op == "le":
        return col <= value
    if op == "gt":
        return col > value
    if op == "ge":
        return col >= value
    if op == "contains":
        return col.contains(str(value))
    raise ValidationError(N_("Unknown filter operator {op}"), op=op)


def where_of(spec: QueueSpec, person_id: Any = None, now: dt.datetime | None = None,
             text: str = "", counting: bool = False, viewer: Actor | None = None) -> Any:
    """The queue's condition; with ``viewer``, only the tickets that person may see (a
    requester: their own, see :mod:`itsmdesk.services.visibility`)."""
    from itsmdesk.services.visibility import tickets_visible_to

    now = now or utcnow()
    cond: Any = tickets_visible_to(viewer)
    for name, op, value in spec.filters:
        if value == "$me" and person_id is None:
            return Incident.id.is_null()  # a "my" queue with nobody signed in is empty
        value = _resolve(value, person_id, now)
        term = _condition(name, op, value, counting)
        cond = term if cond is True else cond & term
    text = (text or "").strip()
    if text:
        from itsmdesk.services import search

        ids = search.incident_ids(text, limit=1000)
        ref_cond = Incident.ref == text.upper()
        text_cond = Incident.id.in_(ids) | ref_cond if ids else ref_cond
        cond = text_cond if cond is True else cond & text_cond
    return cond


def _tie_col() -> Any:
    """The tie-break after the sort column.  SQLite: the rowid, which every index carries, so
    (sort column, rowid) is read straight off the index that fits the queue; PostgreSQL: id."""
    if _backend_sqlite():
        return pw.Column(Incident._meta.table, "rowid")
    return Incident.id


def _sort_cols(sort: tuple[str, str]) -> tuple[Any, Any, bool]:
    name, direction = sort
    if name not in SORTABLE:
        raise ValidationError(N_("Cannot sort a queue by {name}"), name=name)
    return getattr(Incident, name), _tie_col(), direction == "desc"


def count(spec: QueueSpec, person_id: Any = None, now: dt.datetime | None = None,
          text: str = "", viewer: Actor | None = None) -> int:
    cond = where_of(spec, person_id, now, text, counting=True, viewer=viewer)
    query = Incident.select(pw.fn.COUNT(pw.SQL("*")))
    if cond is not True:
        query = query.where(cond)
    return int(query.scalar() or 0)


def counts(specs: list[QueueSpec], person_id: Any = None, now: dt.datetime | None = None,
           viewer: Actor | None = None) -> dict[str, int]:
    """Every queue's count in ONE statement (``SELECT (SELECT COUNT(*) ...), (...)``): each
    sub-select still uses its own index, and a branch office pays one round trip, not one per
    queue."""
    if not specs:
        return {}
    from itsmdesk.models.base import db

    database = db.obj
    parts, params = [], []
    for spec in specs:
        cond = where_of(spec, person_id, now, "", counting=True, viewer=viewer)
        query = Incident.select(pw.fn.COUNT(pw.SQL("*")))
        if cond is not True:
            query = query.where(cond)
        sql, args = database.get_sql_context().sql(query).query()
        parts.append(f"({sql})")
        params.extend(args)
    row = database.execute_sql("SELECT " + ", ".join(parts), params).fetchone()
    return {spec.key: int(n or 0) for spec, n in zip(specs, row, strict=True)}


NAME_COLUMNS = ("team", "assignee", "caller", "category", "ci")
BASE_FIELDS = ("id", "version", "ref", "priority", "title", "status", "sla_state",
               "resolution_due", "opened_at", "kind")


@functools.lru_cache(maxsize=32)
def _select(columns: tuple[str, ...]):
    """(Built once per column set: peewee queries are immutable, ``where`` makes a copy.)

    The row query: plain columns plus the display names of linked records, each under the
    queue column's own name, so a driver row zipped with the column names is the row."""
    Assignee = Person.alias("assignee_p")  # noqa: N806
    Caller = Person.alias("caller_p")  # noqa: N806
    names = list(BASE_FIELDS) + [c for c in columns if c not in BASE_FIELDS
                                 and c not in NAME_COLUMNS]
    fields = [getattr(Incident, n) for n in names]
    joins = []
    for name, model, on_field, label in (("team", Team, Incident.team, Team.name),
                                         ("assignee", Assignee, Incident.assignee, Assignee.name),
                                         ("caller", Caller, Incident.caller, Caller.name),
                                         ("category", Category, Incident.category, Category.name),
                                         ("ci", CI, Incident.ci, CI.name)):
        if name in columns:
            fields.append(label.alias(name))
            joins.append((model, on_field == model.id))
    query = Incident.select(*fields)
    for model, on in joins:
        query = query.join_from(Incident, model, pw.JOIN.LEFT_OUTER, on=on)
    return query


def as_datetime(value: Any) -> dt.datetime | None:
    """Queue rows keep SQLite's text timestamps until shown; this reads either form."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


_SQL_CACHE: dict[tuple, tuple[str, list]] = {}


def _page_query(spec: QueueSpec, sort, sort_col, tie_col, desc: bool, offset: int, limit: int,  # noqa: ANN001
                after: tuple | None, person_id: Any, now: dt.datetime, text: str,
                viewer: Actor | None = None):
    cond = where_of(spec, person_id, now, text, viewer=viewer)
    order = [sort_col.desc(), tie_col.desc()] if desc else [sort_col.asc(), tie_col.asc()]
    query = _select(spec.columns).select_extend(tie_col.alias("tie"))
    if after is None and offset:
        # A jump: find the page's keys by offset on the index alone, then read those rows.
        keys = Incident.select(tie_col)
        if cond is not True:
            keys = keys.where(cond)
        keys = keys.order_by(*order).limit(limit).offset(offset)
        query = query.where(tie_col.in_(keys))
    else:
        if cond is not True:
            query = query.where(cond)
        if after is not None:
            query = query.where(_after(sort_col, tie_col, desc, sort[0], after))
        query = query.limit(limit)
    return query.order_by(*order)


def page(spec: QueueSpec, offset: int = 0, limit: int = 100, sort: tuple[str, str] | None = None,
         after: tuple | None = None, person_id: Any = None, now: dt.datetime | None = None,
         text: str = "", viewer: Actor | None = None) -> Page:
    """Rows ``offset .. offset+limit`` of a queue (with ``viewer``: of the tickets that person
    may see).  With ``after`` (the ``sort_key`` of row
    ``offset - 1``) the page is read by keyset; without, by offset on the same index."""
    sort = sort or spec.sort
    sort_col, tie_col, desc = _sort_cols(sort)
    now = now or utcnow()
    from itsmdesk.models.base import db

    # The SQL of a page depends only on these; a queue refreshed every minute (countdowns,
    # counts) or reopened re-sends the same statement, so it is compiled once (peewee's
    # compiler costs more than SQLite's answer for a 100-row page).
    resolved = tuple(repr(_resolve(v, person_id, now)) for _n, _o, v in spec.filters)
    from itsmdesk.services.visibility import ticket_scope

    key = (spec.key, repr(spec.filters), tuple(spec.columns), tuple(sort), resolved,
           person_id is None, limit, offset if after is None else None, after, id(db.obj),
           repr(ticket_scope(viewer)))
    # (a text filter resolves to matching ids at query time, so it is never cached)
    compiled = None if text else _SQL_CACHE.get(key)
    if compiled is None:
        query = _page_query(spec, sort, sort_col, tie_col, desc, offset, limit, after, person_id,
                            now, text, viewer)
        compiled = db.obj.get_sql_context().sql(query).query()
        if not text and len(_SQL_CACHE) >= 256:
            _SQL_CACHE.clear()
        if not text:
            _SQL_CACHE[key] = compiled
    cursor = db.obj.execute_sql(*compiled)
    names = {d[0]: i for i, d in enumerate(cursor.description)}
    keys = (names.get(sort[0]), names["tie"], _backend_sqlite())
    return Page(offset, PageRows(cursor.fetchall(), names, keys))


@dataclass
class Refresh:
    """What changed tickets look like in a queue now: the queue's new count, and per id its
    row (None: no longer in the queue)."""

    count: int
    rows: dict[Any, QueueRow | None]


def refresh(spec: QueueSpec, ids: list[Any], sort: tuple[str, str] | None = None,
            person_id: Any = None, now: dt.datetime | None = None, text: str = "",
            viewer: Actor | None = None) -> Refresh:
    """The queue's count and the rows of ``ids`` as the queue shows them (two queries): a
    panel replaces those rows in place when nothing moved."""
    sort = sort or spec.sort
    sort_col, tie_col, _desc = _sort_cols(sort)
    now = now or utcnow()
    cond = where_of(spec, person_id, now, text, viewer=viewer)
    query = _select(spec.columns).select_extend(tie_col.alias("tie")).where(Incident.id.in_(list(ids)))
    if cond is not True:
        query = query.where(cond)
    from itsmdesk.models.base import db

    cursor = db.obj.execute_sql(*db.obj.get_sql_context().sql(query).query())
    names = {d[0]: i for i, d in enumerate(cursor.description)}
    keys = (names.get(sort[0]), names["tie"], _backend_sqlite())
    found = {row.id: row for row in PageRows(cursor.fetchall(), names, keys)}
    return Refresh(count(spec, person_id, now, text, viewer),
                   {i: found.get(i if isinstance(i, uuid.UUID) else uuid.UUID(str(i))) for i in ids})


def _python(col: Any, value: Any) -> Any:
    """A raw value read from the key query as the sort column's Python value."""
    return col.python_value(value) if value is not None else None


NULLABLE_SORTS = {"resolution_due", "resolved_at"}


def _after(sort_col: Any, id_col: Any, desc: bool, name: str, after: tuple) -> Any:
    """The keyset condition "rows after ``after``" in the backend's native order (SQLite sorts
    NULL smallest, PostgreSQL largest), so the plain index serves the ORDER BY."""
    value, last_id = after
    tie_value = id_col.db_value(last_id) if isinstance(id_col, pw.Field) else last_id
    last_id = tie_value
    key = pw.Tuple(pw.Value(sort_col.db_value(value), unpack=False),
                   pw.Value(tie_value, unpack=False))
    cmp = (pw.Tuple(sort_col, id_col) < key) if desc else (pw.Tuple(sort_col, id_col) > key)
    if name not in NULLABLE_SORTS:
        return cmp
    id_cmp = (id_col < last_id) if desc else (id_col > last_id)  # field converts the value
    nulls_first = _backend_sqlite() != desc  # sqlite asc, or postgres desc
    if nulls_first:
        if value is None:
            return (sort_col.is_null() & id_cmp) | sort_col.is_null(False)
        return cmp
    if value is None:
        return sort_col.is_null() & id_cmp
    return cmp | sort_col.is_null()


def _backend_sqlite() -> bool:
    from itsmdesk.models.base import db

    return not isinstance(db.obj, pw.PostgresqlDatabase)


def position_of(spec: QueueSpec, incident_id: Any, person_id: Any = None,
                viewer: Actor | None = None) -> bool:
    """Whether a ticket is in a queue now (used by tests and by the form's "in queues" hint)."""
    cond = where_of(spec, person_id, viewer=viewer)
    query = Incident.select(Incident.id).where(Incident.id == incident_id)
    if cond is not True:
        query = query.where(cond)
    return query.exists()


# -- bulk edit -----------------------------------------------------------------------------------
@dataclass
class BulkEdit:
    batch: uuid.UUID
    changes: dict[str, Any]
    before: dict[Any, dict[str, Any]]  # id -> field -> old value
    versions: dict[Any, int]  # id -> version after the edit
    refs: list[str]


def bulk_update(ids: list[Any], changes: dict[str, Any], actor: Actor = SYSTEM,
                versions: dict[Any, int] | None = None, now: dt.datetime | None = None) -> BulkEdit:
    """Apply the same changes to many tickets in one transaction, each journalled under one
    batch id.  ``versions`` (id -> version the agent saw) makes stale rows raise a conflict and
    roll the whole edit back."""
    from itsmdesk.services.servicedesk import incidents

    if not ids:
        raise ValidationError(N_("Select the tickets to change"))
    bad = [k for k in changes if k not in EDITABLE]
    if bad:
        raise ValidationError(N_("Field(s) {fields} cannot be bulk edited"),
                              fields=", ".join(sorted(bad)))
    before: dict[Any, dict[str, Any]] = {}
    after: dict[Any, int] = {}
    refs = []
    with records.atomic() as write:
        batch = write.batch
        # every row locked first, in one order: two agents editing the same tickets, selected
        # in opposite orders, queue instead of deadlocking, and the second reads the first's
        records.lock(Incident, ids)
        for incident_id in sorted(dict.fromkeys(ids), key=str):
            current = records.get(Incident, incident_id)
            snap = records.snapshot(current)
            row = incidents.update_incident(current.id, (versions or {}).get(incident_id),
                                            changes, actor, now=now)
            new = records.snapshot(row)
            before[row.id] = {k: snap[k] for k in new if new[k] != snap[k] and k not in (
                "version", "updated_at", "updated_by")}
            after[row.id] = row.version
            refs.append(row.ref)
    return BulkEdit(batch, dict(changes), before, after, refs)


def undo_bulk(edit: BulkEdit, actor: Actor = SYSTEM) -> int:
    """Put back what a bulk edit changed (one transaction; a ticket edited since raises a
    conflict and nothing is undone)."""
    from itsmdesk.services.servicedesk import incidents

    with records.atomic():
        for incident_id, old in edit.before.items():
            # the edited fields go back through the ticket's own update, as the edit came: what
            # follows from them (a pause ending, the SLA clock of the history, which keeps the
            # edit and its undoing) is worked out again, not copied back
            values = {k: v for k, v in old.items() if k in EDITABLE}
            if values:
                incidents.update_incident(incident_id, edit.versions[incident_id], values, actor)
    return len(edit.before)


def ping() -> bool:
    """True when the database answers (for the status bar's connection state)."""
    from itsmdesk.models.base import db

    db.obj.execute_sql("SELECT 1").fetchone()
    return True


# -- the saved-queue editor (itsmdesk/views/queue/queue_editor.py) ---------------------------------
# Additions only: what the editor needs on top of save_queue/count.
NULLABLE_FILTERS = {"team", "assignee", "caller", "category", "ci", "resolution_due",
                    "resolved_at"}
DATE_FILTERS = {"opened_at", "updated_at", "resolved_at", "resolution_due"}
LIST_OPS = {"in", "not_in"}
VALUE_OPS = {"eq", "ne", "lt", "le", "gt", "ge", "contains"}


def check_filter_values(filters: list) -> None:
    """Values that fit their operator: a list (or "$my_teams") for in/not_in, a value for a
    comparison, a whole number of days in "$days:N", a date (YYYY-MM-DD) for a date field."""
    for name, op, value in (tuple(f) for f in filters):
        label = COLUMNS.get(name, name)
        if op in LIST_OPS:
            if value != "$my_teams" and not (isinstance(value, list) and value):
                raise ValidationError(N_("Pick at least one value for the filter on {name}"),
                                      field="filters", name=label)
        elif op in VALUE_OPS and (value is None or (isinstance(value, str) and not value.strip())):
            raise ValidationError(N_("The filter on {name} needs a value"), field="filters",
                                  name=label)
        if isinstance(value, str) and value.startswith("$days:"):
            try:
                int(value.split(":", 1)[1])
            except ValueError:
                raise ValidationError(N_("\"{value}\" is not a number of days"), field="filters",
                                      value=value) from None
        elif name in DATE_FILTERS and op in VALUE_OPS and isinstance(value, str):
            try:
                dt.date.fromisoformat(value[:10])
            except ValueError:
                raise ValidationError(N_("\"{value}\" is not a date (YYYY-MM-DD)"),
                                      field="filters", value=value) from None


def count_definition(filters: list, person_id: Any = None, now: dt.datetime | None = None,
                     viewer: Actor | None = None) -> int:
    """How many tickets a queue definition (not saved yet) matches: the editor's live count."""
    filters = [list(f) for f in filters]
    _check_definition(filters, None, [])
    check_filter_values(filters)
    spec = QueueSpec("draft", "", tuple(tuple(f) for f in filters))
    try:
        return count(spec, person_id, now, viewer=viewer)
    except (ValueError, TypeError) as exc:
        raise ValidationError(N_("The filters cannot be counted: {error}"), field="filters",
                              error=str(exc)) from None


def save_definition(name: str, filters: list, sort: Any, columns: list, shared: bool = False,
                    actor: Actor = SYSTEM, queue_id: Any = None,
                    version: int | None = None) -> SavedQueue:
    """:func:`save_queue` for the editor: also checks each filter's value and that at least one
    column is shown (``save_queue`` alone would fall back to the default columns)."""
    if not columns:
        raise ValidationError(N_("Show at least one column"), field="columns")
    check_filter_values([list(f) for f in filters])
    return save_queue(name, filters, sort, columns, shared, actor, queue_id, version)


def filter_choices() -> dict[str, list[tuple[Any, str]]]:
    """What the editor's value pickers offer, per field: (value as a saved definition keeps it,
    English label).  Ids are text, as they are in the JSON definition.  The view translates the
    labels of fixed values (statuses, channels, ...)."""
    from itsmdesk.models.incident import CHANNELS, INCIDENT_STATUSES, REQUEST_STATUSES, SLA_STATES

    teams = [(str(t.id), t.name) for t in Team.select(Team.id, Team.name).order_by(Team.name)]
    agents = [(str(p.id), p.name) for p in Person.select(Person.id, Person.name)
              .where((Person.is_agent == True) & (Person.active == True))  # noqa: E712
              .order_by(Person.name).limit(500)]
    callers = [(str(p.id), p.name) for p in Person.select(Person.id, Person.name)
               .where(Person.active == True).order_by(Person.name).limit(500)]  # noqa: E712
    cats = [(str(c.id), c.name if c.kind == "incident" else f"{c.name} ({c.kind})")
            for c in Category.select(Category.id, Category.name, Category.kind)
            .order_by(Category.kind, Category.name)]
    cis = [(str(c.id), c.name) for c in CI.select(CI.id, CI.name).order_by(CI.name).limit(500)]
    statuses = list(dict.fromkeys(INCIDENT_STATUSES + REQUEST_STATUSES))
    return {
        "team": teams, "assignee": agents, "caller": callers, "category": cats, "ci": cis,
        "status": [(s, s.replace("_", " ")) for s in statuses],
        "priority": [(p, f"P{p}") for p in (1, 2, 3, 4, 5)],
        "sla_state": [(s, s.replace("_", " ")) for s in SLA_STATES],
        "kind": [("incident", "incident"), ("request", "request")],
        "channel": [(c, c.replace("_", " ")) for c in CHANNELS],
        "impact": [(1, "1 high"), (2, "2 medium"), (3, "3 low")],
        "urgency": [(1, "1 high"), (2, "2 medium"), (3, "3 low")],
    }


def is_shared(queue_id: Any) -> bool:
    """Whether a saved queue is shared (the editor's check box; QueueSpec does not carry it)."""
    return bool(records.get(SavedQueue, queue_id).shared)


@dataclass(frozen=True)
class EditorData:
    """What the saved-queue editor shows besides the queue's spec, read in one call."""

    choices: dict[str, list[tuple[Any, str]]]
    shared: bool = False


def editor_data(queue_id: Any = None) -> EditorData:
    """The editor's value pickers and, for a saved queue, whether it is shared (False when it
    was deleted meanwhile: the save then says so)."""
    shared = False
    if queue_id is not None:
        try:
            shared = is_shared(queue_id)
        except NotFoundError:
            shared = False
    return EditorData(filter_choices(), shared)
