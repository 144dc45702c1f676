"""CSV import/export of CIs and relations: round trip, upsert, all-or-nothing, rejects."""

from __future__ import annotations

import csv
import json

from itsmdesk.models.cmdb import CI, Relation
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.people import Site, Team
from itsmdesk.services import records
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb.csv_io import export_csv, import_csv

CIS = """name,class,status,criticality,site,owner_team,version,os,ram_gb,engine
web-01,virtual_machine,in production,high,OSL,Ops,RHEL 9,Linux,32,
web-02,virtual_machine,in_production,high,OSL,,RHEL 9,Linux,32,
db-01,database,,critical,,Ops,16.4,,,PostgreSQL
Shop,business_service,in_production,critical,,,,,,
shop-app,application,planned,,,,2.1,,,
"""

RELS = """source,type,target
Shop,depends on,shop-app
shop-app,runs_on,web-01
shop-app,runs_on,web-02
shop-app,depends_on,db-01
"""


def _setup():
    cmdb.ensure_standard_classes()
    records.create(Site, {"name": "Oslo", "code": "OSL"})
    records.create(Team, {"name": "Ops"})


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _ci_state():
    return {c.name: (c.ci_class.name, c.status, c.criticality, c.site_id, c.owner_team_id,
                     c.ci_version, c.attributes, c.min_members_up) for c in CI.select()}


def test_import_export_round_trip(db, tmp_path):
    _setup()
    progress = []
    report = import_csv("cis", _write(tmp_path, "cis.csv", CIS),
                        progress=lambda d, t, text="": progress.append((d, t, text)))
    assert report.applied and report.created == 5 and not report.errors
    assert progress and progress[-1][0] == progress[-1][1]
    web = CI.get(CI.name == "web-01")
    assert (web.status, web.criticality, web.ci_version) == ("in_production", "high", "RHEL 9")
    assert web.site.code == "OSL" and web.owner_team.name == "Ops"
    assert web.attributes == {"os": "Linux", "ram_gb": 32}
    assert CI.get(CI.name == "db-01").status == "in_production"  # default for an empty cell
    assert CI.get(CI.name == "shop-app").criticality == "medium"
    # one *created* row per CI, holding what the funnel journals for a record (wire_row)
    created = list(JournalEntry.select().where((JournalEntry.record_kind == "ci")
                                               & (JournalEntry.field == "*created*")))
    assert len(created) == 5
    for row in created:
        assert json.loads(row.new) == records.wire_row(CI.get_by_id(row.record_id))
        assert row.record_ref == CI.get_by_id(row.record_id).name and row.version == 1

    rel_report = import_csv("relations", _write(tmp_path, "rels.csv", RELS))
    assert rel_report.applied and rel_report.created == 4
    assert Relation.select().count() == 4
    for row in JournalEntry.select().where((JournalEntry.record_kind == "relation")
                                           & (JournalEntry.field == "*created*")):
        assert json.loads(row.new) == records.wire_row(Relation.get_by_id(row.record_id))
    assert Relation.get(Relation.type == "depends_on", Relation.target
                        == CI.get(CI.name == "shop-app").id).propagates == "target_to_source"

    # export -> re-import changes nothing
    out_cis, out_rels = tmp_path / "out-cis.csv", tmp_path / "out-rels.csv"
    assert export_csv("cis", out_cis) == 5
    assert export_csv("relations", out_rels) == 4
    before = _ci_state()
    again = import_csv("cis", out_cis)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    again = import_csv("relations", out_rels)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert _ci_state() == before
    # the original file again: still nothing to do
    assert import_csv("cis", tmp_path / "cis.csv").unchanged == 5

    # export into a fresh database gives the same rows (true round trip)
    Relation.delete().execute()
    CI.delete().execute()
    import_csv("cis", out_cis)
    import_csv("relations", out_rels)
    assert _ci_state() == before
    export_csv("cis", tmp_path / "second.csv")
    assert (tmp_path / "second.csv").read_text() == out_cis.read_text()


