"""The release form, the releases dock and the plan preview (pytest-qt).  The form is a
RecordForm: one read model, one save call at the version it loaded, merged stale edits, a
question before closing, every action a write at the version it holds, no SQL on the GUI
thread."""

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from itsmdesk.models.cmdb import CI
from itsmdesk.models.release import Release, ReleaseChange, ReleaseItem, ReleaseStep
from itsmdesk.services import records
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan
from itsmdesk.services.release import releases
from itsmdesk.views.forms.merge_dialog import MergeDialog
from itsmdesk.views.releases.editors import StepDialog
from itsmdesk.views.releases.release_form import ReleaseForm
from itsmdesk.words import word
from tests.release_helpers import build_release, day, set_change_status

pytestmark = pytest.mark.gui


@pytest.fixture
def made(ctx):
    return build_release(n_sites=2)


def cells(table, col):
    return [table.item(r, col).text() for r in range(table.rowCount())]


def yes_to_questions(monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)


def test_form_shows_release(qtbot, ctx, made):
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    rel = made["release"]
    assert form.loaded and not form.dirty and form.edits() == {}
    assert form.title() == f"{rel.ref} Payroll 5"
    assert form.heading.text() == f"{rel.ref} · Payroll 5 5.0.0"
    assert "HIGH" in form.summary.text() and "all changes approved" in form.summary.text()
    assert "Rita Release" in form.summary.text()
    assert form.manager_box.currentText() == "Rita Release"
    assert form.team_box.currentText() == "Release team"
    assert cells(form.changes_table, 0) == sorted(c.ref for c in made["changes"])
    assert cells(form.steps_table, 0)[:3] == ["Build and test", "    Build", "    Test"]
    assert cells(form.items_table, 0) == ["Payroll client"]
    assert "Payroll service" in form.services_label.text()
    assert [form.transition_combo.itemData(i) for i in range(form.transition_combo.count())] == \
        ["build", "closed"]
    # the Gantt view draws a bar for every dated step plus the phase bracket
    dated = {str(p.id) for p in release_plan.plan(rel.id) if p.planned_start or p.kind == "phase"}
    assert set(form.gantt.bars()) == dated
    # the read model's risk is the one the service computes
    assert form.data.risk == release_lifecycle.assess_risk(rel.id)
    assert form.data.problems == tuple(release_plan.plan_problems(rel.id))


def test_form_edits_and_status(qtbot, ctx, made):
    rel = made["release"]
    form = ReleaseForm(ctx, rel.id)
    qtbot.addWidget(form)
    form.name.setText("Payroll 5 (spring)")
    form.description.setPlainText("Spring rollout")
    assert form.dirty and form.edits() == {"name": "Payroll 5 (spring)",
                                           "description": "Spring rollout"}
    form.save()
    saved = Release.get_by_id(rel.id)
    assert saved.name == "Payroll 5 (spring)" and saved.description == "Spring rollout"
    assert saved.planned_start == rel.planned_start  # UTC round trip
    assert sorted(e.field for e in records.history("release", rel.id)
                  if e.version == saved.version) == ["description", "name"]
    assert not form.dirty and form.version == saved.version
    form.transition_combo.setCurrentIndex(form.transition_combo.findData("build"))
    form.move_status()
    assert Release.get_by_id(rel.id).status == "build"
    assert word("build") in form.summary.text()
    # the History tab: names, not ids
    form.history.refresh()
    texts = " ".join(f"{e.old} {e.new}" for e in form.history.entries)
    assert made["changes"][0].ref in texts and "Rita Release" in texts
    assert str(made["manager"].id) not in texts and str(made["changes"][0].id) not in texts


def test_unapproved_change_shown_and_blocks(qtbot, ctx, made, message_boxes):
    for status in ("build", "test", "approved"):
        release_lifecycle.transition(made["release"].id, None, status)
    set_change_status(made["changes"][1], "awaiting_cab")
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    assert "1 change(s) not approved" in form.summary.text()
    assert "NO" in cells(form.changes_table, 3)
    form.transition_combo.setCurrentIndex(form.transition_combo.findData("deploying"))
    form.move_status()
    assert message_boxes and "not approved" in message_boxes[-1][1]
    assert "not approved" in form.message.text()
    assert Release.get_by_id(made["release"].id).status == "approved"


def test_deploy_wave_from_form(qtbot, ctx, made, monkeypatch):
    for status in ("build", "test", "approved"):
        release_lifecycle.transition(made["release"].id, None, status)
    for step in ("build", "test"):
        release_plan.set_step_status(made[step].id, "done")
    yes_to_questions(monkeypatch)
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
    assert word("deploying") in form.summary.text()
    row = cells(form.steps_table, 0).index("Wave S0")
    assert form.steps_table.item(row, 8).text() == word("done")


