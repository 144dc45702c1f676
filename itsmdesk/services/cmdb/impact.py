"""Impact analysis over the CMDB relation graph: what fails if a CI fails, and what a CI needs.

Semantics (the rules every caller relies on):

* A relation ``source -[type]-> target`` with ``propagates == "target_to_source"`` (the default,
  for every type: "app depends on db") means a failure of the *target* impacts the *source*.
  ``"source_to_target"`` reverses that, ``"both"`` propagates either way, ``"none"`` never.
* Redundancy: a CI with ``min_members_up = k`` stays up while at least ``k`` of the targets of
  its relations marked ``redundant=True`` (its redundancy group, n members) are up; it fails once
  more than ``n - k`` of them have failed.  Non-redundant relations of that CI still fail it on
  their own.  Without ``min_members_up`` the ``redundant`` flag is ignored (every dependency is
  needed).
* Retired CIs are out of service: they are never impacted and do not pass impact on.
* Failure spreads in rounds: the given CIs fail at depth 0; a CI fails at depth d+1 when the CIs
  failed at depth <= d bring it down.  ``depth`` limits the number of rounds.  Every CI is
  visited once, so cycles terminate.
* Downstream (``direction="down"``): what fails if the given CIs fail (redundancy-aware).
  Upstream (``direction="up"``): what the given CIs need, i.e. every CI whose failure could
  impact them (plain reachability against the propagation direction; redundant members are
  listed with ``redundant=True``).

The given CIs are part of the result at depth 0 (so a business service that is itself changed or
broken is listed among the impacted services).

The walk runs one batched ``IN (...)`` query per round (chunked), on raw cursors, so a 10,000-CI
downstream costs a few queries rather than 10,000.  It keys on the CIs' integer gids and the
covering gid indexes of the relation table (models/graph_index.py), not on the UUIDs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from operator import itemgetter
from typing import NamedTuple

from itsmdesk.models.base import db

_CHUNK = 20000  # keys per statement (each list travels as one parameter)


class ImpactedCI(NamedTuple):
    """One CI in an impact result.  ``ci_id`` and ``via`` are UUIDs, built when first read from
    the keys the database returned (``id_key``/``via_key``): a 10,000-CI result that is only
    listed by name never pays for 20,000 UUID objects.  A named tuple: cheap to build by the
    ten thousand."""

    id_key: str  # the CI's id as the driver returned it (hex on SQLite, text on PostgreSQL)
    name: str
    ci_class: str  # the class name ("application", "business_service", ...)
    criticality: str
    depth: int
    is_service: bool
    via_key: str | None = None  # the CI it was impacted through (None for a given CI)
    relation_type: str | None = None  # the relation it was impacted through
    class_label: str = ""
    status: str = ""
    redundant: bool = False  # reached through a redundancy-group relation

    @property
    def ci_id(self) -> uuid.UUID:
        return _uuid(self.id_key)

    @property
    def via(self) -> uuid.UUID | None:
        return _uuid(self.via_key) if self.via_key else None

    def as_dict(self) -> dict:
        return {"id": str(self.ci_id), "name": self.name, "class": self.ci_class,
                "class_label": self.class_label, "criticality": self.criticality,
                "status": self.status, "depth": self.depth, "is_service": self.is_service,
                "via": str(self.via) if self.via_key else None, "relation": self.relation_type,
                "redundant": self.redundant}


def _key(value) -> str:  # noqa: ANN001 - uuid.UUID, str or a CI row
    """The form a CI id takes in raw queries and results: hex on SQLite, text on PostgreSQL."""
    if hasattr(value, "id") and not isinstance(value, (str, uuid.UUID)):
        value = value.id
    if not isinstance(value, uuid.UUID):
        value = uuid.UUID(str(value))
    return str(value) if _is_postgres() else value.hex


_UNKNOWN_SAFETY = uuid.SafeUUID.unknown
_set = object.__setattr__


def _uuid(key: str) -> uuid.UUID:
    """A UUID from a CI id as the driver returns it: 32 hex digits (SQLite) or the
    36-character text form (PostgreSQL), built without uuid.UUID's parsing."""
    if len(key) == 36:
        key = key.replace("-", "")
    elif len(key) != 32:
        return uuid.UUID(key)
    value = object.__new__(uuid.UUID)
    _set(value, "int", int(key, 16))
    _set(value, "is_safe", _UNKNOWN_SAFETY)
    return value