def test_upsert_updates_changed_fields_and_journals_them(db, tmp_path):
    _setup()
    import_csv("cis", _write(tmp_path, "cis.csv", CIS))
    changed = CIS.replace("web-01,virtual_machine,in production,high", "web-01,virtual_machine,"
                          "in_maintenance,low").replace("Linux,32", "Linux,64", 1)
    report = import_csv("cis", _write(tmp_path, "cis2.csv", changed))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    web = CI.get(CI.name == "web-01")
    assert (web.status, web.criticality, web.attributes["ram_gb"], web.version) == \
        ("in_maintenance", "low", 64, 2)
    fields = {h.field for h in records.history("ci", web.id)}
    assert {"status", "criticality", "attributes"} <= fields
    # a file without a column leaves that field alone
    import_csv("cis", _write(tmp_path, "names.csv", "name,class\nweb-01,virtual_machine\n"))
    assert CI.get(CI.name == "web-01").site.code == "OSL"


def test_bad_rows_change_nothing_and_are_all_listed(db, tmp_path):
    _setup()
    bad = (CIS + "bad-class,spaceship,,,,,,,,\n"
           "web-01,virtual_machine,,,,,,,,\n"
           "odd,server,sleeping,urgent,XXX,Nobody,,,lots,\n"
           "db-02,database,,,,,,,,Oracle\n"
           ",application,,,,,,,,\n")
    path = _write(tmp_path, "bad.csv", bad)
    report = import_csv("cis", path)
    assert not report.applied and CI.select().count() == 0
    assert JournalEntry.select().where(JournalEntry.record_kind == "ci").count() == 0
    by_line = {}
    for e in report.errors:
        by_line.setdefault(e.line, set()).add(e.column)
    assert by_line == {7: {"class"}, 8: {"name"}, 9: {"status", "criticality", "site",
                                                      "owner_team", "ram_gb"},
                       11: {"name"}}
    assert report.rejected == 4
    # dry run: counts, nothing written
    dry = import_csv("cis", _write(tmp_path, "good.csv", CIS), dry_run=True)
    assert dry.dry_run and dry.created == 5 and not dry.applied and CI.select().count() == 0
    # skip invalid: good rows written, bad rows to the rejects file
    rejects = tmp_path / "rejects.csv"
    report = import_csv("cis", path, skip_invalid=rejects)
    assert report.applied and report.created == 6 and CI.select().count() == 6
    with open(rejects, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["_line"] for r in rows] == ["7", "8", "9", "11"]
    assert "spaceship" in rows[0]["_errors"]
    # the rejects file (fixed) can be imported again: _columns are ignored
    fixed = rejects.read_text().replace("spaceship", "server")
    again = import_csv("cis", _write(tmp_path, "fixed.csv", fixed))
    assert (again.created, again.updated, again.rejected) == (1, 1, 2) and not again.applied


def test_relation_errors_and_header_errors(db, tmp_path):
    _setup()
    import_csv("cis", _write(tmp_path, "cis.csv", CIS))
    bad = RELS + "ghost,uses,web-01\nShop,loves,db-01\nweb-01,uses,web-01\nShop,depends_on,shop-app\n"
    report = import_csv("relations", _write(tmp_path, "r.csv", bad))
    assert not report.applied and Relation.select().count() == 0
    assert [(e.line, e.column) for e in report.errors] == [
        (6, "source"), (7, "type"), (8, "target"), (9, "")]
    header = import_csv("cis", _write(tmp_path, "h.csv", "name,colour\nx,red\n"))
    assert not header.applied and {e.column for e in header.errors} == {"class", "colour"}
    # redundant / propagates columns
    report = import_csv("relations", _write(
        tmp_path, "r2.csv", "source,type,target,redundant,propagates\n"
        "shop-app,runs_on,web-01,true,\nshop-app,runs_on,web-02,yes,both\n"))
    assert report.created == 2
    report = import_csv("relations", _write(
        tmp_path, "r3.csv", "source,type,target,redundant\nshop-app,runs_on,web-01,false\n"))
    assert (report.updated, report.unchanged) == (1, 0)
    rel = Relation.get(Relation.target == CI.get(CI.name == "web-01").id)
    assert rel.redundant is False and rel.version == 2
