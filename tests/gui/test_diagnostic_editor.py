"""The diagnostic-script editor: a script written through the dialog is saved to the category and
the incident form then walks the agent through it; invalid or stale scripts change nothing.
The editor runs no SQL on the GUI thread outside an operation (``gui_sql``)."""

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


def test_write_script_in_dialog_then_the_incident_form_asks_it(ctx, qtbot, desk, gui_sql):
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot)
    _write_printing_script(dialog, qtbot, desk)
    _click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Save))
    assert gui_sql.statements == []
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


def test_remove_and_reorder_answers_and_steps(ctx, qtbot, desk, gui_sql):
    categories.save_script(desk["printing"].id, desk["printing"].version, [
        {"question": "A?", "answers": [{"label": "a1"}, {"label": "a2"}, {"label": "a3"}]},
        {"question": "B?", "answers": [{"label": "b1"}]}])
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot)
    dialog.select_category_named("Printing")
    assert dialog.step_list.count() == 2
    dialog.answer_table.setCurrentCell(2, 0)
    _click(qtbot, dialog.answer_up_button)  # a3 above a2
    dialog.answer_table.setCurrentCell(0, 0)
    _click(qtbot, dialog.remove_answer_button)  # a1 gone
    dialog.step_list.setCurrentRow(1)
    _click(qtbot, dialog.remove_step_button)  # B? gone
    dialog.save()
    assert gui_sql.statements == []
    assert not dialog.dirty and not desk["errors"]
    assert Category.get_by_id(desk["printing"].id).diagnostic_script == [
        {"question": "A?", "answers": [{"label": "a3"}, {"label": "a2"}]}]


@pytest.mark.parametrize("breakage", ["empty_question", "no_answers", "empty_label"])
def test_invalid_script_refused_nothing_changed(ctx, qtbot, desk, breakage, gui_sql):
    gui_sql.clear()
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
    dialog.save()
    assert gui_sql.statements == []
    assert dialog.save_button.isEnabled() and dialog.body.isEnabled()  # still editable
    assert len(desk["errors"]) == 1 and "step 1" in desk["errors"][0].lower()
    stored = Category.get_by_id(desk["printing"].id)
    assert stored.version == desk["printing"].version and stored.diagnostic_script is None
    assert dialog.dirty and dialog.step_list.count() == 1  # the work is still there to fix


def test_stale_script_shows_conflict(ctx, qtbot, desk, gui_sql):
    dialog = _dialog(ctx, qtbot)
    dialog.select_category_named("Printing")
    cat = desk["printing"]
    categories.save_script(cat.id, cat.version, [{"question": "Theirs?", "answers": ["x"]}],
                           Actor.for_person(desk["boss"]))
    gui_sql.clear()
    _click(qtbot, dialog.add_step_button)
    qtbot.keyClicks(dialog.question_edit, "Mine?")
    dialog.save()
    assert gui_sql.statements == []
    assert dialog.dirty and dialog.steps[0]["question"] == "Mine?"  # the edits stay
    assert "nothing was saved" in desk["errors"][-1] and "Maja Lead" in desk["errors"][-1]
    assert Category.get_by_id(cat.id).diagnostic_script[0]["question"] == "Theirs?"


def test_categories_of_both_kinds_create_and_rename(ctx, qtbot, desk, gui_sql):
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot)
    tops = [dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())]
    assert [t.text(0) for t in tops] == ["Incident categories", "Request categories"]
    assert [tops[1].child(i).text(0) for i in range(tops[1].childCount())] == ["Access"]
    dialog.create_category("Hardware order", "request")
    assert dialog.category.name == "Hardware order" and dialog.category.kind == "request"
    created = dialog.category.id
    dialog.create_category("access", "request")  # the name is taken
    assert desk["errors"] and dialog.category.id == created and dialog.body.isEnabled()
    _click(qtbot, dialog.add_step_button)  # an unsaved edit survives a rename
    dialog.rename_category("Hardware orders")
    assert gui_sql.statements == []
    assert dialog.tree.currentItem().text(0) == "Hardware orders"
    assert dialog.dirty and dialog.step_list.count() == 1
    stored = Category.get_by_id(created)
    assert (stored.name, stored.kind) == ("Hardware orders", "request")
    assert Category.select().where(Category.kind == "request").count() == 2


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
    dialog.save()
    assert not errors and not dialog.dirty
    net = Team.get(Team.name == "Network Operations")
    script = Category.get(Category.name == "Network").diagnostic_script
    assert script[0]["answers"][0] == {"label": "Yes, the whole site", "route_team": str(net.id)}
    assert script[1]["question"] == "Is the device's network cable/Wi-Fi connected?"


