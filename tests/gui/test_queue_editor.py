"""The saved-queue editor: create and edit a saved queue through the dialog's widgets, see it in
the queue panel with the rows its filters match; invalid input and stale edits change nothing.
None of it runs SQL on the GUI thread outside an operation (``gui_sql``)."""

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.servicedesk import SavedQueue
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import incidents, queues
from itsmdesk.views.queue.panel import QueuePanel
from itsmdesk.views.queue.queue_editor import QueueEditorDialog

NOW = dt.datetime(2026, 1, 12, 7, 0)


def _open_statuses():
    """The open statuses in the order the editor lists them."""
    return [s for s, _label in queues.filter_choices()["status"] if s in queues.OPEN[2]]


@pytest.fixture
def desk(ctx, monkeypatch):
    d = sample_desk()
    ctx.set_actor(Actor.for_person(d["agent"]))
    ctx.clock = lambda: NOW
    errors = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: errors.append(a[2])))
    d["errors"] = errors
    net, sd = d["network"].id, d["desk"].id
    for title, team, opened in (("Switch down", net, NOW), ("Wi-Fi slow", net, NOW),
                                ("Old VLAN", net, NOW - dt.timedelta(days=30)),
                                ("Printer jam", sd, NOW)):
        incidents.create_incident({"title": title, "team": team, "opened_at": opened})
    closed = incidents.create_incident({"title": "Router fixed", "team": net, "opened_at": NOW})
    incidents.update_incident(closed.id, None, {"status": "resolved", "solution": "rebooted",
                                                "resolution_code": "solved_workaround"})
    return d


def _pick(combo, value):
    index = next(i for i in range(combo.count()) if combo.itemData(i) == value)
    combo.setCurrentIndex(index)


def _save_button(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Save)


def _fill_network_queue(dialog, qtbot, desk, statuses):
    qtbot.keyClicks(dialog.name_edit, "Network open")
    dialog.shared_check.setChecked(True)
    # the first row of a new queue is "status is one of (open statuses)"
    assert dialog.filters() == [["status", "in", statuses]]
    qtbot.mouseClick(dialog.add_filter_button, Qt.MouseButton.LeftButton)
    row = dialog.rows[-1]
    _pick(row.field, "team")
    _pick(row.op, "eq")
    _pick(row.value.widget, str(desk["network"].id))
    qtbot.mouseClick(dialog.add_filter_button, Qt.MouseButton.LeftButton)
    row = dialog.rows[-1]
    _pick(row.field, "opened_at")
    _pick(row.op, "ge")
    assert row.value.mode == "date"
    row.value.days.setValue(-7)
    _pick(dialog.sort_field, "title")
    _pick(dialog.sort_dir, "asc")
    dialog.set_columns(["ref", "title", "team", "opened_at"])


