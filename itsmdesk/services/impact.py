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
downstream costs a few queries rather than 10,000.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

from itsmdesk.models.base import db

# Propagation values that carry a failure from target to source / from source to target.
_T2S = ("target_to_source", "both")
_S2T = ("source_to_target", "both")
_CHUNK = 5000  # parameters per IN (...) list: well under SQLite's limit (32766)


@dataclass(slots=True)
class ImpactedCI:
    ci_id: uuid.UUID
    name: str
    ci_class: str  # the class name ("application", "business_service", ...)
    criticality: str
    depth: int
    is_service: bool
    via: uuid.UUID | None = None  # the CI it was impacted through (None for a given CI)
    relation_type: str | None = None  # the relation it was impacted through
    class_label: str = ""
    status: str = ""
    redundant: bool = False  # reached through a redundancy-group relation

    def as_dict(self) -> dict:
        return {"id": str(self.ci_id), "name": self.name, "class": self.ci_class,
                "class_label": self.class_label, "criticality": self.criticality,
                "status": self.status, "depth": self.depth, "is_service": self.is_service,
                "via": str(self.via) if self.via else None, "relation": self.relation_type,
                "redundant": self.redundant}


def _key(value) -> str:  # noqa: ANN001 - uuid.UUID, str or a CI row
    """The form a CI id takes in raw queries and results: hex on SQLite, text on PostgreSQL."""
    if hasattr(value, "id") and not isinstance(value, (str, uuid.UUID)):
        value = value.id
    if not isinstance(value, uuid.UUID):
        value = uuid.UUID(str(value))
    return str(value) if _is_postgres() else value.hex


def _uuid(key: str) -> uuid.UUID:
    """A UUID from a key this module produced: 32 hex digits (SQLite) or the 36-character text
    form (PostgreSQL), built without uuid.UUID's parsing."""
    if len(key) == 36:
        key = key.replace("-", "")
    elif len(key) != 32:
        return uuid.UUID(key)
    value = object.__new__(uuid.UUID)
    object.__setattr__(value, "int", int(key, 16))
    object.__setattr__(value, "is_safe", uuid.SafeUUID.unknown)
    return value


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _is_postgres() -> bool:
    import peewee as pw

    return isinstance(db.obj, pw.PostgresqlDatabase)


def _query(sql: str, keys: list[str]) -> list[tuple]:
    """``sql`` with ``{ph}`` (the key list) and ``{id}`` markers, run over ``keys``.

    The keys travel as one parameter: a JSON array read by ``json_each`` on SQLite, a uuid[]
    unnested on PostgreSQL, so a big round costs one short statement to prepare.
    """
    import json

    if not keys:
        return []
    pg = _is_postgres()
    if pg:  # a semi-join on the unnested array plans better than "= ANY" for big frontiers
        sql = sql.replace("{id}", "::text").replace("({ph})", "(SELECT unnest(%s::uuid[]))")
    else:
        sql = sql.replace("{id}", "").replace("({ph})", "(SELECT value FROM json_each(?))")
    out: list[tuple] = []
    for part in _chunks(keys, 20000):
        param = "{" + ",".join(part) + "}" if pg else json.dumps(part)
        out.extend(db.execute_sql(sql, (param,)).fetchall())
    return out


def _classes() -> dict[str, tuple[str, str, bool]]:
    """class id -> (name, label, is_service)."""
    rows = db.execute_sql("SELECT id{id}, name, label, is_service FROM ci_class".replace(
        "{id}", "::text" if _is_postgres() else "")).fetchall()
    return {r[0]: (r[1], r[2], bool(r[3])) for r in rows}


# A CI's own attributes as the walk reads them: (id, name, class id, criticality, status, k)
_CI_SQL = ("SELECT id{id}, name, ci_class_id{id}, criticality, status, min_members_up FROM ci "
           "WHERE id IN ({ph})")
_STATUS, _K = 4, 5


def _ci_rows(keys: list[str], into: dict[str, tuple]) -> dict[str, tuple]:
    for row in _query(_CI_SQL, keys):
        into[row[0]] = row
    return into


# One step of failure spread from the frontier: (frontier CI, neighbour, type, redundant).  The
# neighbours' own rows are read afterwards, once per new CI: joining them here would read a CI
# once per relation (three times as often on a typical estate).
_DOWN_T2S = ("SELECT target_id{id}, source_id{id}, type, redundant FROM relation "
             "WHERE target_id IN ({ph}) AND propagates IN ('target_to_source', 'both')")
_DOWN_S2T = ("SELECT source_id{id}, target_id{id}, type, redundant FROM relation "
             "WHERE source_id IN ({ph}) AND propagates IN ('source_to_target', 'both')")
_UP_T2S = ("SELECT source_id{id}, target_id{id}, type, redundant FROM relation "
           "WHERE source_id IN ({ph}) AND propagates IN ('target_to_source', 'both')")
_UP_S2T = ("SELECT target_id{id}, source_id{id}, type, redundant FROM relation "
           "WHERE target_id IN ({ph}) AND propagates IN ('source_to_target', 'both')")


def _steps(frontier: list[str], reverse: bool, with_s2t: bool,
           rows: dict[str, tuple]) -> list[tuple[list[tuple], bool]]:
    """One round: ``[(relation rows, group), ...]`` with rows (frontier CI, neighbour, relation
    type, redundant); the rows of neighbours not seen before are added to ``rows``.  ``group``:
    the relations can put the frontier CI in the neighbour's redundancy group (the neighbour is
    the source and failure runs target -> source)."""
    if reverse:
        parts = [(_UP_T2S, False)] + ([(_UP_S2T, False)] if with_s2t else [])
    else:
        parts = [(_DOWN_T2S, True)] + ([(_DOWN_S2T, False)] if with_s2t else [])
    out = [(_query(sql, frontier), group) for sql, group in parts]
    unknown: set[str] = set()
    for found, _group in out:
        unknown.update([r[1] for r in found])
    unknown.difference_update(rows.keys())
    if unknown:
        _ci_rows(list(unknown), rows)
    return out


