"""The release form, the releases dock and the plan preview (pytest-qt)."""

import pytest
from PySide6.QtWidgets import QMessageBox

from itsmdesk.models.cmdb import CI
from itsmdesk.models.release import Release, ReleaseStep
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan
from itsmdesk.views.forms.release_form import ReleaseForm
from tests.release_helpers import build_release, set_change_status


@pytest.fixture
def made(ctx):
    return build_release(n_sites=2)


def cells(table, col):
    return [table.item(r, col).text() for r in range(table.rowCount())]


def test_form_shows_release(qtbot, ctx, made):
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    rel = made["release"]
    assert form.title() == rel.ref
    assert form.heading.text() == f"{rel.ref} · Payroll 5 5.0.0"
    assert "HIGH" in form.summary.text() and "all changes approved" in form.summary.text()
    assert cells(form.changes_table, 0) == sorted(c.ref for c in made["changes"])
    assert cells(form.steps_table, 0)[:3] == ["Build and test", "    Build", "    Test"]
    assert cells(form.items_table, 0) == ["Payroll client"]
    assert "Payroll service" in form.services_label.text()
    assert [form.transition_combo.itemData(i) for i in range(form.transition_combo.count())] == \
        ["build", "closed"]
    # the Gantt view draws a bar for every dated step plus the phase bracket
    dated = {str(p.id) for p in release_plan.plan(rel.id) if p.planned_start or p.kind == "phase"}
    assert set(form.gantt.bars()) == dated


def test_form_edits_and_status(qtbot, ctx, made):
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.name.setText("Payroll 5 (spring)")
    form.save()
    saved = Release.get_by_id(made["release"].id)
    assert saved.name == "Payroll 5 (spring)"
    assert saved.planned_start == made["release"].planned_start  # UTC round trip
    form.transition_combo.setCurrentIndex(form.transition_combo.findData("build"))
    with qtbot.waitSignal(ctx.sig_records_changed, timeout=1000):
        form.move_status()
    assert Release.get_by_id(made["release"].id).status == "build"
    assert "build" in form.summary.text()


def test_unapproved_change_shown_and_blocks(qtbot, ctx, made, monkeypatch):
    for status in ("build", "test", "approved"):
        release_lifecycle.transition(made["release"].id, status)
    set_change_status(made["changes"][1], "awaiting_cab")
    errors = []
    monkeypatch.setattr("itsmdesk.views.forms.release_form.show_error",
                        lambda _w, e: errors.append(str(e)))
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    assert "1 change(s) not approved" in form.summary.text()
    assert "NO" in cells(form.changes_table, 3)
    form.transition_combo.setCurrentIndex(form.transition_combo.findData("deploying"))
    form.move_status()
    assert errors and "not approved" in errors[0]
    assert Release.get_by_id(made["release"].id).status == "approved"


def test_deploy_wave_from_form(qtbot, ctx, made, monkeypatch):
    for status in ("build", "test", "approved"):
        release_lifecycle.transition(made["release"].id, status)
    for step in ("build", "test"):
        release_plan.set_step_status(made[step].id, "done")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.select_step(str(made["waves"][0].id))
    assert form.deploy_button.isEnabled()
    with qtbot.waitSignal(ctx.sig_status, timeout=1000) as status:
        form.deploy_wave()
    assert "2 CI(s) updated" in status.args[0]
    assert {CI.get_by_id(c.id).ci_version for c in made["installed"]["S0"]} == {"5.0.0"}
    assert {CI.get_by_id(c.id).ci_version for c in made["installed"]["S1"]} == {"4.9.2"}
    assert ReleaseStep.get_by_id(made["waves"][0].id).status == "done"
    assert "deploying" in form.summary.text()
    row = cells(form.steps_table, 0).index("Wave S0")
    assert form.steps_table.item(row, 8).text() == "done"


