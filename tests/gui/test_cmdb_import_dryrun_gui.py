"""CMDB CSV import dialog: the preview (dry run) shows what would change, field by field."""

from __future__ import annotations

from itsmdesk.models.cmdb import CI, Relation
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.views.cmdb.dialogs import ImportDialog


def _estate():
    cmdb.ensure_standard_classes()
    cmdb.create_ci({"name": "web-01", "ci_class": "virtual_machine", "status": "in_production",
                    "criticality": "high", "attributes": {"os": "Linux", "ram_gb": 32}})
    cmdb.create_ci({"name": "db-01", "ci_class": "database", "criticality": "critical",
                    "attributes": {"engine": "PostgreSQL"}})
    cmdb.create_ci({"name": "Shop", "ci_class": "business_service"})
    cmdb.create_relation("Shop", "depends_on", "db-01")


def _tree(widget):
    out = []
    for i in range(widget.topLevelItemCount()):
        top = widget.topLevelItem(i)
        out.append((top.text(0), [tuple(top.child(j).text(c) for c in range(3))
                                  for j in range(top.childCount())]))
    return out


def test_preview_shows_field_changes_beside_bad_rows(qtbot, ctx, tmp_path):
    _estate()
    path = tmp_path / "cis.csv"
    path.write_text("name,class,status,criticality,os,ram_gb,engine\n"
                    "web-01,virtual_machine,in maintenance,high,Linux,64,\n"
                    "db-01,database,,critical,,,MySQL\n"
                    "Shop,business_service,,,,,\n"
                    "web-02,virtual_machine,,low,Linux,16,\n"
                    "bad,spaceship,,,,,\n")
    dialog = ImportDialog(ctx, "cis")
    qtbot.addWidget(dialog)
    dialog.path.setText(str(path))
    dialog.preview()
    assert "Would create 1, update 2; 1 unchanged; 1 bad rows." in dialog.summary.text()
    assert _tree(dialog.changes) == [
        ("Changed CI: web-01 (virtual_machine)", [("status", "in_production", "in_maintenance"),
                                                  ("ram_gb", "32", "64")]),
        ("Changed CI: db-01 (database)", [("engine", "PostgreSQL", "MySQL")]),
        ("New CI: web-02 (virtual_machine)", [("status", "", "in_production"),
                                              ("criticality", "", "low"), ("os", "", "Linux"),
                                              ("ram_gb", "", "16")]),
    ]
    assert dialog.changes.topLevelItem(0).isExpanded()
    assert dialog.changes_label.text() == "What would change (3)"
    assert dialog.errors.rowCount() == 1 and dialog.errors.item(0, 0).text() == "6"
    assert dialog.errors_label.text() == "Bad rows (1)"
    assert CI.get(CI.name == "web-01").status == "in_production"  # a preview writes nothing
    assert not CI.select().where(CI.name == "web-02").exists()

    # relations: added ones listed, nothing removed
    rels = tmp_path / "rels.csv"
    rels.write_text("source,type,target\nShop,depends_on,db-01\nShop,depends_on,web-01\n")
    dialog.kind.setCurrentIndex(1)
    dialog.path.setText(str(rels))
    dialog.preview()
    assert _tree(dialog.changes) == [("New relation: Shop depends_on web-01", [])]
    assert "never removes relations" in dialog.summary.text()
    assert Relation.select().count() == 1

    # after the import the preview's list is cleared; a new preview finds nothing to do
    dialog.run_import()
    assert Relation.select().count() == 2 and dialog.changes.topLevelItemCount() == 0
    dialog.preview()
    assert _tree(dialog.changes) == [("Nothing would change", [])]
