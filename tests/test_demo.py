"""Demo data: deterministic by seed, realistic shape."""

from __future__ import annotations

import sqlite3

from itsmdesk.demo import builder as demo
from itsmdesk.services.session import open_database


def _fingerprint(path):
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT id, ref, title, opened_at, priority FROM incident ORDER BY ref").fetchall()
    cis = conn.execute("SELECT id, name FROM ci ORDER BY name").fetchall()
    conn.close()
    return rows, cis


def test_same_seed_same_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ITSMDESK_DEMO_ANCHOR", "2026-06-01")
    prints = []
    for name in ("a.db", "b.db"):
        database, _ = open_database(f"sqlite:///{tmp_path / name}")
        demo.generate("small", 3)
        database.close()
        prints.append(_fingerprint(tmp_path / name))
    assert prints[0] == prints[1]
    database, _ = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    demo.generate("small", 4)
    database.close()
    assert _fingerprint(tmp_path / "c.db") != prints[0]


def test_demo_is_realistic(demo_db):
    from itsmdesk.models import CI, CABMeeting, Incident, Problem, Relation
    from itsmdesk.services.cmdb.cis import relations_of

    shop = CI.get(CI.name == "Web Shop")
    outgoing, _ = relations_of(shop.id)
    assert any(r.type == "depends_on" and r.target.ci_class.name == "application" for r in outgoing)
    # services -> applications -> VMs -> hosts -> switches -> routers
    assert Relation.select().where(Relation.type == "hosted_on").count() > 10
    assert Relation.select().where(Relation.redundant == True).count() > 0  # noqa: E712
    # problems sit behind recurring incidents
    linked = Incident.select().where(Incident.problem.is_null(False)).count()
    assert linked >= 20 and Problem.select().count() == 6
    # closed incidents have believable timings
    for inc in Incident.select().where(Incident.status == "closed").limit(50):
        assert inc.opened_at < inc.resolved_at < inc.closed_at
    held = CABMeeting.select().where(CABMeeting.status == "held")
    assert held.count() >= 2 and all(m.votes.count() > 0 for m in held)
