"""Tree queries, CI detail, baselines, audit and the CMDB command line."""

from __future__ import annotations

import json
import uuid

import pytest

from itsmdesk.cli import main
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Site
from itsmdesk.services import records
from itsmdesk.services.cmdb import audit as cmdb_audit
from itsmdesk.services.cmdb import baselines
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb import tree as cmdb_tree


def _estate():
    cmdb.ensure_standard_classes()
    site = records.create(Site, {"name": "Oslo", "code": "OSL"})
    for name, cls in [("Shop", "business_service"), ("shop-app", "application"),
                      ("web-01", "virtual_machine"), ("web-02", "virtual_machine"),
                      ("db-01", "database")]:
        cmdb.create_ci({"name": name, "ci_class": cls, "site": site.id if cls != "business_service"
                        else None, "attributes": {"os": "Linux"} if cls == "virtual_machine" else {}})
    cmdb.create_relation("Shop", "depends_on", "shop-app")
    cmdb.create_relation("shop-app", "runs_on", "web-01", redundant=True)
    cmdb.create_relation("shop-app", "runs_on", "web-02", redundant=True)
    cmdb.create_relation("shop-app", "depends_on", "db-01")
    app = cmdb.get_ci_by_name("shop-app")
    cmdb.update_ci(app.id, app.version, {"min_members_up": 1})
    return site


def test_tree_roots_and_paged_branches(db):
    site = _estate()
    roots = {n.label: n for n in cmdb_tree.roots("class")}
    assert roots["Virtual machine"].count == 2 and roots["Cluster"].count == 0
    vm = roots["Virtual machine"]
    page = cmdb_tree.branch("class", vm.key, limit=1)
    assert [n.label for n in page.nodes] == ["web-01"] and page.more
    node = page.nodes[0]  # keys come back as UUIDs on both back ends, with the class's label
    assert node.detail == "Virtual machine" and node.key == cmdb.get_ci_by_name("web-01").id
    page = cmdb_tree.branch("class", vm.key, after="web-01", limit=1)
    assert [n.label for n in page.nodes] == ["web-02"] and not page.more
    sites = cmdb_tree.roots("site")
    assert [(n.label, n.count) for n in sites] == [("Oslo (OSL)", 4), ("No site", 1)]
    assert [n.label for n in cmdb_tree.branch("site", site.id).nodes] == [
        "db-01", "shop-app", "web-01", "web-02"]
    services = cmdb_tree.roots("service")
    assert [(n.label, n.has_children) for n in services] == [("Shop", True)]
    apps = cmdb_tree.branch("service", services[0].key).nodes
    assert [(n.label, n.relation, n.has_children) for n in apps] == [("shop-app", "depends_on", True)]
    assert [n.label for n in cmdb_tree.dependencies(apps[0].key).nodes] == ["db-01", "web-01", "web-02"]
    # filter
    assert [n.label for n in cmdb_tree.roots("class", "web")] == ["Virtual machine"]
    assert [n.label for n in cmdb_tree.branch("class", vm.key, filter_text="02").nodes] == ["web-02"]
    assert [n.label for n in cmdb_tree.find_cis("web")] == ["web-01", "web-02"]


def test_ci_detail(db):
    _estate()
    app = cmdb.get_ci_by_name("shop-app")
    detail = cmdb_tree.ci_detail(app.id)
    assert {(r.direction, r.type, r.other_name) for r in detail.relations} == {
        ("in", "depends_on", "Shop"), ("out", "runs_on", "web-01"), ("out", "runs_on", "web-02"),
        ("out", "depends_on", "db-01")}
    assert any(h.field == "*created*" for h in detail.history)
    assert detail.linked == []


def test_ci_view_and_save(db):
    from itsmdesk.errors import ConflictError
    from itsmdesk.models.people import Team
    from itsmdesk.services import people

    site = _estate()
    team = people.create_team({"name": "Platform"})
    app = cmdb.get_ci_by_name("shop-app")
    view = cmdb_tree.ci_view(app.id)
    assert (view.name, view.class_name, view.version, view.min_members_up) == (
        "shop-app", "application", app.version, 1)
    assert view.site_id == site.id and view.owner_team_id is None
    assert [(r.direction, r.type, r.other_name, r.other_class) for r in view.relations] == [
        ("out", "depends_on", "db-01", "Database"), ("out", "runs_on", "web-01", "Virtual machine"),
        ("out", "runs_on", "web-02", "Virtual machine"), ("in", "depends_on", "Shop",
                                                          "Business service")]
    assert all(r.version == 1 for r in view.relations)
    assert ("Oslo (OSL)" in [label for _i, label in view.choices.sites]
            and view.choices.sites[0][0] == site.id)  # ids as UUIDs on both back ends
    assert view.choices.teams == ((team.id, "Platform"),)
    assert [a.name for a in view.choices.class_named("application").attributes] == ["url",
                                                                                     "language"]
    saved = cmdb.save_ci(app.id, view.version, {"owner_team": str(team.id),
                                                 "attributes": {"url": "https://x"}})
    assert saved.owner_team_id == team.id and Team.get_by_id(team.id).name == "Platform"
    assert cmdb_tree.ci_view(app.id).attribute_texts == {"url": "https://x"}
    with pytest.raises(ConflictError):
        cmdb.save_ci(app.id, view.version, {"vendor": "ACME"})
    new_id = uuid.uuid4()
    created = cmdb.save_ci(None, None, {"name": "web-03", "ci_class": "virtual_machine",
                                        "site": str(site.id), "attributes": {"vcpus": "4"}},
                           new_id=new_id)
    assert created.id == new_id and CI.get_by_id(new_id).attributes == {"vcpus": 4}
    # relations: from the form's CI by name; a stale relation version conflicts on delete
    rel = cmdb.create_relation_from(new_id, "runs_on", "web-01")
    with pytest.raises(ConflictError):
        cmdb.delete_relations({rel.id: rel.version + 1})
    assert cmdb.delete_relations({rel.id: rel.version}) == 1
    assert cmdb_tree.ci_view(new_id).relations == ()


