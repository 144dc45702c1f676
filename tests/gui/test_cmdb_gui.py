"""CMDB tree dock, impact graph and CI form with pytest-qt (offscreen, synchronous worker)."""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtCore import Qt

from itsmdesk.models.cmdb import CI
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.views.cmdb.ci_form import create_form
from itsmdesk.views.cmdb.graph import ImpactGraphWidget
from itsmdesk.views.cmdb.panel import create_panel, menu_actions
from itsmdesk.views.cmdb.tree import CI_MIME, PAGE, ROLE_KIND


@pytest.fixture
def estate(ctx):
    cmdb.ensure_standard_classes()
    for name, cls in [("Shop", "business_service"), ("shop-app", "application"),
                      ("web-01", "virtual_machine"), ("web-02", "virtual_machine"),
                      ("db-01", "database")]:
        cmdb.create_ci({"name": name, "ci_class": cls, "criticality": "critical"
                        if cls == "business_service" else "medium"})
    cmdb.create_relation("Shop", "depends_on", "shop-app")
    cmdb.create_relation("shop-app", "runs_on", "web-01", redundant=True)
    cmdb.create_relation("shop-app", "runs_on", "web-02", redundant=True)
    cmdb.create_relation("shop-app", "depends_on", "db-01")
    return ctx


def _row_texts(model, parent=None):
    from PySide6.QtCore import QModelIndex

    parent = parent or QModelIndex()
    return [model.index(r, 0, parent).data() for r in range(model.rowCount(parent))]


def test_tree_groups_lazy_branches_filter_and_drag(qtbot, estate):
    panel = create_panel(estate, None)
    qtbot.addWidget(panel)
    panel.show()  # a hidden dock reads nothing until it is shown
    tree = panel.tree
    model = tree.model_
    roots = _row_texts(model)
    assert "Virtual machine (2)" in roots and "Database (1)" in roots
    vm = model.index(roots.index("Virtual machine (2)"), 0)
    # lazy: only a placeholder until expanded
    assert [model.index(r, 0, vm).data(ROLE_KIND) for r in range(model.rowCount(vm))] == ["loading"]
    tree.expand(vm)
    assert _row_texts(model, vm) == ["web-01", "web-02"]
    # drag out: CI UUIDs, one a line
    first = model.index(0, 0, vm)
    mime = model.mimeData([first, model.index(1, 0, vm)])
    ids = bytes(mime.data(CI_MIME)).decode().splitlines()
    assert [CI.get_by_id(uuid.UUID(i)).name for i in ids] == ["web-01", "web-02"]
    # grouping by business service follows dependencies
    panel.grouping.setCurrentIndex(panel.grouping.findData("service"))
    assert _row_texts(model) == ["Shop"]
    shop = model.index(0, 0)
    tree.expand(shop)
    assert _row_texts(model, shop) == ["shop-app"]
    app = model.index(0, 0, shop)
    tree.expand(app)
    assert _row_texts(model, app) == ["db-01", "web-01", "web-02"]
    # filter box (debounced)
    panel.grouping.setCurrentIndex(panel.grouping.findData("class"))
    panel.filter.setText("02")
    qtbot.waitUntil(lambda: _row_texts(model) == ["Virtual machine (1)"], timeout=2000)
    assert _row_texts(model, model.index(0, 0)) == ["web-02"]
    # activation opens the CI form
    opened = []
    estate.sig_open_record.connect(lambda kind, rid: opened.append((kind, rid)))
    tree.activated.emit(model.index(0, 0, model.index(0, 0)))
    assert opened == [("ci", CI.get(CI.name == "web-02").id)]
    menus = {m for m, _a in menu_actions(estate, panel)}
    assert menus <= {"File", "Records", "Reports", "Tools"}
    assert all(a.shortcut().toString() for _m, a in menu_actions(estate, panel))


