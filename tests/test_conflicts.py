"""Conflict detection against a brute-force computation on generated data."""

from __future__ import annotations

import datetime as dt
import random

from itsmdesk.models.change import Change, ChangeCI
from itsmdesk.models.cmdb import Relation
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.change import conflicts
from itsmdesk.services.change.lifecycle import PLANNED
from itsmdesk.services.cmdb import cis as cmdb
from tests.change_helpers import T0, ci, stack


def _brute_force(impact: bool):
    rows = list(Change.select().where(Change.status.in_(PLANNED)
                                      & Change.planned_start.is_null(False)))
    cis = {c.id: {r.ci_id for r in ChangeCI.select().where(ChangeCI.change == c.id)} for c in rows}
    edges = [(r.source_id, r.target_id) for r in Relation.select()]  # target fails -> source fails

    def closure(start):
        seen, todo = set(start), list(start)
        while todo:
            x = todo.pop()
            for s, t in edges:
                if t == x and s not in seen:
                    seen.add(s)
                    todo.append(s)
        return seen

    same, path = set(), set()
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if not (a.planned_start < b.planned_end and b.planned_start < a.planned_end):
                continue
            key = frozenset((a.ref, b.ref))
            if cis[a.id] & cis[b.id]:
                same.add(key)
            elif impact and ((closure(cis[a.id]) & cis[b.id]) or (closure(cis[b.id]) & cis[a.id])):
                path.add(key)
    return same, path


def test_pairs_match_brute_force(db):
    rng = random.Random(7)
    cmdb.ensure_standard_classes()
    nodes = [ci(f"n{i}") for i in range(14)]
    for i in range(1, 14):  # a random forest: each node depends on an earlier one
        if rng.random() < 0.7:
            cmdb.create_relation(nodes[i], "depends_on", nodes[rng.randrange(i)])
    statuses = ["draft", "submitted", "approved", "scheduled", "closed", "rejected"]
    for n in range(45):
        start = T0 + dt.timedelta(hours=rng.randrange(0, 60))
        change_service.create_change(
            {"title": f"c{n}", "status": rng.choice(statuses), "planned_start": start,
             "planned_end": start + dt.timedelta(hours=rng.choice((1, 2, 6, 12)))},
            cis=rng.sample(nodes, rng.choice((1, 1, 2))))
    found = conflicts.detect(windows=False)
    same = {frozenset((c.change_ref, c.other_ref)) for c in found if c.kind == "same_ci"}
    path = {frozenset((c.change_ref, c.other_ref)) for c in found if c.kind == "impact_path"}
    want_same, want_path = _brute_force(True)
    assert same == want_same and len(same) >= 5
    assert path == want_path and len(path) > 0
    # a date range keeps exactly the pairs overlapping it
    lo, hi = T0 + dt.timedelta(hours=40), T0 + dt.timedelta(hours=60)
    ranged = conflicts.detect(lo, hi, impact=False, windows=False)
    for c in ranged:
        assert c.start < hi


def test_blackout_and_maintenance_windows(db):
    srv, app, _shop = stack()
    change_service.create_window({"name": "Freeze", "kind": "blackout", "starts_at": T0,
                                  "ends_at": T0 + dt.timedelta(days=1)})
    # weekly maintenance on srv: Sundays 01:00-05:00 (T0 is a Monday)
    sunday = T0 - dt.timedelta(days=1, hours=7)  # 2030-03-03 01:00
    change_service.create_window({"name": "Sunday night", "kind": "maintenance", "ci": srv.id,
                                  "starts_at": sunday, "ends_at": sunday + dt.timedelta(hours=4),
                                  "rrule": "FREQ=WEEKLY;BYDAY=SU"})
    inside = change_service.create_change({
        "title": "in window", "planned_start": sunday + dt.timedelta(days=7, hours=1),
        "planned_end": sunday + dt.timedelta(days=7, hours=2)}, cis=[srv])
    outside = change_service.create_change({
        "title": "outside", "planned_start": T0 + dt.timedelta(days=2),
        "planned_end": T0 + dt.timedelta(days=2, hours=1)}, cis=[srv])
    frozen = change_service.create_change({
        "title": "frozen", "planned_start": T0 + dt.timedelta(hours=3),
        "planned_end": T0 + dt.timedelta(hours=4)}, cis=[app])
    found = conflicts.detect()
    kinds = {(c.kind, c.change_ref) for c in found}
    assert ("blackout", frozen.ref) in kinds
    assert ("outside_maintenance", outside.ref) in kinds
    assert not any(ref == inside.ref for _k, ref in kinds)
    occ = conflicts.windows_between(T0, T0 + dt.timedelta(days=21), kind="maintenance")
    assert [o.start.weekday() for o in occ] == [6, 6, 6]
    assert [c.kind for c in conflicts.for_change(frozen.id)] == ["blackout"]