def test_create_queue_through_editor(ctx, qtbot, desk, monkeypatch, gui_sql):
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    seen = {}
    statuses = _open_statuses()

    def fake_exec(dialog):
        _fill_network_queue(dialog, qtbot, desk, statuses)
        qtbot.waitUntil(lambda: dialog.match_count == 2)  # live count: the two recent open ones
        seen["count_text"] = dialog.count_label.text()
        qtbot.mouseClick(_save_button(dialog), Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(QueueEditorDialog, "exec", fake_exec)
    gui_sql.clear()
    row = panel.new_queue()
    assert gui_sql.statements == []
    assert row is not None, desk["errors"]
    assert seen["count_text"] == "Matches 2 tickets now"
    saved = SavedQueue.get_by_id(row.id)
    assert saved.name == "Network open" and saved.shared
    assert saved.owner_id == desk["agent"].id
    assert saved.definition == {
        "filters": [["status", "in", _open_statuses()],
                    ["team", "eq", str(desk["network"].id)],
                    ["opened_at", "ge", "$days:-7"]],
        "sort": ["title", "asc"], "columns": ["ref", "title", "team", "opened_at"]}
    # the panel lists it, shows it, and its rows are the ones the filters match
    texts = [panel.queue_list.item(i).text() for i in range(panel.queue_list.count())]
    assert "Network open  (2)" in texts
    assert panel.current_key() == f"saved:{row.id}"
    assert panel.model.columns == ["ref", "title", "team", "opened_at"]
    assert panel.model.rowCount() == 2
    shown = [panel.model.row_at(i).values for i in range(2)]
    assert [r["title"] for r in shown] == ["Switch down", "Wi-Fi slow"]
    assert {r["team"] for r in shown} == {"Network"}
    assert not desk["errors"]


def test_edit_queue_through_editor(ctx, qtbot, desk, monkeypatch, gui_sql):
    net = str(desk["network"].id)
    row = queues.save_queue("Network", [["team", "eq", net]], ("opened_at", "desc"),
                            ["ref", "title"], False, desk["actor"])
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.select_queue(f"saved:{row.id}")
    assert panel.model.rowCount() == 4

    def fake_exec(dialog):
        assert dialog.windowTitle() == "Edit queue"
        assert dialog.name_edit.text() == "Network" and not dialog.shared_check.isChecked()
        assert dialog.filters() == [["team", "eq", net]]
        assert dialog.columns() == ["ref", "title"]
        dialog.name_edit.clear()
        qtbot.keyClicks(dialog.name_edit, "Network and desk, assigned to me or nobody")
        row0 = dialog.rows[0]
        _pick(row0.op, "in")
        assert row0.value.mode == "multi"
        row0.value.widget.set_checked(net)
        row0.value.widget.set_checked(str(desk["desk"].id))
        qtbot.mouseClick(dialog.add_filter_button, Qt.MouseButton.LeftButton)
        row1 = dialog.rows[-1]
        _pick(row1.field, "title")
        _pick(row1.op, "contains")
        qtbot.keyClicks(row1.value.widget, "i")
        qtbot.waitUntil(lambda: dialog.match_count == 4)  # Switch, Wi-Fi, Printer, fixed (Router)
        # a filter removed again
        qtbot.mouseClick(dialog.add_filter_button, Qt.MouseButton.LeftButton)
        assert len(dialog.rows) == 3
        qtbot.mouseClick(dialog.remove_filter_button, Qt.MouseButton.LeftButton)
        assert len(dialog.rows) == 2
        dialog.column_list.setCurrentRow(1)  # "title" above "ref"
        qtbot.mouseClick(dialog.up_button, Qt.MouseButton.LeftButton)
        assert dialog.columns() == ["title", "ref"]
        qtbot.mouseClick(_save_button(dialog), Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(QueueEditorDialog, "exec", fake_exec)
    gui_sql.clear()
    edited = panel.edit_queue()
    assert gui_sql.statements == []
    assert edited is not None, desk["errors"]
    saved = SavedQueue.get_by_id(row.id)
    assert saved.version == row.version + 1
    assert saved.name == "Network and desk, assigned to me or nobody"
    assert saved.definition["filters"] == [["team", "in", [net, str(desk["desk"].id)]],
                                           ["title", "contains", "i"]]
    assert saved.definition["columns"] == ["title", "ref"]
    assert panel.current_key() == f"saved:{row.id}"
    assert panel.model.columns == ["title", "ref"]
    assert panel.model.rowCount() == 4
    texts = [panel.queue_list.item(i).text() for i in range(panel.queue_list.count())]
    assert "Network and desk, assigned to me or nobody  (4)" in texts


def test_special_values_me_and_my_teams(ctx, qtbot, desk, gui_sql):
    agent = desk["agent"]
    inc = incidents.create_incident({"title": "Mine", "team": desk["desk"].id,
                                     "assignee": agent.id, "opened_at": NOW})
    gui_sql.clear()
    dialog = QueueEditorDialog(ctx)
    qtbot.addWidget(dialog)
    row = dialog.rows[0]
    _pick(row.field, "assignee")
    _pick(row.op, "eq")
    assert row.value.widget.itemData(0) == "$me"
    row.value.widget.setCurrentIndex(0)
    qtbot.mouseClick(dialog.add_filter_button, Qt.MouseButton.LeftButton)
    row = dialog.rows[-1]
    _pick(row.field, "team")
    _pick(row.op, "in")
    row.value.widget.set_checked("$my_teams")
    assert dialog.filters() == [["assignee", "eq", "$me"], ["team", "in", "$my_teams"]]
    dialog.refresh_count()
    assert dialog.match_count == 1
    qtbot.keyClicks(dialog.name_edit, "Mine")
    dialog.save()
    assert gui_sql.statements == []
    assert dialog.result() == QDialog.DialogCode.Accepted, desk["errors"]
    spec = queues.spec_of(SavedQueue.get_by_id(dialog.saved_row.id))
    assert queues.position_of(spec, inc.id, agent.id)
    assert queues.count(spec, agent.id) == 1


@pytest.mark.parametrize("breakage", ["no_name", "nothing_picked", "no_columns", "empty_value"])
def test_invalid_input_refused_nothing_changed(ctx, qtbot, desk, breakage, gui_sql):
    net = str(desk["network"].id)
    row = queues.save_queue("Network", [["team", "eq", net]], ("opened_at", "desc"),
                            ["ref", "title"], False, desk["actor"])
    before = SavedQueue.get_by_id(row.id)
    for spec in (None, queues.get_spec(f"saved:{row.id}")):
        gui_sql.clear()
        dialog = QueueEditorDialog(ctx, spec)
        qtbot.addWidget(dialog)
        if spec is None:
            qtbot.keyClicks(dialog.name_edit, "Another")
        if breakage == "no_name":
            dialog.name_edit.setText("   ")
        elif breakage == "nothing_picked":
            _pick(dialog.rows[0].field, "category")
            _pick(dialog.rows[0].op, "in")
        elif breakage == "no_columns":
            dialog.set_columns([])
        else:
            _pick(dialog.rows[0].field, "title")
            _pick(dialog.rows[0].op, "contains")
        desk["errors"].clear()
        dialog.save()
        assert gui_sql.statements == []
        assert dialog.saved_row is None and dialog.result() == 0
        assert len(desk["errors"]) == 1 and desk["errors"][0]
        assert dialog.save_button.isEnabled()  # still open, the edits there to fix
    assert SavedQueue.select().count() == 1
    after = SavedQueue.get_by_id(row.id)
    assert (after.version, after.name, after.definition) == (before.version, before.name,
                                                             before.definition)


def test_stale_edit_shows_conflict(ctx, qtbot, desk, gui_sql):
    row = queues.save_queue("Network", [["team", "eq", str(desk["network"].id)]],
                            actor=desk["actor"])
    dialog = QueueEditorDialog(ctx, queues.get_spec(f"saved:{row.id}"))
    qtbot.addWidget(dialog)
    # someone else edits the queue meanwhile
    queues.save_queue("Network (Maja)", [], actor=Actor.for_person(desk["boss"]),
                      queue_id=row.id, version=row.version)
    gui_sql.clear()
    dialog.name_edit.setText("Network (Olle)")
    dialog.save()
    assert gui_sql.statements == []
    assert dialog.result() == 0 and dialog.saved_row is None
    assert "nothing was saved" in desk["errors"][-1] and "Maja Lead" in desk["errors"][-1]
    saved = SavedQueue.get_by_id(row.id)
    assert saved.name == "Network (Maja)" and saved.definition["filters"] == []


def test_context_menu_and_actions_offer_the_editor(ctx, qtbot, desk):
    from PySide6.QtWidgets import QMainWindow

    from itsmdesk.views.queue.panel import menu_actions

    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    window = QMainWindow()
    qtbot.addWidget(window)
    window.panel = {"queuesDock": panel}.get
    actions = dict((a.text(), a) for _menu, a in menu_actions(ctx, window))
    texts = list(actions)
    assert "New &queue…" in texts and "Edit saved &queue…" in texts and "&Save queue as…" in texts
    statuses = []
    ctx.sig_status.connect(statuses.append)
    panel.select_queue("all_open")
    assert panel.edit_queue() is None  # a predefined queue is not edited
    assert statuses == ["Only saved queues can be edited"]
    actions["Edit saved &queue…"].trigger()  # the menu entry finds the panel when chosen
    assert statuses == ["Only saved queues can be edited"] * 2


class Deferred:
    """``ctx.query`` answered only when the test says so (as it is on a slow link)."""

    def __init__(self, ctx, monkeypatch):
        self.waiting = []
        self.original = ctx.query
        monkeypatch.setattr(ctx, "query", lambda fn, *args, **kw: self.waiting.append((fn, args, kw)))

    def answer(self):
        waiting, self.waiting = self.waiting, []
        for fn, args, kw in waiting:
            self.original(fn, *args, **kw)


def test_editor_opens_before_its_data_and_fills_when_read(ctx, qtbot, desk, monkeypatch, gui_sql):
    net = str(desk["network"].id)
    row = queues.save_queue("Network", [["team", "eq", net]], ("opened_at", "desc"),
                            ["ref", "title"], True, desk["actor"])
    spec = queues.get_spec(f"saved:{row.id}")
    deferred = Deferred(ctx, monkeypatch)
    gui_sql.clear()
    dialog = QueueEditorDialog(ctx, spec)
    qtbot.addWidget(dialog)
    assert dialog.name_edit.text() == "Network" and dialog.rows == []
    assert dialog.columns() == ["ref", "title"]  # known without reading: shown at once
    assert not _save_button(dialog).isEnabled() and not dialog.add_filter_button.isEnabled()
    dialog.save()  # nothing to save yet
    assert dialog.result() == 0
    deferred.answer()
    assert gui_sql.statements == []
    assert dialog.filters() == [["team", "eq", net]] and dialog.shared_check.isChecked()
    assert _save_button(dialog).isEnabled() and dialog.add_filter_button.isEnabled()
    deferred.answer()  # the count
    assert dialog.match_count == 4


def test_save_view_as_queue_and_delete_it_without_waiting(ctx, qtbot, desk, gui_sql):
    for title in ("Printer jam", "Printer offline"):
        incidents.create_incident({"title": title, "opened_at": NOW})
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.select_queue("all_open")
    gui_sql.clear()
    panel.filter_edit.setText("printer")
    panel.model.set_text("printer")
    row = panel.save_current_as("Printers")
    assert panel.current_key() == f"saved:{row.id}" and panel.filter_edit.text() == ""
    assert any(panel.queue_list.item(i).text() == "Printers  (3)"  # and the fixture's jam
               for i in range(panel.queue_list.count()))
    assert panel.delete_current()
    assert gui_sql.statements == []
    assert not any("Printers" in panel.queue_list.item(i).text()
                   for i in range(panel.queue_list.count()))
    assert not SavedQueue.select().exists()


def test_refused_save_as_and_stale_delete_show_the_sentence(ctx, qtbot, desk, gui_sql):
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    row = queues.save_queue("Mine", [], actor=desk["actor"])
    panel.refresh_queues(select=f"saved:{row.id}")
    queues.save_queue("Mine (renamed)", [], actor=Actor.for_person(desk["boss"]),
                      queue_id=row.id, version=row.version)
    gui_sql.clear()
    assert panel.save_current_as("   ") is None
    assert panel.delete_current()  # asked for; refused: someone changed it
    assert gui_sql.statements == []
    assert len(desk["errors"]) == 2 and "nothing was saved" in desk["errors"][1]
    assert SavedQueue.select().count() == 1


def test_bulk_dialog_reads_its_choices_off_the_gui_thread(ctx, qtbot, desk, monkeypatch, gui_sql):
    from itsmdesk.views.queue.bulk_dialog import BulkEditDialog

    deferred = Deferred(ctx, monkeypatch)
    gui_sql.clear()
    dialog = BulkEditDialog(ctx, 3)
    qtbot.addWidget(dialog)
    ok = dialog.ok_button
    assert not ok.isEnabled()
    dialog.set_field("status")
    dialog.set_value("pending")  # a fixed value picked before the choices arrive stays
    deferred.answer()
    assert gui_sql.statements == []
    assert ok.isEnabled() and dialog.changes() == {"status": "pending"}
    dialog.set_field("assignee")
    texts = [dialog.value_combo.itemText(i) for i in range(dialog.value_combo.count())]
    assert texts[0] == "(nobody)" and desk["agent2"].name in texts
    dialog.value_combo.setCurrentIndex(texts.index(desk["agent2"].name))
    assert dialog.changes() == {"assignee": desk["agent2"].id}