def _is_postgres() -> bool:
    import peewee as pw

    return isinstance(db.obj, pw.PostgresqlDatabase)


def _query(sql: str, keys: list, done: Iterable[int] | None = None) -> list[tuple]:
    """``sql`` with ``{id}`` markers and one ``({ph})`` (the key list), run over ``keys``.

    The keys travel as one parameter: a JSON array read by ``json_each`` on SQLite, an array
    unnested on PostgreSQL, so a big round costs one short statement to prepare.  ``{ph:uuid}``
    marks a list of CI ids, a plain ``{ph}`` a list of gids (``{ph:any}`` one PostgreSQL
    should probe an index with: ``= ANY(array)``); ``{true}``/``{false}`` are the
    back end's booleans.  The keys go in sorted: the database then walks its indexes in order
    (on SQLite a shuffled list costs a third more).  ``({done})`` marks a second list, of gids
    to leave out (``done``).
    """
    import json

    if not keys:
        return []
    keys = sorted(keys)
    pg = _is_postgres()
    if pg:  # a semi-join on the unnested array plans better than "= ANY" for big frontiers
        sql = (sql.replace("{id}", "::text").replace("{true}", "TRUE")
               .replace("{false}", "FALSE")
               .replace("({ph:uuid})", "(SELECT unnest(%s::uuid[]))")
               .replace("({ph})", "(SELECT unnest(%s::bigint[]))")
               .replace(" IN ({ph:any})", " = ANY(%s::bigint[])")
               .replace("({done})", "(SELECT unnest(%s::bigint[]))"))
    else:
        sql = (sql.replace("{id}", "").replace("{true}", "1").replace("{false}", "0")
               .replace("({ph:uuid})", "({ph})").replace("({ph:any})", "({ph})")
               .replace("({ph})", "(SELECT value FROM json_each(?))")
               .replace("({done})", "(SELECT value FROM json_each(?))"))
    params: tuple = ()
    if done is not None:  # (a NOT IN list: its order does not matter)
        params = ("{" + ",".join(map(str, done)) + "}" if pg else json.dumps(list(done)),)
    out: list[tuple] = []
    for start in range(0, len(keys), _CHUNK):
        part = keys[start:start + _CHUNK]
        if pg:
            param = "{" + ",".join(map(str, part)) + "}"
        else:
            param = json.dumps(part)
        out.extend(db.execute_sql(sql, (param,) + params).fetchall())
    return out


def _classes() -> dict[str, tuple[str, str, bool]]:
    """class id -> (name, label, is_service)."""
    rows = db.execute_sql("SELECT id{id}, name, label, is_service FROM ci_class".replace(
        "{id}", "::text" if _is_postgres() else "")).fetchall()
    return {r[0]: (r[1], r[2], bool(r[3])) for r in rows}


# A CI as the walk reads it, in one layout whether it came with the relation that reached it or
# on its own: (via gid, gid, relation type, redundant, id, name, class id, criticality, status,
# k); the first four are NULL for a CI read on its own.  Everything in the walk is keyed by gid
# (models/graph_index.py); the UUID is only read to build the result.
_CI_COLUMNS = "id{id}, name, ci_class_id{id}, criticality, status, min_members_up"
_CI_SQL = f"SELECT NULL, gid, NULL, NULL, {_CI_COLUMNS} FROM ci WHERE gid IN ({{ph:any}})"
_CI_BY_ID_SQL = f"SELECT NULL, gid, NULL, NULL, {_CI_COLUMNS} FROM ci WHERE id IN ({{ph:uuid}})"
_GID, _ID, _NAME, _CLASS, _CRIT, _STATUS, _K = 1, 4, 5, 6, 7, 8, 9


def _ci_rows(gids: list[int], into: dict[int, tuple]) -> dict[int, tuple]:
    for row in _query(_CI_SQL, gids):
        into[row[_GID]] = row
    return into


def _seed_rows(ci_ids: Iterable) -> dict[int, tuple]:
    """The given CIs' rows by gid, in the order given (unknown ids are left out)."""
    keys = list(dict.fromkeys(_key(c) for c in ci_ids))
    found = {row[_ID]: row for row in _query(_CI_BY_ID_SQL, keys)}
    return {found[k][_GID]: found[k] for k in keys if k in found}