def test_tree_pages_large_branch(qtbot, ctx):
    cmdb.ensure_standard_classes()
    from itsmdesk.models.cmdb import CIClass

    cls = CIClass.get(CIClass.name == "workstation")
    CI.insert_many([{"id": uuid.uuid4(), "name": f"ws-{i:04d}", "ci_class": cls.id}
                    for i in range(PAGE + 20)]).execute()
    panel = create_panel(ctx, None)
    qtbot.addWidget(panel)
    panel.show()  # a hidden dock reads nothing until it is shown
    model = panel.tree.model_
    ws = model.index(_row_texts(model).index(f"Workstation ({PAGE + 20})"), 0)
    panel.tree.expand(ws)
    assert model.rowCount(ws) == PAGE + 1 and model.index(PAGE, 0, ws).data(ROLE_KIND) == "more"
    panel.tree.activated.emit(model.index(PAGE, 0, ws))
    assert model.rowCount(ws) == PAGE + 20
    assert model.index(PAGE + 19, 0, ws).data() == f"ws-{PAGE + 19:04d}"


def test_impact_graph_layers_click_and_export(qtbot, estate, tmp_path):
    db01 = cmdb.get_ci_by_name("db-01")
    widget = ImpactGraphWidget(estate, db01.id, "db-01")
    qtbot.addWidget(widget)
    nodes = widget.view.nodes
    names = {n.item.name: n for n in nodes.values()}
    assert set(names) == {"db-01", "shop-app", "Shop"}
    # layered: x grows with depth
    assert names["db-01"].x() < names["shop-app"].x() < names["Shop"].x()
    assert "Shop (critical)" in widget.summary.text()
    opened = []
    estate.sig_open_record.connect(lambda kind, rid: opened.append(rid))
    node = names["Shop"]
    view = widget.view
    widget.resize(900, 500)
    widget.show()
    view.centerOn(node)
    point = view.mapFromScene(node.sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert opened == [cmdb.get_ci_by_name("Shop").id]
    before = view.transform().m11()
    view.zoom(1.25)
    assert view.transform().m11() > before
    png, pdf = tmp_path / "g.png", tmp_path / "g.pdf"
    assert view.export_png(str(png)) and png.stat().st_size > 1000
    view.export_pdf(str(pdf), widget.title())
    from pypdf import PdfReader

    text = " ".join(PdfReader(str(pdf)).pages[0].extract_text().split())
    assert "Impact of db-01" in text and "shop-app" in text and "Business service" in text
    # upstream with a depth limit
    widget.direction.setCurrentIndex(1)
    widget.depth.setValue(1)
    assert {n.item.name for n in widget.view.nodes.values()} == {"db-01"}
    widget.set_ci(cmdb.get_ci_by_name("Shop").id, "Shop")
    assert {n.item.name for n in widget.view.nodes.values()} == {"Shop", "shop-app"}


def _ci_form(ctx, qtbot, record_id=None):
    form = create_form(ctx, record_id, None)
    qtbot.addWidget(form)
    assert form.loaded
    return form


def _attribute_labels(form):
    return [form.attr_form.itemAt(i, form.attr_form.ItemRole.LabelRole).widget().text()
            for i in range(form.attr_form.rowCount())]


def test_ci_form_shows_and_saves(qtbot, estate, gui_sql, monkeypatch):
    from itsmdesk.services import history

    app = cmdb.get_ci_by_name("shop-app")
    gui_sql.clear()
    form = _ci_form(estate, qtbot, app.id)
    # (a) opening fills the form
    assert form.name.text() == "shop-app" and form.title() == "shop-app"
    assert form.ci_class.currentData() == "application" and form.criticality.currentData() == "medium"
    assert form.relations.rowCount() == 4
    texts = {form.relations.item(r, 2).text() for r in range(4)}
    assert texts == {"Shop", "web-01", "web-02", "db-01"}
    assert form.relations.item(0, 0).text() == "this CI →"  # outgoing first
    assert form.tabs.tabText(1) == "Relations (4)" and form.tabs.isTabEnabled(4)
    assert _attribute_labels(form) == ["URL", "Language"]
    assert not form.dirty and form.edits() == {}
    # (b) an edit saves only what changed
    form.ci_version.setText("3.1")
    form._attr_edits["url"].setText("https://shop.example")
    form.min_up.setValue(1)
    assert form.dirty
    assert form.edits() == {"ci_version": "3.1", "min_members_up": 1,
                            "attributes": {"url": "https://shop.example"}}
    form.save()
    assert gui_sql.statements == []  # (e) open, edit and save ran nothing on the GUI thread
    saved = CI.get_by_id(app.id)
    assert (saved.ci_version, saved.attributes, saved.min_members_up, saved.version) == (
        "3.1", {"url": "https://shop.example"}, 1, 2)
    assert {(e.field, e.new) for e in history.named_history("ci", app.id) if e.version == 2} == {
        ("ci_version", "3.1"), ("min_members_up", "1"),
        ("attributes", '{"url": "https://shop.example"}')}
    assert form.can_close() and not form.dirty and form.data.version == 2
    # add and remove relations from the form (writes of their own)
    cmdb.create_ci({"name": "cache-01", "ci_class": "database"})
    gui_sql.clear()
    form.rel_type.setCurrentIndex(form.rel_type.findData("uses"))
    form.rel_target.setText("cache-01")
    form.add_relation()
    assert form.relations.rowCount() == 5 and form.rel_target.text() == ""
    row = next(r for r in range(5) if form.relations.item(r, 2).text() == "cache-01")
    form.relations.selectRow(row)
    from PySide6.QtWidgets import QMessageBox

    answers = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: answers.append(a) or QMessageBox.StandardButton.Yes)
    form.remove_relation()
    assert answers and form.relations.rowCount() == 4
    # the history tab: names, and the relation notes
    form.tabs.setCurrentIndex(4)
    form.history.refresh()
    assert gui_sql.statements == []
    entries = form.history.entries
    assert ("relation+", "uses cache-01") in {(e.field, e.new) for e in entries}
    assert ("relation-", "uses cache-01") in {(e.field, e.old or e.new) for e in entries}
    # (f) ids are shown by name
    assert ("ci_class", "application") in {(e.field, e.new) for e in entries}
    assert not any(str(c.id) in str(entries) for c in CI.select())


