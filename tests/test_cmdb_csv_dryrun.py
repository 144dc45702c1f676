"""CMDB CSV dry run: what would change, field by field (report.diff), and nothing written."""

from __future__ import annotations

import json

from itsmdesk.cli import main
from itsmdesk.models.cmdb import CI, Relation
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.people import Site, Team
from itsmdesk.services import records
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb import csv_io as cmdb_csv
from itsmdesk.services.cmdb.csv_io import import_csv
from itsmdesk.services.importing.report import DiffEntry, FieldChange
from tests.test_cmdb_csv import CIS  # the same sample file

# web-01 and db-01 change, web-03 is new, the rest stays
CHANGED = """name,class,status,criticality,site,owner_team,version,os,ram_gb,engine
web-01,virtual_machine,in maintenance,high,,Ops,RHEL 9,Linux,64,
web-02,virtual_machine,in_production,high,OSL,,RHEL 9,Linux,32,
db-01,database,,high,,,16.4,,,MySQL
Shop,business_service,in_production,critical,,,,,,
shop-app,application,planned,,,,2.1,,,
web-03,virtual_machine,,,OSL,Ops,RHEL 10,Linux,16,
"""

RELS = """source,type,target
Shop,depends on,shop-app
shop-app,runs_on,web-01
shop-app,runs_on,web-02
shop-app,depends_on,db-01
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _estate(tmp_path, relations: bool = False):
    cmdb.ensure_standard_classes()
    records.create(Site, {"name": "Oslo", "code": "OSL"})
    records.create(Team, {"name": "Ops"})
    assert import_csv("cis", _write(tmp_path, "cis.csv", CIS)).applied
    if relations:
        assert import_csv("relations", _write(tmp_path, "rels.csv", RELS)).applied


def _db_state():
    cis = sorted((c.name, c.ci_class_id, c.status, c.criticality, c.site_id, c.owner_team_id,
                  c.ci_version, json.dumps(c.attributes, sort_keys=True), c.version)
                 for c in CI.select())
    rels = sorted((str(r.source_id), r.type, str(r.target_id), r.redundant, r.propagates, r.version)
                  for r in Relation.select())
    return cis, rels, JournalEntry.select().count()


def test_ci_dry_run_lists_field_changes_and_writes_nothing(db, tmp_path):
    _estate(tmp_path)
    before = _db_state()
    report = import_csv("cis", _write(tmp_path, "changed.csv", CHANGED), dry_run=True)
    assert report.dry_run and not report.applied and not report.errors
    assert (report.created, report.updated, report.unchanged) == (1, 2, 3)
    assert report.diff == [
        DiffEntry("update", "web-01", 2, "virtual_machine", changes=[
            FieldChange("status", "in_production", "in_maintenance"),
            FieldChange("site", "OSL", None),
            FieldChange("ram_gb", "32", "64")]),
        DiffEntry("update", "db-01", 4, "database", changes=[
            FieldChange("criticality", "critical", "high"),
            FieldChange("owner_team", "Ops", None),
            FieldChange("engine", "PostgreSQL", "MySQL")]),
        DiffEntry("create", "web-03", 7, "virtual_machine", changes=[
            FieldChange("status", None, "in_production"),  # the defaults a new CI gets
            FieldChange("criticality", None, "medium"),
            FieldChange("site", None, "OSL"),
            FieldChange("owner_team", None, "Ops"),
            FieldChange("version", None, "RHEL 10"),
            FieldChange("os", None, "Linux"),
            FieldChange("ram_gb", None, "16")]),
    ]
    assert report.diff_more == 0
    assert _db_state() == before  # nothing written, not even the journal

    # the real import then does exactly what the dry run listed
    real = import_csv("cis", tmp_path / "changed.csv")
    assert real.applied and (real.created, real.updated) == (1, 2)
    assert not real.diff  # collected for dry runs only
    web = CI.get(CI.name == "web-01")
    assert (web.status, web.site_id, web.attributes["ram_gb"]) == ("in_maintenance", None, 64)
    assert CI.get(CI.name == "db-01").attributes == {"engine": "MySQL"}
    assert import_csv("cis", tmp_path / "changed.csv", dry_run=True).diff == []


def test_ci_dry_run_class_change_drops_attributes_and_good_rows_listed_beside_bad(db, tmp_path):
    _estate(tmp_path)
    text = "name,class,description\nweb-02,application,new app\nnope,spaceship,\n"
    report = import_csv("cis", _write(tmp_path, "cls.csv", text), dry_run=True)
    assert report.rejected == 1 and report.errors[0].line == 3
    (entry,) = report.diff
    assert (entry.action, entry.name, entry.ci_class) == ("update", "web-02", "application")
    assert [(c.field, c.old, c.new) for c in entry.changes] == [
        ("class", "virtual_machine", "application"), ("description", None, "new app"),
        ("os", "Linux", None), ("ram_gb", "32", None)]
    assert CI.get(CI.name == "web-02").ci_class.name == "virtual_machine"


def test_dry_run_detail_is_capped(db, tmp_path, monkeypatch):
    cmdb.ensure_standard_classes()
    monkeypatch.setattr(cmdb_csv, "DIFF_LIMIT", 2)
    text = "name,class\n" + "".join(f"srv-{i},server\n" for i in range(5))
    report = import_csv("cis", _write(tmp_path, "many.csv", text), dry_run=True)
    assert report.created == 5
    assert [e.name for e in report.diff] == ["srv-0", "srv-1"] and report.diff_more == 3


def test_relation_dry_run_lists_added_and_changed_never_removed(db, tmp_path):
    _estate(tmp_path, relations=True)
    before = _db_state()
    text = ("source,type,target,redundant\n"
            "Shop,depends on,shop-app,\n"
            "shop-app,runs_on,web-01,true\n"
            "web-01,depends_on,db-01,\n"
            "Shop,depends_on,db-01,yes\n")
    report = import_csv("relations", _write(tmp_path, "rels2.csv", text), dry_run=True)
    assert (report.created, report.updated, report.unchanged) == (2, 1, 1)
    assert [(e.action, e.relation, e.line, [(c.field, c.old, c.new) for c in e.changes])
            for e in report.diff] == [
        ("update", ("shop-app", "runs_on", "web-01"), 3, [("redundant", "false", "true")]),
        ("create", ("web-01", "depends_on", "db-01"), 4, []),
        ("create", ("Shop", "depends_on", "db-01"), 5, [("redundant", None, "true")]),
    ]
    assert report.diff[1].name == "web-01 depends_on db-01"
    assert _db_state() == before
    # relations missing from the file are neither listed nor removed by the real import
    assert import_csv("relations", tmp_path / "rels2.csv").applied
    assert Relation.select().count() == 6


def test_cli_dry_run_prints_field_changes_and_json(sqlite_db, tmp_path, capsys):
    _estate(tmp_path, relations=True)
    url = f"sqlite:///{sqlite_db.path}"
    path = _write(tmp_path, "changed.csv", CHANGED)
    assert main(["--db", url, "import", "cis", str(path), "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "update CI web-01 (virtual_machine)" in lines
    assert "    status: in_production -> in_maintenance" in lines
    assert "    site: OSL -> (empty)" in lines
    assert "    ram_gb: 32 -> 64" in lines
    assert "    engine: PostgreSQL -> MySQL" in lines
    assert "create CI web-03 (virtual_machine)" in lines and "    version: RHEL 10" in lines
    assert "web-02" not in out  # unchanged rows are only counted
    assert "would create 1, update 2, unchanged 3" in out
    assert CI.get(CI.name == "web-01").status == "in_production"

    assert main(["--db", url, "import", "cis", str(path), "--dry-run", "--quiet", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dry_run"] and data["updated"] == 2
    assert data["diff"][0]["changes"][0] == {"field": "status", "old": "in_production",
                                             "new": "in_maintenance"}

    rels = _write(tmp_path, "r.csv", "source,type,target\nShop,depends_on,db-01\n")
    assert main(["--db", url, "import", "relations", str(rels), "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "add relation Shop depends_on db-01" in out
    assert "never removes relations" in out
    assert Relation.select().count() == 4