def test_stale_wave_is_not_deployed(qtbot, ctx, made, monkeypatch, message_boxes):
    for status in ("build", "test", "approved"):
        release_lifecycle.transition(made["release"].id, None, status)
    for step in ("build", "test"):
        release_plan.set_step_status(made[step].id, "done")
    yes_to_questions(monkeypatch)
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    wave = made["waves"][0]
    release_plan.update_step(wave.id, wave.version, {"name": "Wave S0 (Oslo)"})  # meanwhile
    form.select_step(str(wave.id))
    form.deploy_wave()
    assert ReleaseStep.get_by_id(wave.id).status == "planned"
    assert {CI.get_by_id(c.id).ci_version for c in made["installed"]["S0"]} == {"4.9.2"}
    assert message_boxes and "after you opened it" in message_boxes[-1][1]
    assert "Wave S0 (Oslo)" in cells(form.steps_table, 0)  # reloaded


def test_new_release_and_dml_item(qtbot, ctx):
    form = ReleaseForm(ctx, None)
    qtbot.addWidget(form)
    assert not form.tabs.widget(2).isEnabled()
    form.name.setText("Fresh")
    form.version_edit.setText("1.0")
    form.save()
    rel = Release.get(Release.name == "Fresh")
    assert rel.id == form.new_id == form.record_id
    assert form.title() == f"{rel.ref} Fresh" and form.tabs.widget(3).isEnabled()
    assert rel.risk_level == "medium"  # no backout plan: stored with the creation
    form.item_name.setText("Fresh app")
    form.item_version.setText("1.0")
    form.add_item()
    assert cells(form.items_table, 0) == ["Fresh app"]
    assert cells(form.items_table, 3) == ["DML Fresh app 1.0"]
    assert form.item_name.text() == ""
    form.items_table.selectRow(0)
    form.remove_item()
    assert ReleaseItem.select().where(ReleaseItem.release == rel.id).count() == 0
    assert form.items_table.rowCount() == 0


def test_bundled_changes_added_and_removed(qtbot, ctx, made):
    from tests.change_helpers import change

    extra = change("Payroll hotfix", status="approved")
    rel = made["release"]
    form = ReleaseForm(ctx, rel.id)
    qtbot.addWidget(form)
    form.change_ref.setText(extra.ref.lower())
    form.add_change()
    assert extra.ref in cells(form.changes_table, 0) and form.change_ref.text() == ""
    form.changes_table.selectRow(cells(form.changes_table, 0).index(extra.ref))
    form.remove_change()
    assert extra.ref not in cells(form.changes_table, 0)
    assert ReleaseChange.select().where(ReleaseChange.release == rel.id).count() == 2
    form.history.refresh()
    removed = [e.old for e in form.history.entries if e.action == "removed"]
    assert removed == [extra.ref]


def test_stale_release_edit_is_merged(qtbot, ctx, made, monkeypatch):
    rel = made["release"]
    form = ReleaseForm(ctx, rel.id)
    qtbot.addWidget(form)
    releases.save_release(rel.id, form.version, {"release_version": "5.0.1",
                                                 "description": "Theirs"})
    form.description.setPlainText("Mine")
    form.name.setText("Payroll 5.0")

    def fake_exec(dialog):
        fake_exec.conflicts = list(dialog.conflicts)
        dialog.choose_mine("description")
        return True

    monkeypatch.setattr(MergeDialog, "exec", fake_exec)
    form.save()
    row = Release.get_by_id(rel.id)
    assert fake_exec.conflicts == ["description"]
    assert (row.name, row.release_version, row.description) == ("Payroll 5.0", "5.0.1", "Mine")
    assert form.version == row.version and not form.dirty


@pytest.mark.parametrize("button", ["save", "discard", "cancel"])
def test_release_form_asks_before_closing(qtbot, ctx, made, monkeypatch, button):
    class Host(QWidget):
        closed: list = []

        def close_form(self, form):
            self.closed.append(form)

    host = Host()
    host.closed = []
    qtbot.addWidget(host)
    rel = made["release"]
    form = ReleaseForm(ctx, rel.id)
    form.setParent(host)
    form.backout.setPlainText("Reinstall 4.9.2")
    chosen = {"save": QMessageBox.StandardButton.Save,
              "discard": QMessageBox.StandardButton.Discard,
              "cancel": QMessageBox.StandardButton.Cancel}[button]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or chosen)
    result = form.can_close()
    assert asked and "unsaved changes" in asked[0]
    backout = Release.get_by_id(rel.id).backout_plan
    if button == "save":
        assert result is False and host.closed == [form] and backout == "Reinstall 4.9.2"
    elif button == "discard":
        assert result is True and not host.closed and backout == "Reinstall 4.9 from the DML."
    else:
        assert result is False and form.dirty and backout == "Reinstall 4.9 from the DML."


