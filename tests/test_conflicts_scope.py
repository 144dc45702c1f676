"""What ``changes conflicts`` compares (statuses, period), the stretch setting, and the
per-CI impact sweep against the pairwise method and a brute force."""

from __future__ import annotations

import datetime as dt
import json
import random

from itsmdesk.cli import main
from itsmdesk.models.change import Change, ChangeCI
from itsmdesk.models.cmdb import Relation
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.change import conflicts
from itsmdesk.services.cmdb import cis as cmdb
from tests.change_helpers import T0, ci


def _closed_pair():
    srv = ci("srv-old")
    a = change_service.create_change({"title": "old a", "status": "closed", "planned_start": T0,
                                      "planned_end": T0 + dt.timedelta(hours=3)}, cis=[srv])
    b = change_service.create_change({"title": "old b", "status": "closed",
                                      "planned_start": T0 + dt.timedelta(hours=1),
                                      "planned_end": T0 + dt.timedelta(hours=2)}, cis=[srv])
    return a, b


def test_closed_changes_compared_only_when_asked(db, capsys):
    a, b = _closed_pair()
    assert main(["--db", db.url, "changes", "conflicts"]) == 0
    out = capsys.readouterr().out
    assert "Compared 0 change(s) with status: draft, submitted, assessed, awaiting_cab, " \
           "approved, scheduled, implementing." in out
    assert "Period: any start to any end." in out
    assert out.rstrip().endswith("(none)")

    assert main(["--db", db.url, "changes", "conflicts", "--include-closed"]) == 0
    out = capsys.readouterr().out
    assert "Compared 2 change(s) with status: every status." in out
    assert f"same_ci  {a.ref}" in out and b.ref in out and "srv-old" in out

    assert main(["--db", db.url, "changes", "conflicts", "--status", "closed", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["statuses"] == ["closed"] and data["compared"] == 2
    assert [(c["kind"], c["change_ref"], c["other_ref"]) for c in data["conflicts"]] == [
        ("same_ci", a.ref, b.ref)]

    # a period that ends before them compares neither
    assert main(["--db", db.url, "changes", "conflicts", "--include-closed", "--from",
                 "2030-01-01", "--to", "2030-03-03"]) == 0
    out = capsys.readouterr().out
    assert "Compared 0 change(s)" in out and "Period: 2030-01-01 00:00 to 2030-03-04 00:00." in out
    assert main(["--db", db.url, "changes", "conflicts", "--status", "clsoed"]) == 2
    err = capsys.readouterr().err
    assert "Unknown change status clsoed" in err


def test_stretch_is_a_journalled_setting_and_counted(db, capsys):
    srv = ci("srv-s")
    # two changes without an end at the same hour, one with a real window overlapping neither
    a = change_service.create_change({"title": "a", "planned_start": T0}, cis=[srv])
    b = change_service.create_change({"title": "b", "planned_start": T0 + dt.timedelta(minutes=30)},
                                     cis=[srv])
    c = change_service.create_change({"title": "c", "planned_start": T0 + dt.timedelta(hours=5),
                                      "planned_end": T0 + dt.timedelta(hours=6)}, cis=[srv])
    d = change_service.create_change({"title": "d", "planned_start": T0 + dt.timedelta(hours=5),
                                      "planned_end": T0 + dt.timedelta(hours=7)}, cis=[srv])
    report = conflicts.analyse(windows=False)
    assert report.stretch_minutes == 60 and report.stretched_changes == 2
    assert {(x.change_ref, x.other_ref) for x in report.conflicts} == {(a.ref, b.ref),
                                                                       (c.ref, d.ref)}
    assert (report.pairs, report.stretched_pairs) == (2, 1)
    assert main(["--db", db.url, "changes", "conflicts"]) == 0
    out = capsys.readouterr().out
    assert ("A change without an end counts as 60 minute(s) (setting "
            "change_conflict_stretch_minutes; 'changes conflict-stretch' changes it): 2 change(s) "
            "stretched, 1 of 2 conflicting pair(s) involve one.") in out

    assert main(["--db", db.url, "changes", "conflict-stretch", "0"]) == 0
    assert "counts as 0 minute(s)" in capsys.readouterr().out
    assert conflicts.stretch_minutes() == 0
    row = JournalEntry.get((JournalEntry.record_kind == "setting")
                           & (JournalEntry.record_ref == conflicts.STRETCH_SETTING))
    assert (row.old, row.new) == (None, "0")
    report = conflicts.analyse(windows=False)
    assert {(x.change_ref, x.other_ref) for x in report.conflicts} == {(c.ref, d.ref)}
    assert (report.pairs, report.stretched_pairs) == (1, 0)
    assert conflicts.for_change(a.id) == []
    # three hours: a and b now reach c's window? no (a ends 11:00, c starts 13:00); b overlaps a
    assert main(["--db", db.url, "changes", "conflict-stretch", "300"]) == 0
    capsys.readouterr()
    refs = {(x.change_ref, x.other_ref) for x in conflicts.detect(windows=False)}
    assert (b.ref, c.ref) in refs and (a.ref, b.ref) in refs
    assert main(["--db", db.url, "changes", "conflict-stretch", "-5"]) == 2
    assert "must be 0-10080 minutes, not -5" in capsys.readouterr().err
    assert conflicts.stretch_minutes() == 300


def _closure_brute_force(spans: dict) -> dict:
    """(a, b) -> CIs of one reached by an outage of a CI of the other, by plain graph search
    over every pair of changes."""
    fails_next: dict = {}
    for r in Relation.select():
        if r.propagates in ("target_to_source", "both"):
            fails_next.setdefault(r.target_id, set()).add(r.source_id)
        if r.propagates in ("source_to_target", "both"):
            fails_next.setdefault(r.source_id, set()).add(r.target_id)

    def down(x):
        seen, todo = {x}, [x]
        while todo:
            for n in fails_next.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    reach = {}
    out = {}
    items = list(spans.values())
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if a.empty or b.empty or not (a.start < b.end and b.start < a.end):
                continue
            if a.cis & b.cis:
                continue
            hit = set()
            for one, other in ((a, b), (b, a)):
                for x in one.cis:
                    if x not in reach:
                        reach[x] = down(x)
                    hit |= reach[x] & other.cis
            if hit:
                key = (a.id, b.id) if str(a.id) < str(b.id) else (b.id, a.id)
                out[key] = hit
    return out


def test_impact_sweep_equals_pairwise_and_brute_force(db):
    rng = random.Random(11)
    cmdb.ensure_standard_classes()
    nodes = [ci(f"g{i}") for i in range(30)]
    for i in range(1, 30):  # a random DAG, some propagating the other way, both or not at all
        for j in rng.sample(range(i), min(i, rng.choice((1, 1, 2)))):
            cmdb.create_relation(nodes[i], "depends_on", nodes[j],
                                 propagates=rng.choice(("target_to_source",) * 5
                                                       + ("source_to_target", "both", "none")))
    for n in range(70):
        start = T0 + dt.timedelta(hours=rng.randrange(0, 80))
        end = None if rng.random() < 0.2 else start + dt.timedelta(hours=rng.choice((1, 3, 10, 30)))
        change_service.create_change(
            {"title": f"x{n}", "status": rng.choice(("draft", "approved", "closed")),
             "planned_start": start, "planned_end": end},
            cis=rng.sample(nodes, rng.choice((1, 1, 2, 3))))
    spans = conflicts._load_spans(None, None, statuses=None)
    same = conflicts.overlap_pairs(spans)
    ours = conflicts._impact_pairs(spans, same, None)
    assert ours == conflicts.impact_pairs_pairwise(spans, same)
    assert ours == _closure_brute_force(spans) and len(ours) > 20
    # a focused run (one change's form) finds exactly that change's pairs
    for cid in list(spans)[:10]:
        focused = conflicts._impact_pairs(spans, same, {cid})
        assert focused == {k: v for k, v in ours.items() if cid in k}
    # through analyse: every pair reported once, kinds disjoint
    report = conflicts.analyse(statuses=None, windows=False)
    kinds = {}
    for c in report.conflicts:
        kinds.setdefault(c.kind, set()).add(frozenset((c.change_id, c.other_id)))
    assert kinds["impact_path"] == {frozenset(k) for k in ours}
    assert kinds["same_ci"] == {frozenset(k) for k in same}
    assert report.compared == Change.select().count() and ChangeCI.select().count() > 70
