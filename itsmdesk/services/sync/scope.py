"""Scoped replicas: a replica of one site's part of the hub (see docs/sync.md, "Scoped
replicas").

**The scope** is written ``teams=Oslo desk,Oslo network`` and/or ``site=OSL`` (parts joined by
``;``).  Its teams are the teams named plus, for each site named, every team whose lead works
at that site (a team without a lead: most of its members).  From them:

- *the site's CIs*: CIs owned by one of the teams or located at one of the sites;
- the relations touching those CIs (the CI at the other end comes too: one hop);
- tickets (incidents and requests) assigned to the teams or about the site's CIs (``ci``,
  ``service``, ``caused_by_ci``); problems assigned to the teams or about the site's CIs;
  known errors about those CIs or of those problems; changes assigned to the teams or touching
  the site's CIs; releases of the teams or containing those changes, with their steps;
  interactions and mail of those tickets;
- **closure**: every record these refer to (a ticket's change, a change's other CIs, the
  business service an SLA names...) comes too, so every foreign key holds.  Records that come
  only as a reference do not bring their own tickets.

Every other table is **reference data** and copied whole (people, teams, sites, organisations,
categories, calendars, SLAs, CI classes, settings, templates, windows, CAB meetings...), except
their child rows that point at a record out of the scope (a CAB agenda item of another site's
change), which are left out.  Child rows follow their parent.

**Pull.**  A hub row about a scoped record that is not here is not applied (the checkpoint
moves past it), unless the hub's *current* record now falls in the scope (a ticket reassigned
to the site's team, a change given one of the site's CIs, a record created within the scope):
then it is fetched whole (its row, its child rows and what it refers to) as an unjournalled
insert in the pull's transaction, and the pull's rows about it are not applied (the fetched row
is newer); later rows apply normally.  A record that leaves the scope stays here until the
next refetch.  Rows this replica pushed (echoes) always apply.  A carried answer has no hub to
fetch from: records entering the scope then wait for a refetch.

**Refetch.**  When the hub's journal no longer reaches back to the pull checkpoint (history
trimmed), the sync fetches the scope again: the data tables are emptied and copied from the
hub inside one snapshot, the unsent local rows are applied again on top, and the checkpoint is
set to the hub's last journal id (:func:`refetch`; ``itsmdesk replica refetch``).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models import ALL_MODELS
from itsmdesk.models import replica as storage
from itsmdesk.models.base import BaseModel, utcnow
from itsmdesk.services import records, replay
from itsmdesk.services.sync.link import bound, is_sqlite, write_transaction

# The record kinds a scope filters; every other kind is reference data, copied whole.
SCOPED_KINDS = ("ci", "relation", "incident", "problem", "known_error", "change", "release",
                "release_step", "interaction", "mail")


@dataclass(frozen=True)
class Spec:
    teams: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()

    def text(self) -> str:
        parts = []
        if self.sites:
            parts.append("site=" + ",".join(self.sites))
        if self.teams:
            parts.append("teams=" + ",".join(self.teams))
        return ";".join(parts)


def parse(text: str | Iterable[str]) -> Spec:
    """``teams=A,B`` and/or ``site=OSL`` (several parts joined by ``;`` or given apart)."""
    parts = [text] if isinstance(text, str) else list(text)
    teams: list[str] = []
    sites: list[str] = []
    for part in (p for chunk in parts for p in chunk.split(";")):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        names = [v.strip() for v in value.split(",") if v.strip()]
        key = key.strip().lower()
        if not sep or not names or key not in ("teams", "team", "site", "sites"):
            raise ValidationError(N_("A scope is written teams=NAME,NAME and/or site=CODE "
                                     "(parts joined by ';'), not '{text}'."), text=part)
        (teams if key.startswith("team") else sites).extend(
            names if key.startswith("team") else [n.upper() for n in names])
    if not teams and not sites:
        raise ValidationError(N_("A scope is written teams=NAME,NAME and/or site=CODE "
                                 "(parts joined by ';'), not '{text}'."), text=";".join(parts))
    return Spec(tuple(dict.fromkeys(teams)), tuple(dict.fromkeys(sites)))


def spec_of(meta: dict[str, str]) -> Spec | None:
    """The scope a replica was made with (None: a whole copy)."""
    return parse(meta["scope"]) if meta.get("scope") else None


# -- the models ------------------------------------------------------------------------------------
def _kinds() -> dict[str, type[pw.Model]]:
    return {records.kind_of(m): m for m in ALL_MODELS
            if issubclass(m, BaseModel) and m is not BaseModel and not m.PARENT}


def _children() -> dict[type[pw.Model], list[tuple[type[pw.Model], str]]]:
    """Parent model -> [(child model, the child's column naming its parent)]."""
    out: dict[type[pw.Model], list[tuple[type[pw.Model], str]]] = {}
    for model in ALL_MODELS:
        if issubclass(model, BaseModel) and model.PARENT:
            parent = model._meta.fields[model.PARENT].rel_model
            out.setdefault(parent, []).append((model, model.PARENT))
    return out


def _scoped_models() -> set[type[pw.Model]]:
    kinds = _kinds()
    return {kinds[k] for k in SCOPED_KINDS}


def _u(value: Any) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _read(database: pw.Database, model: type[pw.Model], columns: list[str],
          where: str | None = None, values: Iterable[Any] | None = None) -> list[tuple]:
    """``columns`` of ``model``'s rows (those whose ``where`` column is in ``values``)."""
    fields = [model._meta.fields[c] for c in columns]
    with database.bind_ctx([model], False, False):
        if where is None:
            return list(model.select(*fields).tuples())
        values = list(values or ())
        out: list[tuple] = []
        for start in range(0, len(values), 500):
            out += list(model.select(*fields)
                        .where(model._meta.fields[where].in_(values[start:start + 500]))
                        .tuples())
        return out


def _fks(model: type[pw.Model], scoped: set[type[pw.Model]]) -> list[tuple[str, type[pw.Model]]]:
    """(column, target model) of ``model``'s foreign keys to scoped models (not the parent)."""
    parent = getattr(model, "PARENT", None)
    return [(f.name, f.rel_model) for f in model._meta.sorted_fields
            if isinstance(f, pw.ForeignKeyField) and f.rel_model in scoped and f.name != parent]


# -- who is in the scope ---------------------------------------------------------------------------
def teams_of(database: pw.Database, spec: Spec, strict: bool = True) -> set[uuid.UUID]:
    """The scope's teams: those named, and those whose lead (else most members) is at a site
    named.  ``strict``: a name that matches nothing is refused (making a replica); a pull goes
    on with the others (a team renamed on the hub since)."""
    from itsmdesk.models.people import Person, Team, TeamMember

    teams = {name: _u(i) for i, name in _read(database, Team, ["id", "name"])}
    missing = [n for n in spec.teams if n not in teams]
    if missing and strict:
        raise ValidationError(N_("There is no team named '{name}' on the hub; the scope names "
                                 "teams by their exact name."), name=missing[0])
    out = {teams[n] for n in spec.teams if n in teams}
    if spec.sites:
        sites = site_ids(database, spec, strict)
        where = {_u(p): _u(s) for p, s in _read(database, Person, ["id", "site"])}
        members: dict[uuid.UUID, Counter] = {}
        for team, person in _read(database, TeamMember, ["team", "person"]):
            members.setdefault(_u(team), Counter())[where.get(_u(person))] += 1
        for team, lead in _read(database, Team, ["id", "lead"]):
            if lead is not None:
                home = where.get(_u(lead))
            else:
                counts = members.get(_u(team))
                home = counts.most_common(1)[0][0] if counts else None
            if home in sites:
                out.add(_u(team))
    return out


def site_ids(database: pw.Database, spec: Spec, strict: bool = True) -> set[uuid.UUID]:
    from itsmdesk.models.people import Site

    codes = {code.upper(): _u(i) for i, code in _read(database, Site, ["id", "code"])}
    missing = [c for c in spec.sites if c not in codes]
    if missing and strict:
        raise ValidationError(N_("There is no site with the code '{code}' on the hub."),
                              code=missing[0])
    return {codes[c] for c in spec.sites if c in codes}


@dataclass
class Context:
    """What the rules test against: the scope's teams and sites, its own CIs, and the tickets,
    problems, changes and releases in it."""

    teams: set[uuid.UUID]
    sites: set[uuid.UUID]
    ids: dict[str, set[uuid.UUID]] = field(default_factory=dict)


def _match(database: pw.Database, kind: str, ctx: Context,
           ids: Iterable[uuid.UUID] | None = None) -> set[uuid.UUID]:
    """The records of ``kind`` (all, or those of ``ids``) that the scope's rules take directly,
    read from ``database``."""
    kinds = _kinds()
    model = kinds[kind]
    wanted = None if ids is None else list(ids)
    if wanted is not None and not wanted:
        return set()
    limit = ("id", wanted) if wanted is not None else (None, None)

    def rows(columns: list[str]) -> list[tuple]:
        return _read(database, model, ["id", *columns], *limit)

    def children(child: type[pw.Model], parent: str, column: str) -> list[tuple]:
        if wanted is None:
            return _read(database, child, [parent, column])
        return _read(database, child, [parent, column], parent, wanted)

    own = ctx.ids.get("ci", set())
    by_team = {"incident", "problem", "change", "release"}
    out: set[uuid.UUID] = set()
    if kind == "ci":
        out = {_u(i) for i, team, site in rows(["owner_team", "site"])
               if _u(team) in ctx.teams or _u(site) in ctx.sites}
    elif kind == "relation":
        out = {_u(i) for i, s, t in rows(["source", "target"]) if _u(s) in own or _u(t) in own}
    elif kind in by_team:
        about = {"incident": ["ci", "service", "caused_by_ci"], "problem": ["ci", "service"]
                 }.get(kind, [])
        for i, team, *cis in rows(["team", *about]):
            if _u(team) in ctx.teams or any(_u(c) in own for c in cis):
                out.add(_u(i))
        links = {"problem": (kinds["problem"], "problem_ci", "ci", own),
                 "change": (kinds["change"], "change_ci", "ci", own),
                 "release": (kinds["release"], "release_change", "change",
                             ctx.ids.get("change", set()))}.get(kind)
        if links:
            child = next(m for m, _p in _children()[links[0]]
                         if m._meta.table_name == links[1])
            out |= {_u(p) for p, c in children(child, child.PARENT, links[2])
                    if _u(c) in links[3]}
    elif kind == "known_error":
        out = {_u(i) for i, p in rows(["problem"]) if _u(p) in ctx.ids.get("problem", set())}
        child = next(m for m, _p in _children()[model] if m._meta.table_name == "known_error_ci")
        out |= {_u(p) for p, c in children(child, child.PARENT, "ci") if _u(c) in own}
    elif kind == "release_step":
        out = {_u(i) for i, r in rows(["release"]) if _u(r) in ctx.ids.get("release", set())}
    elif kind == "interaction":
        out = {_u(i) for i, inc, ci in rows(["incident", "ci"])
               if _u(inc) in ctx.ids.get("incident", set()) or _u(ci) in own}
    elif kind == "mail":
        out = {_u(i) for i, t in rows(["ticket"]) if _u(t) in ctx.ids.get("incident", set())}
    return out


def _closure(database: pw.Database, selected: dict[type[pw.Model], set[uuid.UUID]],
             there: Callable[[type[pw.Model], set[uuid.UUID]], set[uuid.UUID]] | None = None
             ) -> None:
    """Add to ``selected`` every scoped record that a selected record, or one of its child
    rows, refers to (and the steps of a selected release), read from ``database``, until
    nothing is missing.  ``there(model, ids)``: those of ``ids`` the target holds already (not
    selected again)."""
    scoped = _scoped_models()
    kids = _children()
    kinds = _kinds()
    todo = {m: set(ids) for m, ids in selected.items()}
    while any(todo.values()):
        found: dict[type[pw.Model], set[uuid.UUID]] = {}
        for model, ids in todo.items():
            if not ids:
                continue
            sources = [(model, "id")] + [(c, p) for c, p in kids.get(model, [])]
            for source, key in sources:
                fks = _fks(source, scoped)
                if not fks:
                    continue
                for row in _read(database, source, [key, *(c for c, _m in fks)], key, ids):
                    for (_c, target), value in zip(fks, row[1:], strict=True):
                        if value is not None:
                            found.setdefault(target, set()).add(_u(value))
            if model is kinds["release"]:
                steps = {_u(i) for (i,) in _read(database, kinds["release_step"], ["id"],
                                                 "release", ids)}
                found.setdefault(kinds["release_step"], set()).update(steps)
        todo = {}
        for model, ids in found.items():
            fresh = ids - selected.get(model, set())
            if fresh and there is not None:
                fresh -= there(model, fresh)
            if fresh:
                selected.setdefault(model, set()).update(fresh)
                todo[model] = fresh


def select(database: pw.Database, spec: Spec, strict: bool = True
           ) -> dict[type[pw.Model], set[uuid.UUID]]:
    """The scoped records of ``database`` that a replica of ``spec`` holds (with closure)."""
    kinds = _kinds()
    ctx = Context(teams_of(database, spec, strict),
                  site_ids(database, spec, strict) if spec.sites else set())
    for kind in ("ci", "relation", "incident", "problem", "known_error", "change", "release",
                 "release_step", "interaction", "mail"):
        ctx.ids[kind] = _match(database, kind, ctx)
    selected = {kinds[k]: set(v) for k, v in ctx.ids.items()}
    scoped = _scoped_models()
    for model in kinds.values():  # reference records are whole: what they name comes too
        if model in scoped:
            continue
        fks = _fks(model, scoped)
        for row in _read(database, model, [c for c, _m in fks]) if fks else ():
            for (_c, target), value in zip(fks, row, strict=True):
                if value is not None:
                    selected.setdefault(target, set()).add(_u(value))
    _closure(database, selected)
    return selected


def row_filter(selected: dict[type[pw.Model], set[uuid.UUID]]) -> storage.RowFilter:
    """For ``clone_tables``: scoped records in ``selected``, their child rows, and reference
    data whose references to scoped records all hold."""
    scoped = _scoped_models()

    def keep(model: type[pw.Model], fields: list[pw.Field]):  # noqa: ANN202
        names = [f.name for f in fields]
        tests: list[tuple[int, set[uuid.UUID]]] = []
        if model in scoped:
            tests.append((names.index("id"), selected.get(model, set())))
        parent = getattr(model, "PARENT", None)
        if parent:
            target = model._meta.fields[parent].rel_model
            if target in scoped:
                tests.append((names.index(parent), selected.get(target, set())))
        for column, target in _fks(model, scoped):
            tests.append((names.index(column), selected.get(target, set()) | {None}))
        if not tests:
            return None
        return lambda row: all(_u(row[i]) in ids for i, ids in tests)

    return keep


def journal_in(selected: dict[type[pw.Model], set[uuid.UUID]], journal: list[tuple]
               ) -> list[tuple]:
    """The hub journal rows a scoped replica keeps as its history: those about reference data
    and about the records of ``selected``."""
    kinds = _kinds()
    scoped = _scoped_models()
    return [row for row in journal
            if kinds.get(row[1]) not in scoped or _u(row[2]) in selected.get(kinds[row[1]], ())]


# -- pull --------------------------------------------------------------------------------------
def _local_ids(database: pw.Database, model: type[pw.Model],
               ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    return {_u(i) for (i,) in _read(database, model, ["id"], "id", set(ids))}


def _wire_refs(model: type[pw.Model], values: dict[str, Any], scoped: set[type[pw.Model]]
               ) -> list[tuple[type[pw.Model], uuid.UUID]]:
    return [(target, _u(values[c])) for c, target in _fks(model, scoped)
            if values.get(c) not in (None, "")]


@dataclass
class PullFilter:
    """The scope's part in one pull: the records fetched whole from the hub (inserted in the
    pull's transaction, :meth:`insert`) and which hub rows are applied (:meth:`admit`)."""

    fetched: dict[type[pw.Model], list[tuple]] = field(default_factory=dict)
    drop: set[int] = field(default_factory=set)  # hub journal ids not applied
    skipped: int = 0
    # records not here that a carried answer mentioned: the next network pull asks the hub
    # whether they entered the scope ([kind, id] pairs)
    waiting: list[list[str]] = field(default_factory=list)

    def insert(self, replica: pw.Database) -> int:
        storage.write_meta(replica, {"scope_waiting": json.dumps(self.waiting)})
        count = 0
        for model in pw.sort_models(list(self.fetched)):
            count += storage.insert_rows(replica, model, self.fetched[model])
        return count

    def admit(self, row: tuple) -> bool:
        if row[0] in self.drop:
            self.skipped += 1
            return False
        return True

    @property
    def fetched_records(self) -> int:
        scoped = _scoped_models()
        return sum(len(rows) for m, rows in self.fetched.items() if m in scoped)


def plan(replica: pw.Database, hub: pw.Database | None, spec: Spec,
         rows: list[tuple]) -> PullFilter:
    """Decide, before a pull, which hub ``rows`` a replica of ``spec`` applies and which
    records it fetches whole from ``hub`` (None, a carried answer: nothing is fetched)."""
    kinds = _kinds()
    scoped = _scoped_models()
    kids = {m._meta.table_name: m for m in ALL_MODELS
            if issubclass(m, BaseModel) and m.PARENT}
    out = PullFilter()
    mentioned: dict[type[pw.Model], set[uuid.UUID]] = {}
    for row in rows:
        model = kinds.get(row[1])
        if model in scoped and row[2] is not None:
            mentioned.setdefault(model, set()).add(_u(row[2]))
    for kind, record_id in json.loads(storage.read_meta(replica).get("scope_waiting") or "[]"):
        if kinds.get(kind) in scoped:
            mentioned.setdefault(kinds[kind], set()).add(_u(record_id))
    present = {m: _local_ids(replica, m, ids) for m, ids in mentioned.items()}
    absent = {m: ids - present[m] for m, ids in mentioned.items()}
    if hub is None:
        out.waiting = sorted([records.kind_of(m), str(i)] for m, ids in absent.items()
                             for i in ids)
    entering: dict[type[pw.Model], set[uuid.UUID]] = {}
    if hub is not None and any(absent.values()):
        ctx = Context(teams_of(replica, spec, strict=False),
                      site_ids(replica, spec, strict=False) if spec.sites else set())
        ctx.ids["ci"] = _match(replica, "ci", ctx)
        for kind in ("incident", "problem", "change", "release"):
            ctx.ids[kind] = {_u(i) for (i,) in _read(replica, kinds[kind], ["id"])}
        for model, ids in absent.items():
            hit = _match(hub, records.kind_of(model), ctx, ids)
            if hit:
                entering[model] = hit
    # child rows here already (fetched whole by an earlier pull), read once per table
    added: dict[type[pw.Model], set[uuid.UUID]] = {}
    for row in rows:
        if row[4][-1:] == "+" and row[4][:-1] in kids and row[6]:
            child_id = _u(json.loads(row[6]).get("id"))
            if child_id is not None:
                added.setdefault(kids[row[4][:-1]], set()).add(child_id)
    children_here = {m: _local_ids(replica, m, ids) for m, ids in added.items()}
    # what the applied rows refer to must be here: fetched when missing (closure)
    refs: dict[type[pw.Model], set[uuid.UUID]] = {}
    known: dict[tuple[type[pw.Model], uuid.UUID], bool] = {}
    for row in rows:
        kind, record_id, name, new = row[1], _u(row[2]), row[4], row[6]
        model = kinds.get(kind)
        if model is None or name.startswith("!"):
            continue
        if model in scoped and record_id not in present.get(model, set()):
            out.drop.add(row[0])  # absent (or fetched whole: the fetched row is newer)
            continue
        if name == records.CREATED and model in scoped:
            out.drop.add(row[0])  # here already
            continue
        if name == records.CREATED:
            wanted = _wire_refs(model, json.loads(new), scoped)
        elif name[-1:] == "+" and name[:-1] in kids:
            child = kids[name[:-1]]
            wanted = _wire_refs(child, json.loads(new), scoped)
            if _u(json.loads(new).get("id")) in children_here.get(child, ()):
                out.drop.add(row[0])  # here already (fetched whole by an earlier pull)
                continue
            if model not in scoped:  # reference data's child row about records not here
                here = all(r in present.get(m, set()) or _has(replica, m, r, known)
                           for m, r in wanted)
                if not here:
                    out.drop.add(row[0])
                    continue
        elif name in model._meta.fields and isinstance(model._meta.fields[name],
                                                       pw.ForeignKeyField):
            target = model._meta.fields[name].rel_model
            wanted = [(target, _u(new))] if target in scoped and new else []
        else:
            wanted = []
        for target, ref in wanted:
            refs.setdefault(target, set()).add(ref)
    for model, ids in refs.items():
        missing = ids - present.get(model, set()) - entering.get(model, set())
        missing -= _local_ids(replica, model, missing)
        if missing:
            if hub is None:  # nothing to fetch from: rows needing it wait for a refetch
                out.drop |= {r[0] for r in rows if _u(r[2]) in missing or (
                    r[6] and any(str(m) in r[6] for m in missing))}
            else:
                entering.setdefault(model, set()).update(missing)
    if hub is None or not entering:
        return out
    here = {m: _local_ids(replica, m, ids) for m, ids in entering.items()}
    entering = {m: ids - here[m] for m, ids in entering.items()}
    selected = {m: set(ids) for m, ids in entering.items()}
    _closure(hub, selected, there=lambda model, ids: _local_ids(replica, model, ids))
    children = _children()
    for model, ids in selected.items():
        out.fetched.setdefault(model, []).extend(storage.read_rows(hub, model, "id", ids))
        for child, parent in children.get(model, []):
            out.fetched.setdefault(child, []).extend(
                storage.read_rows(hub, child, parent, ids))
    return out


def _has(replica: pw.Database, model: type[pw.Model], record_id: uuid.UUID,
         known: dict[tuple[type[pw.Model], uuid.UUID], bool]) -> bool:
    key = (model, record_id)
    if key not in known:
        known[key] = bool(_local_ids(replica, model, [record_id]))
    return known[key]


def filter_for(replica: pw.Database, hub: pw.Database | None, rows: list[tuple]
               ) -> PullFilter | None:
    """The pull filter of a scoped replica (None for a whole copy)."""
    spec = spec_of(storage.read_meta(replica))
    if spec is None:
        return None
    return plan(replica, hub, spec, rows)


# -- refetch ---------------------------------------------------------------------------------------
def hub_cannot_serve(hub: pw.Database, checkpoint: int) -> bool:
    """The hub's journal no longer reaches back to ``checkpoint`` (its history was trimmed)."""
    row = hub.execute_sql('SELECT MIN(id) FROM "journal"').fetchone()
    return bool(row and row[0] is not None and checkpoint < int(row[0]) - 1)


@dataclass
class RefetchReport:
    rows: dict[str, int]
    reapplied: int
    pull_checkpoint: int


def refetch(replica: pw.Database, hub: pw.Database) -> RefetchReport:
    """Copy the scope (or, for a whole copy, everything) from the hub again inside one
    snapshot, keep this replica's unsent rows and apply them again on top, and set the pull
    checkpoint to the hub's last journal id.  All or nothing on the replica."""
    from itsmdesk.services.sync.engine import _meta, _ranges, pending_rows
    from itsmdesk.services.sync.replica import _last_journal_id, _recent_holes

    with hub.atomic():
        if not is_sqlite(hub):
            hub.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with write_transaction(replica):
            meta = _meta(replica)
            spec = spec_of(meta)
            pending = pending_rows(replica, meta)
            replica.execute_sql("PRAGMA defer_foreign_keys = ON")
            keep = (row_filter(select(hub, spec, strict=False)) if spec is not None
                    else None)
            storage.wipe_tables(replica, ALL_MODELS)
            counts = storage.clone_tables(hub, replica, ALL_MODELS, keep=keep)
            top = hub.execute_sql('SELECT MAX(id) FROM "journal"').fetchone()[0] or 0
            again = _reapply(replica, pending)
            values: dict[str, Any] = {"pull_checkpoint": top, "scope_waiting": "[]",
                                      "last_sync": records.to_text(utcnow()),
                                      "pull_gaps": _recent_holes(
                                          hub, replay.read_journal(hub, after_id=max(0, top - 10000)))}
            if pending:
                bases = _ranges(meta, "bases")
                if not bases or bases[-1][0] < pending[-1][0]:
                    values["bases"] = json.dumps(
                        [*bases, [pending[-1][0], int(meta.get("pull_checkpoint") or 0)]])
            else:
                values.update({"push_checkpoint": _last_journal_id(replica),
                               "pulled_ranges": "[]", "bases": "[]"})
            storage.write_meta(replica, values)
    return RefetchReport(counts, again, top)


def _reapply(replica: pw.Database, pending: list[tuple]) -> int:
    """This replica's unsent rows again on top of the fetched data (not journalled again);
    a record or child row that is here already is not inserted twice."""
    if not pending:
        return 0
    kinds = _kinds()
    kids = {m._meta.table_name: m for m in ALL_MODELS
            if issubclass(m, BaseModel) and m.PARENT}
    rows = []
    for row in pending:
        name = row[4]
        model = kinds.get(row[1])
        if name == records.CREATED and model is not None and _local_ids(replica, model,
                                                                         [row[2]]):
            continue
        if name[-1:] == "+" and name[:-1] in kids:
            child = kids[name[:-1]]
            child_id = json.loads(row[6]).get("id")
            if child_id and _local_ids(replica, child, [_u(child_id)]):
                continue
        rows.append(row)
    with bound(replica):
        replay.apply(rows, keep_journal=False, skip_orphans=True)
    return len(rows)