def test_release_form_runs_no_sql_on_the_gui_thread(qtbot, ctx, made, monkeypatch, gui_sql):
    from tests.change_helpers import change

    extra = change("Payroll hotfix", status="approved")
    shown = []
    monkeypatch.setattr("itsmdesk.views.releases.preview.show_preview",
                        lambda parent, detail, ctx=None: shown.append(detail))
    yes_to_questions(monkeypatch)

    def add(dialog):
        dialog.name.setText("Smoke test")
        dialog.team.setCurrentIndex(dialog.team.findText("Release team"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(StepDialog, "exec", add)
    gui_sql.clear()
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.name.setText("Payroll 5 (quiet)")
    form.save()
    form.change_ref.setText(extra.ref)
    form.add_change()
    form.add_step()
    form.select_step(str(made["backout"].id))
    form.edit_step()
    form.select_step(str(made["build"].id))
    form.step_status.setCurrentIndex(form.step_status.findData("done"))
    form.set_step_status()
    form.select_step(str(made["backout"].id))
    form.delete_step()
    form.item_name.setText("Payroll server")
    form.item_version.setText("5.0.0")
    form.add_item()
    for status in ("build", "test", "approved"):
        form.transition_combo.setCurrentIndex(form.transition_combo.findData(status))
        form.move_status()
    form.select_step(str(made["test"].id))
    form.set_step_status()
    form.select_step(str(made["waves"][0].id))
    form.deploy_wave()
    form.show_pdf()
    form.history.refresh()
    new = ReleaseForm(ctx, None)
    qtbot.addWidget(new)
    new.name.setText("Quiet release")
    new.save()
    assert gui_sql.statements == []
    assert form.data.status == "deploying" and shown and new.data.name == "Quiet release"
    assert "Smoke test" in cells(form.steps_table, 0)
    assert "Backout" not in cells(form.steps_table, 0)
    assert extra.ref in cells(form.changes_table, 0)


def test_release_view_reads_in_few_statements(ctx, made, monkeypatch):
    import peewee

    seen = []
    original = peewee.Database.execute_sql

    def execute_sql(self, sql, params=None, *args, **kwargs):
        seen.append(str(sql))
        return original(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(peewee.Database, "execute_sql", execute_sql)
    view = releases.release_view(made["release"].id)
    monkeypatch.setattr(peewee.Database, "execute_sql", original)
    # the CMDB's impact walk (services from the changes' CIs) is the impact module's own
    walk = ("FROM relation", "FROM ci_class", "SELECT NULL, gid", "SELECT g.*")
    own = [s for s in seen if not any(w in s for w in walk)]
    assert len(own) == 7, own
    assert view.services == ("Payroll service",) and len(view.plan) == 6


def test_panel_lists_and_opens(qtbot, ctx, made):
    from itsmdesk.views.releases.panel import ReleasesPanel, menu_actions

    panel = ReleasesPanel(ctx)
    qtbot.addWidget(panel)

    panel.show()  # a hidden dock reads nothing until it is shown
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

    dialog = preview_dialog(None, releases.release_detail(made["release"].ref), ctx)
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
    assert "    Smoke test S1" in cells(form.steps_table, 0)


def test_others_changes_to_bundled_changes_reload_the_form(qtbot, ctx, made):
    from itsmdesk.services.change import changes as change_service

    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    chg = made["changes"][0]
    ctx.write(change_service.update_change, chg.id, None, {"title": "Payroll change renamed"})
    assert "Payroll change renamed" in cells(form.changes_table, 1)


def test_history_tab(qtbot, ctx, made):
    release_lifecycle.transition(made["release"].id, None, "build")
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.tabs.setCurrentWidget(form.history)
    form.show()
    qtbot.waitUntil(lambda: form.history.entries != [])
    rows = [(e.action, e.field, e.old, e.new) for e in form.history.entries]
    assert ("set", "status", "planning", "build") in rows
    assert any(r[0] == "created" for r in rows)
    assert form.history.tree.topLevelItemCount() == len(rows)