def _answer_question(monkeypatch, button):
    asked = []

    def ask(_parent, _title, text, *args, **kwargs):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", ask)
    return asked


def test_leaving_a_category_with_unsaved_changes(ctx, qtbot, desk, monkeypatch, gui_sql):
    """Save goes on to the other category once the save went through; a refused save keeps
    the edited category shown with its edits; Cancel stays; Discard drops the edits."""
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot)
    dialog.select_category_named("Printing")
    _click(qtbot, dialog.add_step_button)  # no question yet: refused on save
    asked = _answer_question(monkeypatch, QMessageBox.StandardButton.Save)
    dialog.select_category_named("Access", "request")
    assert asked == ["Save the changes to the script of Printing?"]
    assert len(desk["errors"]) == 1 and "step 1" in desk["errors"][0].lower()
    assert dialog.category.name == "Printing" and dialog.dirty
    assert dialog.tree.currentItem().text(0) == "Printing"
    _answer_question(monkeypatch, QMessageBox.StandardButton.Cancel)
    dialog.select_category_named("Access", "request")
    assert dialog.category.name == "Printing" and dialog.dirty
    qtbot.keyClicks(dialog.question_edit, "Is it plugged in?")
    _answer_question(monkeypatch, QMessageBox.StandardButton.Save)
    dialog.select_category_named("Access", "request")
    assert dialog.category.name == "Access" and not dialog.dirty
    _click(qtbot, dialog.add_step_button)
    _answer_question(monkeypatch, QMessageBox.StandardButton.Discard)
    dialog.select_category_named("Printing")
    assert dialog.category.name == "Printing" and dialog.step_list.count() == 1
    assert dialog.tree.currentItem().text(0) == "Printing  (1)"
    assert gui_sql.statements == []
    assert Category.get_by_id(desk["printing"].id).diagnostic_script[0]["question"] == \
        "Is it plugged in?"
    assert Category.get_by_id(desk["access"].id).diagnostic_script is None


def test_close_with_unsaved_changes_saves_then_closes(ctx, qtbot, desk, monkeypatch, gui_sql):
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot)
    dialog.select_category_named("Printing")
    _click(qtbot, dialog.add_step_button)
    qtbot.keyClicks(dialog.question_edit, "On?")
    _answer_question(monkeypatch, QMessageBox.StandardButton.Save)
    dialog.reject()
    assert gui_sql.statements == []
    assert dialog.result() == 0 and not dialog.dirty
    assert Category.get_by_id(desk["printing"].id).diagnostic_script[0]["question"] == "On?"


def test_editor_opens_before_the_categories_are_read(ctx, qtbot, desk, monkeypatch, gui_sql):
    waiting = []
    original = ctx.query
    monkeypatch.setattr(ctx, "query", lambda fn, *a, **kw: waiting.append((fn, a, kw)))
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot)
    assert dialog.tree.topLevelItemCount() == 0
    assert not dialog.save_button.isEnabled() and not dialog.body.isEnabled()
    for fn, a, kw in waiting:
        original(fn, *a, **kw)
    assert gui_sql.statements == []
    assert dialog.tree.topLevelItemCount() == 2 and dialog.body.isEnabled()
    assert dialog.select_category_named("Printing")
