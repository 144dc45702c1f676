"""Impacted business services for many CIs at once, each CI on its own.

The change calendar names, for every change it shows, the business services an outage of the
change's CIs reaches.  Asking :func:`impact.impacted_services` once per CI costs a walk (a few
queries per relation step) per CI: on a branch-office link, seconds.  Here one joint walk from
all the CIs finds the part of the graph any of them can reach (plain reachability, a superset of
what fails), one query reads that part's relations and one its redundancy-group sizes; then each
CI's failure is spread in memory with exactly the rules of :mod:`itsmdesk.services.cmdb.impact`
(propagation direction, retired CIs, redundancy groups with ``min_members_up``).  Tests check
the two agree on every CI of the demo estate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from itsmdesk.services.cmdb import impact
from itsmdesk.services.cmdb.impact import _CLASS, _ID, _K, _NAME, _STATUS

_RELATIONS_SQL = ("SELECT source_gid, target_gid, type, propagates, redundant FROM relation "
                  "WHERE source_gid IN ({ph}) AND target_gid IN ({ph2})")


def _relations(gids: list[int]) -> list[tuple]:
    """Relations with both ends among ``gids`` (the reachable part of the graph)."""
    import json

    if not gids:
        return []
    keys = sorted(gids)
    if impact._is_postgres():
        sql = (_RELATIONS_SQL.replace("({ph})", "(SELECT unnest(%s::bigint[]))")
               .replace("({ph2})", "(SELECT unnest(%s::bigint[]))"))
        whole = "{" + ",".join(map(str, keys)) + "}"
    else:
        sql = (_RELATIONS_SQL.replace("({ph})", "(SELECT value FROM json_each(?))")
               .replace("({ph2})", "(SELECT value FROM json_each(?))"))
        whole = json.dumps(keys)
    out: list[tuple] = []
    for start in range(0, len(keys), impact._CHUNK):
        part = keys[start:start + impact._CHUNK]
        param = "{" + ",".join(map(str, part)) + "}" if impact._is_postgres() else json.dumps(part)
        out.extend(impact.db.execute_sql(sql, (param, whole)).fetchall())
    return out


def services_by_ci(ci_ids: Iterable[Any]) -> dict[Any, list[impact.ImpactedCI]]:
    """CI id -> the business services its failure alone brings down (most critical first),
    for every given CI (unknown ids map to an empty list)."""
    wanted = list(dict.fromkeys(ci_ids))
    if not wanted:
        return {}
    reach, rows = impact._walk(wanted, "down", None, redundancy=False)
    gids = list(reach)
    classes = impact._classes()
    # failure edges: who fails next, plain or as a member of the neighbour's redundancy group
    plain: dict[int, list[tuple[int, str]]] = defaultdict(list)
    grouped: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for src, tgt, rtype, props, redundant in _relations(gids):
        if props in ("target_to_source", "both"):
            row = rows.get(src)
            if redundant and row is not None and row[_K] is not None:
                grouped[tgt].append((src, rtype))
            else:
                plain[tgt].append((src, rtype))
        if props in ("source_to_target", "both"):
            plain[src].append((tgt, rtype))
    pools = [g for g in gids if rows[g][_K] is not None]
    size = impact._group_sizes(pools) if pools and any(grouped.values()) else {}
    by_key = {impact._key(c): c for c in wanted}
    out: dict[Any, list[impact.ImpactedCI]] = {c: [] for c in wanted}
    seeds = {row[_ID]: g for g, row in rows.items() if reach.get(g, (None,))[0] == 0}
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    for key, ci in by_key.items():
        seed = seeds.get(key)
        if seed is None:
            continue
        failed = _spread(seed, rows, plain, grouped, size)
        found = []
        for g, (depth, via, rtype) in failed.items():
            row = rows[g]
            cname, clabel, is_service = classes.get(row[_CLASS], ("", "", False))
            if is_service:
                found.append(impact.ImpactedCI(row[_ID], row[_NAME], cname, row[impact._CRIT],
                                               depth, True,
                                               rows[via][_ID] if via is not None else None,
                                               rtype, clabel, row[_STATUS], False))
        found.sort(key=lambda i: (order.get(i.criticality, 9), i.depth, i.name))
        out[ci] = found
    return out


def _spread(seed: int, rows: dict[int, tuple], plain: dict, grouped: dict,
            size: dict[int, int]) -> dict[int, tuple[int, int | None, str | None]]:
    """One CI's failure, round by round, as :func:`impact._walk` spreads it."""
    failed: dict[int, tuple[int, int | None, str | None]] = {seed: (0, None, None)}
    if rows[seed][_STATUS] == "retired":
        return failed
    frontier = [seed]
    lost: dict[int, set] = defaultdict(set)
    level = 0
    while frontier:
        level += 1
        next_level: dict[int, tuple[int, int | None, str | None]] = {}
        hits: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for frm in frontier:
            for to, rtype in plain.get(frm, ()):
                if to in failed or to in next_level or rows[to][_STATUS] == "retired":
                    continue
                next_level[to] = (level, frm, rtype)
            for to, rtype in grouped.get(frm, ()):
                if to in failed or to in next_level or rows[to][_STATUS] == "retired":
                    continue
                hits[to].append((frm, rtype))
        for to, members in hits.items():
            lost[to].update(members)
            if to in next_level:
                continue
            n = size.get(to, len(lost[to]))
            if len(lost[to]) > max(n - int(rows[to][_K]), 0):
                frm, rtype = members[-1]
                next_level[to] = (level, frm, rtype)
        failed.update(next_level)
        frontier = list(next_level)
    return failed

