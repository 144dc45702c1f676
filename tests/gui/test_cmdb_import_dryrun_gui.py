"""CMDB dialogs: the CSV import's preview (dry run) shows what would change, field by field; the
import, the export, baselines and the audit run as operations (no SQL on the GUI thread outside
one: ``gui_sql``), their writes broadcast to the panels."""

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


def test_preview_shows_field_changes_beside_bad_rows(qtbot, ctx, tmp_path, gui_sql):
    _estate()
    path = tmp_path / "cis.csv"
    path.write_text("name,class,status,criticality,os,ram_gb,engine\n"
                    "web-01,virtual_machine,in maintenance,high,Linux,64,\n"
                    "db-01,database,,critical,,,MySQL\n"
                    "Shop,business_service,,,,,\n"
                    "web-02,virtual_machine,,low,Linux,16,\n"
                    "bad,spaceship,,,,,\n")
    gui_sql.clear()
    dialog = ImportDialog(ctx, "cis")
    qtbot.addWidget(dialog)
    dialog.path.setText(str(path))
    dialog.preview()
    assert gui_sql.statements == []
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
    gui_sql.clear()
    dialog.preview()
    assert gui_sql.statements == []
    assert _tree(dialog.changes) == [("New relation: Shop depends_on web-01", [])]
    assert "never removes relations" in dialog.summary.text()
    assert Relation.select().count() == 1

    # after the import the preview's list is cleared; a new preview finds nothing to do
    changed = []
    ctx.sig_changes.connect(changed.append)
    gui_sql.clear()
    dialog.run_import()
    dialog.preview()
    assert gui_sql.statements == []
    assert _tree(dialog.changes) == [("Nothing would change", [])]
    assert Relation.select().count() == 2
    assert len(changed) == 1  # the import's write, broadcast once


def test_import_with_progress_then_broadcast(qtbot, ctx, tmp_path, gui_sql):
    cmdb.ensure_standard_classes()
    path = tmp_path / "cis.csv"
    path.write_text("name,class,status\nsrv-1,server,in production\nsrv-2,spaceship,\n"
                    "srv-3,server,\n")
    changed = []
    ctx.sig_changes.connect(changed.append)
    gui_sql.clear()
    dialog = ImportDialog(ctx, "cis")
    qtbot.addWidget(dialog)
    dialog.path.setText(str(path))
    dialog.preview()
    assert "Would create 2" in dialog.summary.text()
    assert not dialog.import_button.isEnabled()  # all or nothing by default
    assert dialog.preview_button.isEnabled()
    path.write_text("name,class,status\nsrv-1,server,in production\nsrv-3,server,\n")
    dialog.preview()
    assert dialog.import_button.isEnabled()
    dialog.run_import()
    assert gui_sql.statements == []
    assert not dialog.import_button.isEnabled() and dialog.preview_button.isEnabled()
    assert len(changed) == 1 and changed[0].touches("ci")
    assert {c.name for c in CI.select()} == {"srv-1", "srv-3"}


def test_import_of_a_missing_file_shows_the_sentence(qtbot, ctx, tmp_path, monkeypatch, gui_sql):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: shown.append(a[2])))
    dialog = ImportDialog(ctx, "cis")
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "nowhere.csv"))
    gui_sql.clear()
    dialog.preview()
    assert gui_sql.statements == []
    assert len(shown) == 1 and shown[0] and dialog.preview_button.isEnabled()
    assert not dialog.import_button.isEnabled()


def test_export_runs_as_a_read(qtbot, ctx, tmp_path, gui_sql):
    from itsmdesk.views.cmdb.dialogs import export_with_dialog

    _estate()
    statuses = []
    ctx.sig_status.connect(statuses.append)
    gui_sql.clear()
    assert export_with_dialog(ctx, "cis", None, str(tmp_path / "cis.csv")) == 3
    assert export_with_dialog(ctx, "relations", None, str(tmp_path / "rels.csv")) == 1
    assert gui_sql.statements == []
    assert statuses[0].startswith("3 CIs written to")
    assert "web-01" in (tmp_path / "cis.csv").read_text()


def test_baselines_and_audit_without_waiting(qtbot, ctx, tmp_path, monkeypatch, gui_sql):
    from PySide6.QtWidgets import QMessageBox

    from itsmdesk.views.cmdb.dialogs import AuditDialog, BaselineDialog

    _estate()
    changed = []
    ctx.sig_changes.connect(changed.append)
    gui_sql.clear()
    dialog = BaselineDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 0 and not dialog.compare_button.isEnabled()
    dialog.name.setText("q1")
    dialog.take()
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 2).text() == "3"
    assert dialog.name.text() == "" and dialog.compare_button.isEnabled()
    dialog.name.setText("q1")
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: shown.append(a[2])))
    dialog.take()  # the name is taken: the sentence, the name kept
    assert len(shown) == 1 and dialog.name.text() == "q1" and dialog.table.rowCount() == 1
    assert gui_sql.statements == []
    cmdb.create_ci({"name": "web-03", "ci_class": "virtual_machine"})
    gui_sql.clear()
    dialog.table.selectRow(0)
    dialog.compare()
    top = dialog.result.topLevelItem(0)
    assert top.text(0) == "CIs added (1)" and top.child(0).text(0) == "web-03"

    scan = tmp_path / "scan.csv"
    scan.write_text("name,class\nweb-01,virtual_machine\nweb-09,virtual_machine\n")
    audit = AuditDialog(ctx)
    qtbot.addWidget(audit)
    audit.path.setText(str(scan))
    audit.run_audit()
    texts = [audit.result.topLevelItem(i).text(0) for i in range(audit.result.topLevelItemCount())]
    assert texts[0].endswith("(1)")  # unknown: web-09
    assert audit.accept_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    changed.clear()
    audit.accept_scan()
    assert gui_sql.statements == []
    assert not audit.accept_button.isEnabled() and audit.run_button.isEnabled()
    assert len(changed) == 1 and changed[0].touches("ci")
    assert CI.select().where(CI.name == "web-09").exists()