# One step of failure spread from the frontier, read from the covering gid indexes alone.
# ``near`` is the frontier's end of a relation, ``far`` the neighbour's, ``props`` the
# propagation values that carry a failure from near to far.
_T2S_SQL = "('target_to_source', 'both')"
_S2T_SQL = "('source_to_target', 'both')"
# direction -> [(near, far, props, group)]: ``group`` marks the relations that can put the
# frontier CI in the neighbour's redundancy group (neighbour = source, failure target -> source).
_DIRECTIONS = {
    "down": [("target_gid", "source_gid", _T2S_SQL, True),
             ("source_gid", "target_gid", _S2T_SQL, False)],
    "up": [("source_gid", "target_gid", _T2S_SQL, False),
           ("target_gid", "source_gid", _S2T_SQL, False)],
}


def _neighbours_sql(near: str, far: str, props: str, redundant: bool | None) -> str:
    """(frontier CI, neighbour, relation type, redundant), **one row per neighbour**: the
    relation from the frontier CI with the smallest gid.  Shipping every relation row to Python
    would cost three times as many rows on a typical estate (and a row costs more to build than
    the index probe that finds it).  ``redundant``: only plain (False) or only group (True)
    relations; None: both."""
    where = f"{near} IN ({{ph}}) AND propagates IN {props}"
    if redundant is not None:
        where += " AND redundant = {true}" if redundant else " AND redundant = {false}"
    if _is_postgres():
        return (f"SELECT DISTINCT ON ({far}) {near}, {far}, type, redundant FROM relation "
                f"WHERE {where} ORDER BY {far}, {near}")
    # SQLite: with a single min() the bare columns come from the row holding the minimum.
    return f"SELECT MIN({near}), {far}, type, redundant FROM relation WHERE {where} GROUP BY {far}"


def _new_neighbours_sql(near: str, far: str, props: str, redundant: bool | None) -> str:
    """:func:`_neighbours_sql` for neighbours not in ``({done})``; on SQLite each with its own
    CI row appended (the :data:`_CI_COLUMNS`): one query and one row per new neighbour per
    round, so no CI is shipped twice and no relation row is shipped at all.  PostgreSQL plans
    that join as a hash join over every CI, so there the CI rows are read apart
    (:func:`_steps`)."""
    inner = _neighbours_sql(near, far, props, redundant)
    if _is_postgres():
        return f"SELECT * FROM ({inner}) AS g WHERE g.{far} NOT IN ({{done}})"
    columns = ", ".join("c." + c.strip() for c in _CI_COLUMNS.split(","))
    return (f"SELECT g.*, {columns} FROM ({inner}) AS g JOIN ci c ON c.gid = g.{far} "
            f"WHERE g.{far} NOT IN ({{done}})")


def _members_sql(near: str, far: str, props: str) -> str:
    """Every redundancy-group relation from the frontier: a group counts its failed members."""
    return (f"SELECT {near}, {far}, type, redundant FROM relation WHERE {near} IN ({{ph}}) "
            f"AND propagates IN {props} AND redundant = {{true}}")


def _steps(frontier: list[int], direction: str, with_s2t: bool, groups: bool,
           rows: dict[int, tuple], done: set[int]) -> list[tuple[list[tuple], bool]]:
    """One round: ``[(relation rows, group), ...]`` with rows (frontier CI, neighbour, relation
    type, redundant); the rows of neighbours not seen before are added to ``rows``.  ``group``:
    the rows may put the frontier CI in the neighbour's redundancy group.  ``groups``: read
    redundancy-group relations apart (one row per member) from the plain ones (one row per
    neighbour); otherwise every relation counts as plain."""
    parts = _DIRECTIONS[direction][:2 if with_s2t else 1]
    out = []
    unknown: set[int] = set()
    for near, far, props, group in parts:
        plain = _query(_new_neighbours_sql(near, far, props, False if group and groups else None),
                       frontier, done)
        if plain and len(plain[0]) == 4:  # PostgreSQL: the CI rows come apart
            found = _ci_rows(list({r[1] for r in plain}), {})
            plain = [r + found[r[1]][4:] for r in plain if r[1] in found]
        for r in plain:
            rows[r[1]] = r
        out.append((plain, False))
        if group and groups:
            members = _query(_members_sql(near, far, props), frontier)
            unknown.update([r[1] for r in members])
            out.append((members, True))
    unknown.difference_update(rows.keys())
    if unknown:
        _ci_rows(list(unknown), rows)
    return out


