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

from itsmdesk.models.base import db

# Propagation values that carry a failure from target to source / from source to target.
_T2S = ("target_to_source", "both")
_S2T = ("source_to_target", "both")
_CHUNK = 900  # parameters per IN (...) list: well under SQLite's and psycopg2's limits


@dataclass(frozen=True)
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
    """The form a CI id takes in raw queries: the hex string on SQLite, text on PostgreSQL."""
    if hasattr(value, "id") and not isinstance(value, (str, uuid.UUID)):
        value = value.id
    if isinstance(value, uuid.UUID):
        return value.hex
    return uuid.UUID(str(value)).hex


def _norm(value) -> str:  # noqa: ANN001
    """A key as read back from a cursor (PostgreSQL gives 'xxxxxxxx-xxxx-...', SQLite hex)."""
    if isinstance(value, uuid.UUID):
        return value.hex
    text = str(value)
    return text if len(text) == 32 else text.replace("-", "")


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _placeholders(n: int) -> str:
    mark = "%s" if _is_postgres() else "?"
    return ", ".join([mark] * n)


def _is_postgres() -> bool:
    import peewee as pw

    return isinstance(db.obj, pw.PostgresqlDatabase)


def _classes() -> dict[str, tuple[str, str, bool]]:
    """class id -> (name, label, is_service)."""
    cursor = db.execute_sql("SELECT id, name, label, is_service FROM ci_class")
    return {_norm(r[0]): (r[1], r[2], bool(r[3])) for r in cursor.fetchall()}


# Column list of every CI row a walk reads (the node's own attributes).
_CI_COLS = "c.id, c.name, c.ci_class_id, c.criticality, c.status, c.min_members_up"


def _ci_rows(keys: list[str]) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for part in _chunks(keys):
        cursor = db.execute_sql(f"SELECT {_CI_COLS} FROM ci c WHERE c.id IN ({_placeholders(len(part))})",
                                part)
        for row in cursor.fetchall():
            out[_norm(row[0])] = row
    return out


def _edges_from(frontier: list[str], reverse: bool, with_s2t: bool) -> list[tuple]:
    """Relations through which a failure of a frontier CI spreads one step.

    Each row: (frontier CI key, neighbour key, relation type, redundant, group, neighbour CI
    columns...).  ``reverse`` walks against the propagation direction (upstream).  ``group`` is
    True when the relation can make the frontier CI a member of the neighbour's redundancy group
    (the neighbour is the relation's source and failure runs target -> source).
    """
    down_t2s = (f"SELECT r.target_id, r.source_id, r.type, r.redundant, {_CI_COLS} FROM relation r "
                "JOIN ci c ON c.id = r.source_id WHERE r.target_id IN ({ph}) "
                "AND r.propagates IN ('target_to_source', 'both')")
    down_s2t = (f"SELECT r.source_id, r.target_id, r.type, r.redundant, {_CI_COLS} FROM relation r "
                "JOIN ci c ON c.id = r.target_id WHERE r.source_id IN ({ph}) "
                "AND r.propagates IN ('source_to_target', 'both')")
    up_t2s = (f"SELECT r.source_id, r.target_id, r.type, r.redundant, {_CI_COLS} FROM relation r "
              "JOIN ci c ON c.id = r.target_id WHERE r.source_id IN ({ph}) "
              "AND r.propagates IN ('target_to_source', 'both')")
    up_s2t = (f"SELECT r.target_id, r.source_id, r.type, r.redundant, {_CI_COLS} FROM relation r "
              "JOIN ci c ON c.id = r.source_id WHERE r.target_id IN ({ph}) "
              "AND r.propagates IN ('source_to_target', 'both')")
    if reverse:
        queries = [(up_t2s, False)] + ([(up_s2t, False)] if with_s2t else [])
    else:
        queries = [(down_t2s, True)] + ([(down_s2t, False)] if with_s2t else [])
    rows: list[tuple] = []
    for sql, group in queries:
        for part in _chunks(frontier):
            cursor = db.execute_sql(sql.replace("{ph}", _placeholders(len(part))), part)
            for row in cursor.fetchall():
                rows.append((row[0], row[1], row[2], bool(row[3]), group) + tuple(row[4:]))
    return rows


def _has_source_to_target() -> bool:
    """Whether any relation propagates source->target (indexed probe; usually none)."""
    cursor = db.execute_sql("SELECT 1 FROM relation WHERE propagates <> 'target_to_source' "
                            "LIMIT 1")  # the partial index relation_nondefault_propagation
    return cursor.fetchone() is not None


