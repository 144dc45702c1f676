"""The saved-queue editor: create and edit a saved queue through the dialog's widgets, see it in
the queue panel with the rows its filters match; invalid input and stale edits change nothing."""

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

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


def _fill_network_queue(dialog, qtbot, desk):
    qtbot.keyClicks(dialog.name_edit, "Network open")
    dialog.shared_check.setChecked(True)
    # the first row of a new queue is "status is one of (open statuses)"
    assert dialog.filters() == [["status", "in", _open_statuses()]]
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


def test_create_queue_through_editor(ctx, qtbot, desk, monkeypatch):
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    seen = {}

    def fake_exec(dialog):
        _fill_network_queue(dialog, qtbot, desk)
        qtbot.waitUntil(lambda: dialog.match_count == 2)  # live count: the two recent open ones
        seen["count_text"] = dialog.count_label.text()
        qtbot.mouseClick(_save_button(dialog), Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(QueueEditorDialog, "exec", fake_exec)
    row = panel.new_queue()
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


def test_edit_queue_through_editor(ctx, qtbot, desk, monkeypatch):
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
    edited = panel.edit_queue()
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


def test_special_values_me_and_my_teams(ctx, qtbot, desk):
    agent = desk["agent"]
    inc = incidents.create_incident({"title": "Mine", "team": desk["desk"].id,
                                     "assignee": agent.id, "opened_at": NOW})
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
    assert dialog.save(), desk["errors"]
    spec = queues.spec_of(SavedQueue.get_by_id(dialog.saved_row.id))
    assert queues.position_of(spec, inc.id, agent.id)
    assert queues.count(spec, agent.id) == 1


@pytest.mark.parametrize("breakage", ["no_name", "nothing_picked", "no_columns", "empty_value"])
def test_invalid_input_refused_nothing_changed(ctx, qtbot, desk, breakage):
    net = str(desk["network"].id)
    row = queues.save_queue("Network", [["team", "eq", net]], ("opened_at", "desc"),
                            ["ref", "title"], False, desk["actor"])
    before = SavedQueue.get_by_id(row.id)
    for spec in (None, queues.get_spec(f"saved:{row.id}")):
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
        assert not dialog.save()
        assert dialog.saved_row is None and dialog.result() == 0
        assert len(desk["errors"]) == 1 and desk["errors"][0]
    assert SavedQueue.select().count() == 1
    after = SavedQueue.get_by_id(row.id)
    assert (after.version, after.name, after.definition) == (before.version, before.name,
                                                             before.definition)


def test_stale_edit_shows_conflict(ctx, qtbot, desk):
    row = queues.save_queue("Network", [["team", "eq", str(desk["network"].id)]],
                            actor=desk["actor"])
    dialog = QueueEditorDialog(ctx, queues.get_spec(f"saved:{row.id}"))
    qtbot.addWidget(dialog)
    # someone else edits the queue meanwhile
    queues.save_queue("Network (Maja)", [], actor=Actor.for_person(desk["boss"]),
                      queue_id=row.id, version=row.version)
    dialog.name_edit.setText("Network (Olle)")
    assert not dialog.save()
    assert "nothing was saved" in desk["errors"][-1] and "Maja Lead" in desk["errors"][-1]
    saved = SavedQueue.get_by_id(row.id)
    assert saved.name == "Network (Maja)" and saved.definition["filters"] == []


def test_context_menu_and_actions_offer_the_editor(ctx, qtbot, desk):
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    texts = [a.text() for _menu, a in panel.actions()]
    assert "New &queue…" in texts and "Edit saved &queue…" in texts and "&Save queue as…" in texts
    statuses = []
    ctx.sig_status.connect(statuses.append)
    panel.select_queue("all_open")
    assert panel.edit_queue() is None  # a predefined queue is not edited
    assert statuses == ["Only saved queues can be edited"]