def _has_rows(sql: str) -> bool:
    return db.execute_sql(sql).fetchone() is not None


def _has_source_to_target() -> bool:
    """Whether any relation propagates other than target->source (partial index probe)."""
    return _has_rows("SELECT 1 FROM relation WHERE propagates <> 'target_to_source' LIMIT 1")


def _graph_shape() -> tuple[bool, bool]:
    """(any relation propagating other than target->source, any redundancy-group member):
    both partial-index probes in one statement (one round trip per walk, not two)."""
    true = "TRUE" if _is_postgres() else "1"
    row = db.execute_sql(
        "SELECT (SELECT 1 FROM relation WHERE propagates <> 'target_to_source' LIMIT 1), "
        f"(SELECT 1 FROM relation WHERE redundant = {true} LIMIT 1)").fetchone()
    return row[0] is not None, row[1] is not None


def _shape_and_classes() -> tuple[tuple[bool, bool], dict[str, tuple[str, str, bool]]]:
    """:func:`_graph_shape` and :func:`_classes` in one statement: a walk that names its CIs'
    classes (impact, services) needs both, and each statement is a round trip on a slow link.
    The shape rides as the row whose id is '' (a class id is a UUID, never empty)."""
    pg = _is_postgres()
    true = "TRUE" if pg else "1"
    text = "::text" if pg else ""
    rows = db.execute_sql(
        "SELECT '', CAST((SELECT 1 FROM relation WHERE propagates <> 'target_to_source' LIMIT 1)"
        " AS TEXT), CAST((SELECT 1 FROM relation WHERE redundant = " + true + " LIMIT 1) AS TEXT),"
        f" NULL UNION ALL SELECT id{text}, name, label, is_service FROM ci_class").fetchall()
    shape = (False, False)
    classes: dict[str, tuple[str, str, bool]] = {}
    for r in rows:
        if r[0] == "":
            shape = (r[1] is not None, r[2] is not None)
        else:
            classes[r[0]] = (r[1], r[2], bool(r[3]))
    return shape, classes


def _has_redundancy_groups() -> bool:
    """Whether any relation is a redundancy-group member (partial index probe)."""
    true = "TRUE" if _is_postgres() else "1"
    return _has_rows(f"SELECT 1 FROM relation WHERE redundant = {true} LIMIT 1")


def _group_sizes(gids: list[int]) -> dict[int, int]:
    """Number of redundancy-group members (redundant, target->source relations) per CI."""
    sql = ("SELECT source_gid, COUNT(*) FROM relation WHERE source_gid IN ({ph}) "
           "AND redundant = {true} AND propagates IN ('target_to_source', 'both') "
           "GROUP BY source_gid")
    return {src: int(n) for src, n in _query(sql, gids)}