def test_ci_form_history_shows_imported_relations(qtbot, estate, tmp_path):
    from itsmdesk.services.cmdb.csv_io import import_csv

    path = tmp_path / "r.csv"
    path.write_text("source,type,target\nweb-01,connected_to,db-01\n")
    assert import_csv("relations", path).created == 1
    form = _ci_form(estate, qtbot, cmdb.get_ci_by_name("web-01").id)
    form.tabs.setCurrentIndex(4)
    form.history.refresh()
    added = [e.new for e in form.history.entries if e.field == "relation+"]
    assert added == ["connected_to db-01"]
    app = _ci_form(estate, qtbot, cmdb.get_ci_by_name("shop-app").id)
    app.tabs.setCurrentIndex(4)
    app.history.refresh()
    assert sorted(e.new for e in app.history.entries if e.field == "relation+") == [
        "depends_on db-01", "runs_on web-01", "runs_on web-02"]  # no duplicates
    tree = app.history.tree
    assert "Relation added" in [tree.topLevelItem(i).text(3) for i in range(tree.topLevelItemCount())]


def test_ci_form_stale_edit_merges(qtbot, estate, monkeypatch):
    from itsmdesk.views.forms.merge_dialog import MergeDialog

    app = cmdb.get_ci_by_name("shop-app")
    form = _ci_form(estate, qtbot, app.id)
    cmdb.update_ci(app.id, app.version, {"vendor": "ACME", "serial": "S-1"})
    form.vendor.setText("Other")
    form.ci_version.setText("2.0")
    seen = {}

    def pick(dialog):
        seen["conflicts"] = list(dialog.conflicts)
        dialog.choose_mine("vendor")
        return True

    monkeypatch.setattr(MergeDialog, "exec", pick)
    form.save()
    assert seen["conflicts"] == ["vendor"]
    saved = CI.get_by_id(app.id)
    assert (saved.vendor, saved.ci_version, saved.serial) == ("Other", "2.0", "S-1")
    assert form.serial.text() == "S-1" and not form.dirty
    # cancelling the merge keeps the edits and saves nothing
    cmdb.update_ci(app.id, saved.version, {"vendor": "ACME"})
    form.vendor.setText("Mine")
    monkeypatch.setattr(MergeDialog, "exec", lambda dialog: False)
    form.save()
    assert CI.get_by_id(app.id).vendor == "ACME" and form.dirty