def test_new_release_and_dml_item(qtbot, ctx):
    form = ReleaseForm(ctx, None)
    qtbot.addWidget(form)
    assert not form.tabs.widget(2).isEnabled()
    form.name.setText("Fresh")
    form.version_edit.setText("1.0")
    form.save()
    rel = Release.get(Release.name == "Fresh")
    assert form.title() == rel.ref and form.tabs.widget(3).isEnabled()
    form.item_name.setText("Fresh app")
    form.item_version.setText("1.0")
    form.add_item()
    assert cells(form.items_table, 0) == ["Fresh app"]
    assert cells(form.items_table, 3) == ["DML Fresh app 1.0"]


def test_panel_lists_and_opens(qtbot, ctx, made):
    from itsmdesk.views.releases.panel import ReleasesPanel, menu_actions

    panel = ReleasesPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.model.rowCount() == 1
    assert panel.model.rows[0].ref == made["release"].ref
    panel.search.setText("nothing-like-this")
    panel.refresh()
    assert panel.model.rowCount() == 0
    panel.search.setText("payroll")
    panel.refresh()
    panel.table.selectRow(0)
    assert panel.current_ref() == made["release"].ref
    with qtbot.waitSignal(ctx.sig_open_record) as opened:
        panel.open_current()
    assert opened.args == ["release", made["release"].id]
    actions = menu_actions(ctx, panel)
    assert [m for m, _a in actions] == ["Records", "Reports"]
    assert all(a.shortcut().toString() for _m, a in actions)


def test_print_preview_document(qtbot, ctx, made):
    import gc

    from itsmdesk.views.releases.preview import preview_dialog

    dialog = preview_dialog(None, made["release"].ref)
    qtbot.addWidget(dialog)
    gc.collect()  # the printer must outlive preview_dialog()'s frame
    dialog.show()
    qtbot.wait(20)
    text = dialog.document.toPlainText()
    for needle in (made["release"].ref, "Included changes", "Gantt chart", "Sign-off",
                   "Payroll client", made["changes"][0].ref):
        assert needle in text
    assert dialog.findChild(type(dialog.actions()[0]), "savePdfAction") is not None


def test_edit_step_dialog(qtbot, ctx, made, monkeypatch):
    from PySide6.QtWidgets import QDialog

    from itsmdesk.views.releases.editors import StepDialog

    def accept_with_new_name(dialog):
        assert dialog.name.text() == "Backout"
        assert dialog.team.currentText() == "Release team"
        dialog.name.setText("Backout to 4.9")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(StepDialog, "exec", accept_with_new_name)
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.select_step(str(made["backout"].id))
    form.edit_step()
    assert ReleaseStep.get_by_id(made["backout"].id).name == "Backout to 4.9"
    assert "Backout to 4.9" in cells(form.steps_table, 0)


def test_add_step_dialog(qtbot, ctx, made, monkeypatch):
    from PySide6.QtWidgets import QDialog

    from itsmdesk.views.releases.editors import StepDialog
    from tests.release_helpers import day

    def fill(dialog):
        dialog.name.setText("Smoke test S1")
        dialog.kind.setCurrentIndex(dialog.kind.findData("test"))
        dialog.phase.setCurrentIndex(dialog.phase.findText("Build and test"))
        dialog.team.setCurrentIndex(dialog.team.findText("Release team"))
        dialog.after.setCurrentIndex(dialog.after.findText("Wave S1"))
        dialog.start.set_value(day(6))
        dialog.end.set_value(day(6, 4))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(StepDialog, "exec", fill)
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.add_step()
    step = ReleaseStep.get(ReleaseStep.name == "Smoke test S1")
    assert (step.kind, step.phase_id, step.owner_team_id) == ("test", made["phase"].id,
                                                              made["team"].id)
    assert step.planned_start == day(6) and step.planned_end == day(6, 4)
    row = next(r for r in release_plan.plan(made["release"].id) if r.id == step.id)
    assert row.depends_on_names == ("Wave S1",) and row.level == 1


def test_history_tab(qtbot, ctx, made):
    release_lifecycle.transition(made["release"].id, "build")
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.tabs.setCurrentWidget(form.history_table)
    rows = [[form.history_table.item(r, c).text() for c in (3, 4, 5)]
            for r in range(form.history_table.rowCount())]
    assert ["status", "planning", "build"] in rows
    assert any(r[0] == "*created*" for r in rows)
