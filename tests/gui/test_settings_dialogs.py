"""The service desk settings dialogs (SLA targets, priority matrix): they open at once and fill
in when their read answers, save in one write checked against the versions they read (a stale
edit conflicts and writes nothing), close once saved and stay open with the error's sentence
when not.  No SQL runs on the GUI thread outside an operation (``gui_sql``)."""

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.servicedesk import SLADefinition
from itsmdesk.services import records
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import priority, sla
from itsmdesk.views.dialogs.settings_dialogs import MatrixDialog, SlaDialog


@pytest.fixture
def desk(ctx, monkeypatch):
    d = sample_desk()
    ctx.set_actor(Actor.for_person(d["agent"]))
    errors = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: errors.append(a[2])))
    d["errors"] = errors
    d["maja"] = Actor.for_person(d["boss"])
    return d


def _save(dialog):
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def _open(cls, ctx, qtbot):
    dialog = cls(ctx)
    qtbot.addWidget(dialog)
    return dialog


# -- SLA targets --------------------------------------------------------------------------------
def test_sla_dialog_shows_and_saves_targets_and_share(ctx, qtbot, desk, gui_sql):
    sla.set_target("incident", 2, 20, 400)
    changed = []
    ctx.sig_changes.connect(changed.append)
    gui_sql.clear()
    dialog = _open(SlaDialog, ctx, qtbot)
    assert [b.value() for b in dialog.rows[2]] == [20, 400]
    assert [b.value() for b in dialog.rows[1]] == list(sla.DEFAULT_TARGETS[1])
    assert dialog.share.value() == sla.DEFAULT_ESCALATE_PCT and dialog.save_button.isEnabled()
    dialog.rows[1][0].setValue(10)
    dialog.rows[2][1].setValue(300)
    dialog.share.setValue(60)
    _save(dialog)
    assert gui_sql.statements == []
    assert dialog.result() == QDialog.DialogCode.Accepted and not desk["errors"]
    assert sla.targets("incident", 1) == (10, sla.DEFAULT_TARGETS[1][1])
    assert sla.targets("incident", 2) == (20, 300)
    assert sla.escalate_pct() == 60
    assert SLADefinition.select().where(SLADefinition.ticket_kind == "incident").count() == 5
    assert len(changed) == 1 and changed[0].touches("sla", "setting")  # one write, broadcast