def test_baseline_compare(db):
    _estate()
    baselines.take("before", scope={"site": "OSL"})
    baselines.take("all")
    assert baselines.compare("before").is_same
    web = cmdb.get_ci_by_name("web-01")
    cmdb.update_ci(web.id, web.version, {"status": "in_maintenance",
                                         "attributes": {"os": "BSD"}})
    cmdb.create_ci({"name": "web-03", "ci_class": "virtual_machine",
                    "site": Site.get(Site.code == "OSL").id})
    cmdb.create_relation("shop-app", "runs_on", "web-03")
    rel = CI.get(CI.name == "db-01").incoming.get()
    cmdb.delete_relation(rel.id)
    result = baselines.compare("before")
    assert result.added == ["web-03"] and result.removed == []
    assert set(result.changed) == {("web-01", "status", "in_production", "in_maintenance"),
                                   ("web-01", "os", "Linux", "BSD")}
    assert result.relations_added == ["shop-app|runs_on|web-03"]
    assert result.relations_removed == ["shop-app|depends_on|db-01"]
    everything = baselines.compare("all")
    assert everything.added == ["web-03"]
    listed = {b.name: (b.cis, b.relations) for b in baselines.list_baselines()}
    assert listed == {"before": (4, 3), "all": (5, 4)}


def test_audit_reports_without_changing(db, tmp_path):
    _estate()
    scan = tmp_path / "scan.csv"
    scan.write_text("name,class,site,os\nweb-01,virtual_machine,OSL,Linux\n"
                    "web-02,virtual_machine,OSL,Windows\nweb-09,virtual_machine,OSL,Linux\n")
    before = {c.name: c.version for c in CI.select()}
    result = cmdb_audit.audit(scan)
    assert result.unknown == ["web-09"]
    assert result.missing == []  # scope: virtual machines at OSL
    assert result.different == [("web-02", "os", "Linux", "Windows")]
    assert result.matching == 1
    assert {c.name: c.version for c in CI.select()} == before
    scan2 = tmp_path / "scan2.csv"
    scan2.write_text("name,site\nweb-01,OSL\nshop-app,OSL\n")
    assert cmdb_audit.audit(scan2).missing == ["db-01", "web-02"]
    report = cmdb_audit.accept(scan)
    assert report.applied and report.created == 1 and report.updated == 1
    assert cmdb.get_ci_by_name("web-02").attributes == {"os": "Windows"}


def test_cli_impact_baseline_audit(sqlite_db, tmp_path, capsys):
    _estate()
    url = f"sqlite:///{sqlite_db.path}"
    assert main(["--db", url, "impact", "db-01", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["class"], r["depth"]) for r in rows] == [
        ("db-01", "database", 0), ("shop-app", "application", 1), ("Shop", "business_service", 2)]
    assert main(["--db", url, "impact", "web-01", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["web-01"]
    assert main(["--db", url, "impact", "Shop", "--direction", "up", "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "shop-app" in out and "web-01" not in out
    assert main(["--db", url, "impact", "nope"]) == 2
    assert main(["--db", url, "baseline", "take", "b1"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "baseline", "list", "--json"]) == 0
    assert [(b["name"], b["cis"]) for b in json.loads(capsys.readouterr().out)] == [("b1", 5)]
    assert main(["--db", url, "baseline", "compare", "b1"]) == 0
    assert "no differences" in capsys.readouterr().out
    scan = tmp_path / "scan.csv"
    scan.write_text("name,class\nweb-01,virtual_machine\nnew-box,server\n")
    assert main(["--db", url, "audit", str(scan)]) == 0
    out = capsys.readouterr().out
    assert "unknown  new-box" in out and "missing  web-02" in out
    assert main(["--db", url, "audit", str(scan), "--accept"]) == 0
    assert CI.select().where(CI.name == "new-box").exists()


def test_ci_history_shows_imported_relations(db, tmp_path):
    from itsmdesk.services.cmdb.csv_io import import_csv

    _estate()
    path = tmp_path / "r.csv"
    path.write_text("source,type,target\nweb-01,connected_to,db-01\n")
    assert import_csv("relations", path).created == 1
    detail = cmdb_tree.ci_detail(cmdb.get_ci_by_name("web-01").id)
    assert any(h.field == "!relation+" and "connected_to db-01" in (h.new or "")
               for h in detail.history)
    app = cmdb_tree.ci_detail(cmdb.get_ci_by_name("shop-app").id)
    added = sorted(h.new for h in app.history if h.field == "!relation+")
    assert added == ["depends_on db-01", "runs_on web-01", "runs_on web-02"]  # no duplicates
    # the form's history (named_history) shows them the same way
    named = cmdb_tree.ci_history(cmdb.get_ci_by_name("web-01").id)
    assert [(e.action, e.new) for e in named if e.field == "relation+"] == [
        ("note", "connected_to db-01")]
    assert [e.at for e in named] == sorted((e.at for e in named), reverse=True)
    named = cmdb_tree.ci_history(cmdb.get_ci_by_name("shop-app").id)
    assert sorted(e.new for e in named if e.field == "relation+") == added