def test_ci_form_can_close_asks(qtbot, estate, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    app = cmdb.get_ci_by_name("shop-app")
    form = _ci_form(estate, qtbot, app.id)
    closed = []
    form.close_form = closed.append
    form.vendor.setText("ACME")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert not form.can_close() and closed == [] and form.dirty
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    assert not form.can_close()
    assert CI.get_by_id(app.id).vendor == "ACME" and closed == [form]
    form.vendor.setText("Other")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert form.can_close() and CI.get_by_id(app.id).vendor == "ACME"


def test_new_ci_form(qtbot, ctx, gui_sql, monkeypatch):
    cmdb.ensure_standard_classes()
    gui_sql.clear()
    form = _ci_form(ctx, qtbot)
    assert form.title() == "New CI" and not form.tabs.isTabEnabled(1)
    form.name.setText("new-server")
    form.ci_class.setCurrentIndex(form.ci_class.findData("server"))
    assert "CPU cores" in _attribute_labels(form)
    form._attr_edits["cpu_cores"].setText("16")
    form.save()
    assert gui_sql.statements == []
    ci = cmdb.get_ci_by_name("new-server")
    assert ci.attributes == {"cpu_cores": 16} and ci.ci_class.name == "server"
    assert ci.id == form.new_id == form.record_id and form.tabs.isTabEnabled(1)
    # a class change types the attributes against the new class
    form.ci_class.setCurrentIndex(form.ci_class.findData("workstation"))
    assert _attribute_labels(form) == ["Operating system"]
    assert form.edits() == {"ci_class": "workstation", "attributes": {}}
    # a bad value is refused with a sentence, nothing changes
    import itsmdesk.views.forms.base as base

    shown = []
    monkeypatch.setattr(base, "show_error", lambda _w, e: shown.append(str(e)))
    form.ci_class.setCurrentIndex(form.ci_class.findData("server"))
    form._attr_edits["cpu_cores"].setText("many")
    form.save()
    assert shown == ["Attribute cpu_cores: 'many' is not a valid int"]
    assert cmdb.get_ci_by_name("new-server").attributes == {"cpu_cores": 16}


def test_ci_read_model_query_count(estate, monkeypatch):
    import peewee

    from itsmdesk.services.cmdb import tree as cmdb_tree

    seen = []
    original = peewee.Database.execute_sql

    def execute_sql(self, sql, params=None, *a, **k):  # noqa: ANN001, ANN002, ANN003
        seen.append(sql)
        return original(self, sql, params, *a, **k)

    app = cmdb.get_ci_by_name("shop-app")
    monkeypatch.setattr(peewee.Database, "execute_sql", execute_sql)
    view = cmdb_tree.ci_view(app.id)
    assert len(view.relations) == 4 and view.class_name == "application"
    assert len(seen) <= 8, seen
    seen.clear()
    cmdb.save_ci(app.id, view.version, {"vendor": "ACME"}, cmdb.SYSTEM)
    assert len(seen) <= 8, seen


def test_ci_form_screenshot(qtbot, estate, tmp_path):
    form = _ci_form(estate, qtbot, cmdb.get_ci_by_name("shop-app").id)
    form.resize(1400, 900)
    form.show()
    form.grab().save(str(tmp_path / "ci_form.png"))
    assert (tmp_path / "ci_form.png").stat().st_size > 5000


def test_import_dialog_preview_then_import(qtbot, ctx, tmp_path, gui_sql):
    from itsmdesk.views.cmdb.dialogs import ImportDialog

    cmdb.ensure_standard_classes()
    path = tmp_path / "cis.csv"
    path.write_text("name,class,status\nsrv-1,server,in production\nsrv-2,spaceship,\n"
                    "srv-3,server,\n")
    gui_sql.clear()
    dialog = ImportDialog(ctx, "cis")
    qtbot.addWidget(dialog)
    dialog.path.setText(str(path))
    dialog.preview()
    assert "Would create 2" in dialog.summary.text()
    assert dialog.errors.rowCount() == 1 and dialog.errors.item(0, 0).text() == "3"
    assert not dialog.import_button.isEnabled()  # all or nothing by default
    assert gui_sql.statements == []
    assert CI.select().count() == 0
    path.write_text("name,class,status\nsrv-1,server,in production\nsrv-3,server,\n")
    gui_sql.clear()
    dialog.preview()
    assert dialog.import_button.isEnabled()
    dialog.run_import()
    assert gui_sql.statements == []
    assert {c.name for c in CI.select()} == {"srv-1", "srv-3"}


def test_baseline_and_audit_dialogs(qtbot, estate, tmp_path, gui_sql):
    from itsmdesk.views.cmdb.dialogs import AuditDialog, BaselineDialog

    gui_sql.clear()
    dialog = BaselineDialog(estate)
    qtbot.addWidget(dialog)
    dialog.name.setText("q1")
    dialog.take()
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 2).text() == "5"
    cmdb.create_ci({"name": "web-03", "ci_class": "virtual_machine"})
    gui_sql.clear()
    dialog.table.selectRow(0)
    dialog.compare()
    top = dialog.result.topLevelItem(0)
    assert top.text(0) == "CIs added (1)" and top.child(0).text(0) == "web-03"

    scan = tmp_path / "scan.csv"
    scan.write_text("name,class\nweb-01,virtual_machine\nweb-09,virtual_machine\n")
    audit = AuditDialog(estate)
    qtbot.addWidget(audit)
    audit.path.setText(str(scan))
    audit.run_audit()
    assert gui_sql.statements == []
    texts = [audit.result.topLevelItem(i).text(0) for i in range(audit.result.topLevelItemCount())]
    assert texts[0].endswith("(1)") and texts[1].endswith("(2)")  # unknown web-09; missing 02, 03
    assert audit.accept_button.isEnabled()
    assert not CI.select().where(CI.name == "web-09").exists()


def test_impact_graph_in_swedish_and_long_names_fit(qtbot, estate, swedish):
    """Stored words (criticality, status, relation types) follow the language; a long bold
    service name is cut to its box rather than running over the edge."""
    long_name = "Customer Support Telephony and Contact Centre"
    cmdb.create_ci({"name": long_name, "ci_class": "business_service", "criticality": "high"})
    cmdb.create_relation(long_name, "depends_on", "db-01")
    widget = ImpactGraphWidget(estate, cmdb.get_ci_by_name("db-01").id, "db-01")
    qtbot.addWidget(widget)
    assert "Shop (kritisk)" in widget.summary.text()
    node = next(n for n in widget.view.nodes.values() if n.item.name == long_name)
    texts = [c.text() for c in node.childItems() if hasattr(c, "text")]
    assert any(t.endswith("· hög") for t in texts), texts
    shown = next(t for t in texts if t.startswith("Customer"))
    assert shown.endswith("…") and shown != long_name
    assert all(c.boundingRect().width() <= node.rect().width() - 8
               for c in node.childItems() if hasattr(c, "text"))
    assert "djup 1" in node.toolTip()