def test_sla_dialog_keeps_a_targets_calendar(ctx, qtbot, desk, gui_sql):
    from itsmdesk.services.servicedesk import calendars

    cal = calendars.create_calendar({"name": "Office hours"})
    sla.set_target("incident", 3, 60, 600, calendar_id=cal.id)
    dialog = _open(SlaDialog, ctx, qtbot)
    dialog.rows[3][0].setValue(90)
    _save(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted, desk["errors"]
    assert sla.target("incident", 3).calendar_id == cal.id


@pytest.mark.parametrize("meanwhile", ["share", "target", "new_target"])
def test_sla_dialog_stale_edit_conflicts_and_writes_nothing(ctx, qtbot, desk, gui_sql, meanwhile):
    sla.set_target("incident", 1, 15, 240)
    dialog = _open(SlaDialog, ctx, qtbot)
    # Maja saves the settings at her desk after this dialog was opened
    if meanwhile == "share":
        sla.set_escalate_pct(80, desk["maja"], records.setting_version(sla.ESCALATE_SETTING))
    elif meanwhile == "target":
        sla.set_target("incident", 1, 5, 120, actor=desk["maja"])
    else:
        sla.set_target("incident", 4, 100, 1000, actor=desk["maja"])
    theirs = (sla.escalate_pct(), [sla.targets("incident", p) for p in (1, 2, 3, 4, 5)])
    gui_sql.clear()
    dialog.rows[1][0].setValue(30)
    dialog.rows[4][0].setValue(200)
    dialog.share.setValue(50)
    _save(dialog)
    assert gui_sql.statements == []
    assert dialog.result() == 0 and dialog.save_button.isEnabled()  # still open, edits there
    assert dialog.share.value() == 50
    assert len(desk["errors"]) == 1 and "nothing was saved" in desk["errors"][0]
    assert (sla.escalate_pct(), [sla.targets("incident", p) for p in (1, 2, 3, 4, 5)]) == theirs


def test_sla_dialog_refuses_a_bad_target_and_writes_nothing(ctx, qtbot, desk, gui_sql):
    dialog = _open(SlaDialog, ctx, qtbot)
    gui_sql.clear()
    dialog.share.setValue(40)
    dialog.rows[5][0].setValue(dialog.rows[5][1].value() + 1)  # response after resolution
    _save(dialog)
    assert gui_sql.statements == []
    assert dialog.result() == 0
    assert desk["errors"] == ["The response target cannot be longer than the resolution target"]
    assert sla.escalate_pct() == sla.DEFAULT_ESCALATE_PCT  # one transaction: nothing written
    assert not SLADefinition.select().exists()


# -- priority matrix ----------------------------------------------------------------------------
def _cells(dialog):
    return {k: c.currentData() for k, c in dialog.cells.items()}


def test_matrix_dialog_shows_and_saves(ctx, qtbot, desk, gui_sql):
    priority.set_matrix({**priority.DEFAULT_MATRIX, "3,3": 4})
    version = records.setting_version(priority.SETTING_KEY)
    gui_sql.clear()
    dialog = _open(MatrixDialog, ctx, qtbot)
    assert _cells(dialog) == {**priority.DEFAULT_MATRIX, "3,3": 4}
    combo = dialog.cells["1,3"]
    combo.setCurrentIndex(combo.findData(2))
    _save(dialog)
    assert gui_sql.statements == []
    assert dialog.result() == QDialog.DialogCode.Accepted and not desk["errors"]
    assert priority.matrix() == {**priority.DEFAULT_MATRIX, "3,3": 4, "1,3": 2}
    assert records.setting_version(priority.SETTING_KEY) == version + 1 == dialog.version
    assert priority.priority_for(1, 3) == 2


@pytest.mark.parametrize("saved_before", [True, False])
def test_matrix_dialog_stale_edit_conflicts(ctx, qtbot, desk, gui_sql, saved_before):
    """Whether or not the matrix was ever saved, one saved elsewhere after the dialog opened
    is not overwritten."""
    if saved_before:
        priority.set_matrix(dict(priority.DEFAULT_MATRIX))
    dialog = _open(MatrixDialog, ctx, qtbot)
    theirs = {**priority.DEFAULT_MATRIX, "2,2": 1}
    priority.set_matrix(theirs, desk["maja"],
                        records.setting_version(priority.SETTING_KEY) or None)
    gui_sql.clear()
    combo = dialog.cells["3,3"]
    combo.setCurrentIndex(combo.findData(3))
    _save(dialog)
    assert gui_sql.statements == []
    assert dialog.result() == 0 and dialog.save_button.isEnabled()
    assert len(desk["errors"]) == 1 and "nothing was saved" in desk["errors"][0]
    assert priority.matrix() == theirs


def test_dialogs_open_before_their_data_and_save_stays_off(ctx, qtbot, desk, monkeypatch,
                                                          gui_sql):
    waiting = []
    original = ctx.query
    monkeypatch.setattr(ctx, "query", lambda fn, *a, **kw: waiting.append((fn, a, kw)))
    gui_sql.clear()
    sla_dialog = _open(SlaDialog, ctx, qtbot)
    matrix = _open(MatrixDialog, ctx, qtbot)
    assert not sla_dialog.save_button.isEnabled() and not matrix.save_button.isEnabled()
    sla_dialog.save()
    matrix.save()  # nothing read yet: nothing saved
    assert sla_dialog.result() == 0 and matrix.result() == 0
    for fn, a, kw in waiting:
        original(fn, *a, **kw)
    assert gui_sql.statements == []
    assert sla_dialog.save_button.isEnabled() and matrix.save_button.isEnabled()
    assert _cells(matrix) == priority.DEFAULT_MATRIX


def test_menu_entries_run_the_modal_dialogs(ctx, qtbot, desk, monkeypatch, gui_sql):
    from itsmdesk.views.dialogs import actions

    def run_sla(dialog):
        dialog.share.setValue(55)
        _save(dialog)
        return dialog.result()

    def run_matrix(dialog):
        combo = dialog.cells["1,1"]
        combo.setCurrentIndex(combo.findData(2))
        _save(dialog)
        return dialog.result()

    monkeypatch.setattr(SlaDialog, "exec", run_sla)
    monkeypatch.setattr(MatrixDialog, "exec", run_matrix)
    found = {a.text(): a for _menu, a in actions.menu_actions(ctx, None)}
    gui_sql.clear()
    found["&SLA targets…"].trigger()
    found["Priority &matrix…"].trigger()
    assert gui_sql.statements == []
    assert sla.escalate_pct() == 55 and priority.matrix()["1,1"] == 2
    assert not desk["errors"]