def _has_source_to_target() -> bool:
    """Whether any relation propagates other than target->source (partial index probe)."""
    cursor = db.execute_sql("SELECT 1 FROM relation WHERE propagates <> 'target_to_source' "
                            "LIMIT 1")  # the partial index relation_nondefault_propagation
    return cursor.fetchone() is not None


def _group_sizes(keys: list[str]) -> dict[str, int]:
    """Number of redundancy-group members (redundant, target->source relations) per CI."""
    true = "TRUE" if _is_postgres() else "1"
    sql = ("SELECT source_id{id}, COUNT(*) FROM relation WHERE source_id IN ({ph}) "
           f"AND redundant = {true} AND propagates IN ('target_to_source', 'both') "
           "GROUP BY source_id")
    return {src: int(n) for src, n in _query(sql, keys)}


def _walk(ci_ids: Iterable, direction: str, depth: int | None,
          redundancy: bool = True) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """The failure rounds.  Returns (key -> (depth, via key, relation type, redundant),
    key -> CI row)."""
    if direction not in ("down", "up"):
        raise ValueError("direction must be 'down' or 'up'")
    seeds = list(dict.fromkeys(_key(c) for c in ci_ids))
    rows = _ci_rows(seeds, {})
    result: dict[str, tuple] = {k: (0, None, None, False) for k in seeds if k in rows}
    frontier = [k for k in result if rows[k][_STATUS] != "retired"]
    reverse = direction == "up"
    level = 0
    group_size: dict[str, int] = {}
    failed_members: dict[str, set] = {}
    with_s2t = _has_source_to_target() if frontier else False
    while frontier and (depth is None or level < depth):
        level += 1
        steps = _steps(frontier, reverse, with_s2t, rows)
        next_level: dict[str, tuple] = {}
        group_hits: dict[str, list[tuple]] = {}
        # Pass 1: who falls through a plain relation, and which groups lost members.
        for found, group in steps:
            check_group = group and redundancy
            for frm, to, rtype, redundant in found:
                if to in result or to in next_level:
                    continue
                row = rows.get(to)
                if row is None or row[_STATUS] == "retired":
                    continue
                if check_group and redundant and row[_K] is not None:
                    group_hits.setdefault(to, []).append((frm, rtype))
                    continue
                next_level[to] = (level, frm, rtype, bool(redundant) and reverse)
        # Pass 2: redundancy groups that lost too many members.
        pending = [k for k in group_hits if k not in next_level and k not in group_size]
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
        frontier = list(next_level)
    return result, rows


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
    result, rows = _walk(ci_ids, direction, depth, redundancy)
    classes = _classes()
    if services_only:
        service_classes = {cid for cid, (_n, _l, is_service) in classes.items() if is_service}
        result = {k: v for k, v in result.items() if rows[k][2] in service_classes}
    none = ("", "", False)
    make = ImpactedCI
    ids = {key: _uuid(key) for key in result}
    out = []
    append = out.append
    for key, (d, via, rtype, red) in result.items():
        row = rows[key]
        cname, clabel, is_service = classes.get(row[2], none)
        append(make(ids[key], row[1], cname, row[3], d, is_service,
                    (ids.get(via) or _uuid(via)) if via else None, rtype, clabel, row[4], red))
    out.sort(key=attrgetter("depth", "name"))
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
    result, _rows = _walk(ci_ids, "down", depth, redundancy)
    return {_uuid(k) for k in result}


def upstream_ids(ci_ids: Iterable, depth: int | None = None) -> set[uuid.UUID]:
    """The ids of every CI the given CIs need (the given ones included)."""
    result, _rows = _walk(ci_ids, "up", depth, False)
    return {_uuid(k) for k in result}


def impacts(ci_a, ci_b, redundancy: bool = False) -> bool:  # noqa: ANN001
    """True when a failure of ``ci_a`` (a CI id or a collection of ids) reaches ``ci_b`` (one
    id or a collection).  Plain reachability by default: for change scheduling even a redundant
    member's outage matters."""
    a = [ci_a] if isinstance(ci_a, (str, uuid.UUID)) or hasattr(ci_a, "id") else list(ci_a)
    b = [ci_b] if isinstance(ci_b, (str, uuid.UUID)) or hasattr(ci_b, "id") else list(ci_b)
    targets = {_key(x) for x in b}
    result, _rows = _walk(a, "down", None, redundancy)
    return bool(targets & set(result))


def in_impact_path(ci_a, ci_b, redundancy: bool = False) -> bool:  # noqa: ANN001
    """True when either side lies in the other's downstream impact (symmetric; each side is one
    CI id or a collection of ids).  Change conflict detection uses this."""
    return impacts(ci_a, ci_b, redundancy) or impacts(ci_b, ci_a, redundancy)


def impact_overlap(ci_ids_a: Iterable, ci_ids_b: Iterable,
                   redundancy: bool = False) -> set[uuid.UUID]:
    """CIs of either set that lie in the other set's downstream impact."""
    a = [_key(x) for x in ci_ids_a]
    b = [_key(x) for x in ci_ids_b]
    down_a, _ = _walk(a, "down", None, redundancy)
    down_b, _ = _walk(b, "down", None, redundancy)
    hits = (set(b) & set(down_a)) | (set(a) & set(down_b))
    return {_uuid(k) for k in hits}