def _walk(ci_ids: Iterable, direction: str, depth: int | None,
          redundancy: bool = True, shape: tuple[bool, bool] | None = None,
          ) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """The failure rounds.  Returns (gid -> (depth, via gid, relation type, redundant),
    gid -> CI row).  ``shape``: :func:`_graph_shape` when the caller read it already."""
    if direction not in ("down", "up"):
        raise ValueError("direction must be 'down' or 'up'")
    rows = _seed_rows(ci_ids)
    result: dict[int, tuple] = {g: (0, None, None, False) for g in rows}
    frontier = [g for g in result if rows[g][_STATUS] != "retired"]
    reverse = direction == "up"
    level = 0
    group_size: dict[int, int] = {}
    failed_members: dict[int, set] = {}
    if not frontier:
        with_s2t, has_groups = False, False
    else:
        with_s2t, has_groups = shape if shape is not None else _graph_shape()
    groups = bool(frontier) and redundancy and not reverse and has_groups
    done = set(result)  # failed or retired: nothing more to learn about them
    while frontier and (depth is None or level < depth):
        level += 1
        steps = _steps(frontier, direction, with_s2t, groups, rows, done)
        next_level: dict[int, tuple] = {}
        group_hits: dict[int, list[tuple]] = {}
        # Pass 1: who falls through a plain relation, and which groups lost members.
        for found, group in steps:
            if not group:  # plain relations, one per new neighbour, which is its own CI row
                for r in found:
                    to = r[1]
                    if to in next_level:
                        continue
                    if r[_STATUS] == "retired":
                        done.add(to)
                        continue
                    next_level[to] = (level, r[0], r[2], reverse and bool(r[3]))
                continue
            for r in found:  # redundancy-group members: (frm, to, type, redundant)
                frm, to, rtype, redundant = r[0], r[1], r[2], r[3]
                if to in result or to in next_level:
                    continue
                row = rows.get(to)
                if row is None or row[_STATUS] == "retired":
                    done.add(to)
                    continue
                if group and row[_K] is not None:
                    group_hits.setdefault(to, []).append((frm, rtype))
                    continue
                next_level[to] = (level, frm, rtype, bool(redundant) and reverse)
        # Pass 2: redundancy groups that lost too many members.
        pending = [g for g in group_hits if g not in next_level and g not in group_size]
        if pending:
            group_size.update(_group_sizes(pending))
        for to, hits in group_hits.items():
            lost = failed_members.setdefault(to, set())
            lost.update(hits)  # (member, relation type): one per relation
            if to in next_level:
                continue
            n = group_size.get(to, len(lost))
            if len(lost) > max(n - int(rows[to][_K]), 0):
                frm, rtype = hits[-1]
                next_level[to] = (level, frm, rtype, True)
        result.update(next_level)
        done.update(next_level)
        frontier = list(next_level)
    return result, rows


def _ids(gids: Iterable[int], rows: dict[int, tuple]) -> set[uuid.UUID]:
    return {_uuid(rows[g][_ID]) for g in gids}


def impact(ci_ids: Iterable, direction: str = "down", depth: int | None = None,
           redundancy: bool = True) -> list[ImpactedCI]:
    """CIs impacted by (``down``) or needed by (``up``) the given CIs, by depth then name.

    ``ci_ids``: CI ids (UUID or str) or CI rows.  ``depth``: number of relation steps (None: no
    limit).  ``redundancy=False`` treats every relation as a single point of failure.
    """
    import gc

    # Tens of thousands of small objects: the cyclic GC would rescan them many times over while
    # they are built (none of them forms a cycle), so it pauses for the duration.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _impact(ci_ids, direction, depth, redundancy)
    finally:
        if enabled:
            gc.enable()


def _impact(ci_ids: Iterable, direction: str, depth: int | None,
            redundancy: bool, services_only: bool = False) -> list[ImpactedCI]:
    shape, classes = _shape_and_classes()
    result, rows = _walk(ci_ids, direction, depth, redundancy, shape)
    if services_only:
        service_classes = {cid for cid, (_n, _l, is_service) in classes.items() if is_service}
        result = {g: v for g, v in result.items() if rows[g][_CLASS] in service_classes}
    none = ("", "", False)
    new, cls = tuple.__new__, ImpactedCI  # a tuple built directly: a third of a call's cost
    out = []
    append = out.append
    for g, (d, via, rtype, red) in result.items():
        row = rows[g]
        cname, clabel, is_service = classes.get(row[_CLASS], none)
        append(new(cls, (row[_ID], row[_NAME], cname, row[_CRIT], d, is_service,
                         rows[via][_ID] if via is not None else None, rtype, clabel,
                         row[_STATUS], red)))
    out.sort(key=itemgetter(4, 1))  # depth, name
    return out


def impacted_services(ci_ids: Iterable, depth: int | None = None) -> list[ImpactedCI]:
    """Business services that fail if the given CIs fail (most critical first)."""
    import gc

    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    enabled = gc.isenabled()
    gc.disable()
    try:
        services = _impact(ci_ids, "down", depth, True, services_only=True)
    finally:
        if enabled:
            gc.enable()
    services.sort(key=lambda i: (order.get(i.criticality, 9), i.depth, i.name))
    return services


