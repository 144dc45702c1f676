"""The diagnostic-script editor: a script written through the dialog is saved to the category and
the incident form then walks the agent through it; invalid or stale scripts change nothing."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.incident import Incident
from itsmdesk.models.servicedesk import Category
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import categories, incidents
from itsmdesk.views.dialogs.diagnostic_editor import DiagnosticEditorDialog
from itsmdesk.views.queue.incident_form import IncidentForm


@pytest.fixture
def desk(ctx, monkeypatch):
    d = sample_desk()
    ctx.set_actor(Actor.for_person(d["agent"]))
    errors = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: errors.append(a[2])))
    d["errors"] = errors
    d["printing"] = categories.create_category("Printing", "incident")
    d["access"] = categories.create_category("Access", "request")
    return d


def _dialog(ctx, qtbot):
    dialog = DiagnosticEditorDialog(ctx)
    qtbot.addWidget(dialog)
    return dialog


def _click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _write_printing_script(dialog, qtbot, desk):
    assert dialog.select_category_named("Printing")
    assert dialog.step_list.count() == 0 and not dialog.step_box.isEnabled()
    _click(qtbot, dialog.add_step_button)
    qtbot.keyClicks(dialog.question_edit, "Is the printer switched on?")
    assert dialog.step_list.item(0).text() == "1. Is the printer switched on?"
    # new steps start with Yes / No; route "No" to the network team, add a third answer
    assert [dialog.answer_table.item(r, 0).text() for r in range(2)] == ["Yes", "No"]
    dialog.set_answer(1, route_team=desk["network"].id)
    _click(qtbot, dialog.add_answer_button)
    dialog.set_answer(2, "It shows an error code")
    _click(qtbot, dialog.add_step_button)
    qtbot.keyClicks(dialog.question_edit, "Does a test page print?")
    # move the second step to the front and back again
    _click(qtbot, dialog.step_up_button)
    assert dialog.step_list.item(0).text() == "1. Does a test page print?"
    _click(qtbot, dialog.step_down_button)
    assert dialog.step_list.item(1).text() == "2. Does a test page print?"
    assert dialog.dirty


def test_write_script_in_dialog_then_the_incident_form_asks_it(ctx, qtbot, desk):
    dialog = _dialog(ctx, qtbot)
    _write_printing_script(dialog, qtbot, desk)
    _click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Save))
    assert not desk["errors"] and not dialog.dirty
    net = str(desk["network"].id)
    stored = Category.get_by_id(desk["printing"].id)
    assert stored.version == desk["printing"].version + 1
    assert stored.diagnostic_script == [
        {"question": "Is the printer switched on?",
         "answers": [{"label": "Yes"}, {"label": "No", "route_team": net},
                     {"label": "It shows an error code"}]},
        {"question": "Does a test page print?", "answers": [{"label": "Yes"}, {"label": "No"}]}]
    assert dialog.status_label.text() == "Saved 2 steps for Printing"
    assert dialog.tree.currentItem().text(0) == "Printing  (2)"

    # the incident form shows the new steps for a ticket of that category ...
    inc = incidents.create_incident({"title": "Printer dead", "team": desk["desk"].id,
                                     "category": desk["printing"].id})
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    side = form.side
    assert not side.script_box.isHidden()
    assert [s["question"] for s, _combo in side.script_steps] == [
        "Is the printer switched on?", "Does a test page print?"]
    combo = side.script_steps[0][1]
    assert [combo.itemText(i) for i in range(combo.count())] == ["", "Yes", "No",
                                                                 "It shows an error code"]
    # ... and the answer routes the ticket to the chosen team
    side.answer(0, "No")
    side.record_answers()
    assert Incident.get_by_id(inc.id).team_id == desk["network"].id
    assert not desk["errors"]


def test_remove_and_reorder_answers_and_steps(ctx, qtbot, desk):
    categories.save_script(desk["printing"].id, desk["printing"].version, [
        {"question": "A?", "answers": [{"label": "a1"}, {"label": "a2"}, {"label": "a3"}]},
        {"question": "B?", "answers": [{"label": "b1"}]}])
    dialog = _dialog(ctx, qtbot)
    dialog.select_category_named("Printing")
    assert dialog.step_list.count() == 2
    dialog.answer_table.setCurrentCell(2, 0)
    _click(qtbot, dialog.answer_up_button)  # a3 above a2
    dialog.answer_table.setCurrentCell(0, 0)
    _click(qtbot, dialog.remove_answer_button)  # a1 gone
    dialog.step_list.setCurrentRow(1)
    _click(qtbot, dialog.remove_step_button)  # B? gone
    assert dialog.save()
    assert Category.get_by_id(desk["printing"].id).diagnostic_script == [
        {"question": "A?", "answers": [{"label": "a3"}, {"label": "a2"}]}]


@pytest.mark.parametrize("breakage", ["empty_question", "no_answers", "empty_label"])
def test_invalid_script_refused_nothing_changed(ctx, qtbot, desk, breakage):
    dialog = _dialog(ctx, qtbot)
    dialog.select_category_named("Printing")
    _click(qtbot, dialog.add_step_button)
    if breakage != "empty_question":
        qtbot.keyClicks(dialog.question_edit, "Is it on?")
    if breakage == "no_answers":
        for _ in range(2):
            dialog.answer_table.setCurrentCell(0, 0)
            _click(qtbot, dialog.remove_answer_button)
        assert dialog.answer_table.rowCount() == 0
    if breakage == "empty_label":
        dialog.set_answer(0, "  ")
    assert not dialog.save()
    assert len(desk["errors"]) == 1 and "step 1" in desk["errors"][0].lower()
    stored = Category.get_by_id(desk["printing"].id)
    assert stored.version == desk["printing"].version and stored.diagnostic_script is None
    assert dialog.dirty and dialog.step_list.count() == 1  # the work is still there to fix


def test_stale_script_shows_conflict(ctx, qtbot, desk):
    dialog = _dialog(ctx, qtbot)
    dialog.select_category_named("Printing")
    cat = desk["printing"]
    categories.save_script(cat.id, cat.version, [{"question": "Theirs?", "answers": ["x"]}],
                           Actor.for_person(desk["boss"]))
    _click(qtbot, dialog.add_step_button)
    qtbot.keyClicks(dialog.question_edit, "Mine?")
    assert not dialog.save()
    assert "nothing was saved" in desk["errors"][-1] and "Maja Lead" in desk["errors"][-1]
    assert Category.get_by_id(cat.id).diagnostic_script[0]["question"] == "Theirs?"


def test_categories_of_both_kinds_create_and_rename(ctx, qtbot, desk):
    dialog = _dialog(ctx, qtbot)
    tops = [dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())]
    assert [t.text(0) for t in tops] == ["Incident categories", "Request categories"]
    assert [tops[1].child(i).text(0) for i in range(tops[1].childCount())] == ["Access"]
    row = dialog.create_category("Hardware order", "request")
    assert Category.get_by_id(row.id).kind == "request"
    assert dialog.category.name == "Hardware order"
    assert dialog.create_category("access", "request") is None  # the name is taken
    assert desk["errors"]
    renamed = dialog.rename_category("Hardware orders")
    assert Category.get_by_id(row.id).name == "Hardware orders" == renamed.name
    assert dialog.tree.currentItem().text(0) == "Hardware orders"


def test_menu_entry_opens_the_editor(ctx, qtbot, desk, monkeypatch):
    from itsmdesk.views.dialogs import actions

    opened = []
    monkeypatch.setattr(DiagnosticEditorDialog, "exec", lambda self: opened.append(self) or 0)
    found = [a for _menu, a in actions.menu_actions(ctx, None) if a.text() == "&Diagnostic scripts…"]
    assert len(found) == 1 and found[0].shortcut().toString() == "Ctrl+Alt+D"
    found[0].trigger()
    assert len(opened) == 1 and opened[0].tree.topLevelItemCount() == 2


def test_demo_scripts_route_by_team_name_and_save_as_ids(demo_ctx, qtbot, monkeypatch):
    """The editor shows a route-to team by name and saves the team's id, which is what
    record_diagnosis routes by."""
    from itsmdesk.models.people import Team

    errors = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: errors.append(a[2])))
    dialog = _dialog(demo_ctx, qtbot)
    assert dialog.select_category_named("Network")
    assert dialog.question_edit.text() == "Is more than one user affected?"
    assert dialog.answer_table.cellWidget(0, 1).currentText() == "Network Operations"
    assert dialog.answer_table.cellWidget(1, 1).currentData() is None
    assert dialog.save(), errors
    net = Team.get(Team.name == "Network Operations")
    script = Category.get(Category.name == "Network").diagnostic_script
    assert script[0]["answers"][0] == {"label": "Yes, the whole site", "route_team": str(net.id)}
    assert script[1]["question"] == "Is the device's network cable/Wi-Fi connected?"