def _group_sizes(keys: list[str]) -> dict[str, int]:
    """Number of redundancy-group members (redundant, target->source relations) per CI."""
    sizes: dict[str, int] = {}
    for part in _chunks(keys):
        cursor = db.execute_sql(
            "SELECT source_id, COUNT(*) FROM relation WHERE source_id IN "
            f"({_placeholders(len(part))}) AND redundant = {_true()} "
            "AND propagates IN ('target_to_source', 'both') GROUP BY source_id", part)
        for src, n in cursor.fetchall():
            sizes[_norm(src)] = int(n)
    return sizes


def _true() -> str:
    return "TRUE" if _is_postgres() else "1"


def _walk(ci_ids: Iterable, direction: str, depth: int | None,
          redundancy: bool = True) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """The failure rounds.  Returns (key -> (depth, via key, relation type, redundant),
    key -> CI row)."""
    if direction not in ("down", "up"):
        raise ValueError("direction must be 'down' or 'up'")
    seeds = list(dict.fromkeys(_key(c) for c in ci_ids))
    rows = _ci_rows(seeds)
    result: dict[str, tuple] = {k: (0, None, None, False) for k in seeds if k in rows}
    frontier = [k for k in result if rows[k][4] != "retired"]
    reverse = direction == "up"
    level = 0
    group_size: dict[str, int] = {}
    failed_members: dict[str, set[str]] = {}
    with_s2t = _has_source_to_target() if frontier else False
    while frontier and (depth is None or level < depth):
        level += 1
        edges = _edges_from(frontier, reverse, with_s2t)
        # Pass 1: who falls through a plain relation, and which groups lost members.
        next_level: dict[str, tuple] = {}
        group_hits: dict[str, list[tuple]] = {}
        for frm, to, rtype, redundant, group, *ci in edges:
            to = _norm(to)
            if to in result or ci[4] == "retired":
                continue
            frm = _norm(frm)
            if redundancy and group and redundant and ci[5] is not None:
                group_hits.setdefault(to, []).append((frm, rtype, ci))
                continue
            if to not in next_level:
                next_level[to] = (level, frm, rtype, redundant and reverse)
                rows[to] = tuple(ci)
        # Pass 2: redundancy groups that lost too many members.
        pending = [k for k in group_hits if k not in next_level and k not in group_size]
        if pending:
            group_size.update(_group_sizes(pending))
        for to, hits in group_hits.items():
            lost = failed_members.setdefault(to, set())
            lost.update((h[0], h[1]) for h in hits)  # (member, relation type)
            if to in next_level:
                continue
            k = hits[0][2][5]
            n = group_size.get(to, len(lost))
            if len(lost) > max(n - int(k), 0):
                frm, rtype, ci = hits[-1]
                next_level[to] = (level, frm, rtype, True)
                rows[to] = tuple(ci)
        result.update(next_level)
        frontier = list(next_level)
    return result, rows


def impact(ci_ids: Iterable, direction: str = "down", depth: int | None = None,
           redundancy: bool = True) -> list[ImpactedCI]:
    """CIs impacted by (``down``) or needed by (``up``) the given CIs, by depth then name.

    ``ci_ids``: CI ids (UUID or str) or CI rows.  ``depth``: number of relation steps (None: no
    limit).  ``redundancy=False`` treats every relation as a single point of failure.
    """
    result, rows = _walk(ci_ids, direction, depth, redundancy)
    classes = _classes()
    out = []
    for key, (d, via, rtype, red) in result.items():
        row = rows[key]
        cname, clabel, is_service = classes.get(_norm(row[2]), ("", "", False))
        out.append(ImpactedCI(uuid.UUID(key), row[1], cname, row[3], d, is_service,
                              uuid.UUID(via) if via else None, rtype, clabel, row[4], red))
    out.sort(key=lambda i: (i.depth, i.name))
    return out


def impacted_services(ci_ids: Iterable, depth: int | None = None) -> list[ImpactedCI]:
    """Business services that fail if the given CIs fail (most critical first)."""
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    services = [i for i in impact(ci_ids, "down", depth) if i.is_service]
    services.sort(key=lambda i: (order.get(i.criticality, 9), i.depth, i.name))
    return services


def downstream_ids(ci_ids: Iterable, depth: int | None = None,
                   redundancy: bool = True) -> set[uuid.UUID]:
    """The ids of every CI that fails if the given CIs fail (the given ones included)."""
    result, _rows = _walk(ci_ids, "down", depth, redundancy)
    return {uuid.UUID(k) for k in result}


def upstream_ids(ci_ids: Iterable, depth: int | None = None) -> set[uuid.UUID]:
    """The ids of every CI the given CIs need (the given ones included)."""
    result, _rows = _walk(ci_ids, "up", depth, False)
    return {uuid.UUID(k) for k in result}


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
    return {uuid.UUID(k) for k in hits}