def downstream_ids(ci_ids: Iterable, depth: int | None = None,
                   redundancy: bool = True) -> set[uuid.UUID]:
    """The ids of every CI that fails if the given CIs fail (the given ones included)."""
    result, rows = _walk(ci_ids, "down", depth, redundancy)
    return _ids(result, rows)


def upstream_ids(ci_ids: Iterable, depth: int | None = None) -> set[uuid.UUID]:
    """The ids of every CI the given CIs need (the given ones included)."""
    result, rows = _walk(ci_ids, "up", depth, False)
    return _ids(result, rows)


def impacts(ci_a, ci_b, redundancy: bool = False) -> bool:  # noqa: ANN001
    """True when a failure of ``ci_a`` (a CI id or a collection of ids) reaches ``ci_b`` (one
    id or a collection).  Plain reachability by default: for change scheduling even a redundant
    member's outage matters."""
    a = [ci_a] if isinstance(ci_a, (str, uuid.UUID)) or hasattr(ci_a, "id") else list(ci_a)
    b = [ci_b] if isinstance(ci_b, (str, uuid.UUID)) or hasattr(ci_b, "id") else list(ci_b)
    targets = {_key(x) for x in b}
    result, rows = _walk(a, "down", None, redundancy)
    return any(rows[g][_ID] in targets for g in result)


def in_impact_path(ci_a, ci_b, redundancy: bool = False) -> bool:  # noqa: ANN001
    """True when either side lies in the other's downstream impact (symmetric; each side is one
    CI id or a collection of ids).  Change conflict detection uses this."""
    return impacts(ci_a, ci_b, redundancy) or impacts(ci_b, ci_a, redundancy)


def impact_overlap(ci_ids_a: Iterable, ci_ids_b: Iterable,
                   redundancy: bool = False) -> set[uuid.UUID]:
    """CIs of either set that lie in the other set's downstream impact."""
    a = {_key(x) for x in ci_ids_a}
    b = {_key(x) for x in ci_ids_b}
    down_a, rows_a = _walk(a, "down", None, redundancy)
    down_b, rows_b = _walk(b, "down", None, redundancy)
    hits = ({rows_a[g][_ID] for g in down_a} & b) | ({rows_b[g][_ID] for g in down_b} & a)
    return {_uuid(k) for k in hits}


def upstream_gid_sets(ci_ids: Iterable, depth: int = 16) -> tuple[dict, dict]:
    """(CI as given -> the gids of the CIs whose outage reaches it, itself included; CI as
    given -> its gid) for many CIs at once: plain reachability against the propagation
    direction.  CIs not in the CMDB are left out of both.

    One breadth-first walk for all the CIs reads the upstream relations by frontier batches from
    the gid indexes; each CI's set is then read from that subgraph in memory.  Change conflict
    detection intersects these sets, so they stay integers.
    """
    given = {ci: _key(ci) for ci in set(ci_ids)}
    if not given:
        return {}, {}
    by_key = {row[_ID]: row[_GID] for row in _query(_CI_BY_ID_SQL, list(set(given.values())))}
    gid_of = {ci: by_key[key] for ci, key in given.items() if key in by_key}
    up: dict[int, set[int]] = {}
    seen = set(gid_of.values())
    frontier = list(seen)
    with_s2t = _has_source_to_target() if frontier else False
    for _ in range(depth):
        if not frontier:
            break
        found: set[int] = set()
        for src, tgt in _query("SELECT source_gid, target_gid FROM relation WHERE source_gid "
                               "IN ({ph}) AND propagates IN ('target_to_source', 'both')",
                               frontier):
            up.setdefault(src, set()).add(tgt)
            found.add(tgt)
        if with_s2t:
            for src, tgt in _query("SELECT source_gid, target_gid FROM relation WHERE target_gid "
                                   "IN ({ph}) AND propagates IN ('source_to_target', 'both')",
                                   frontier):
                up.setdefault(tgt, set()).add(src)
                found.add(src)
        frontier = list(found - seen)
        seen.update(frontier)
    reach_of: dict = {}
    for ci, start in gid_of.items():
        reach = {start}
        todo = [start]
        while todo:
            for nxt in up.get(todo.pop(), ()):
                if nxt not in reach:
                    reach.add(nxt)
                    todo.append(nxt)
        reach_of[ci] = reach
    return reach_of, gid_of
