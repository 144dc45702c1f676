"""Problem form, known error form and problems dock driven with pytest-qt."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QMessageBox

from itsmdesk.models import Change, Incident, Problem
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.problem import problems
from itsmdesk.services.servicedesk import incidents

pytestmark = pytest.mark.gui


def _setup():
    srv = cmdb.create_ci({"name": "vpn-gw", "ci_class": "server"})
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    incs = [incidents.create_incident({"title": "VPN drops every few minutes",
                                       "opened_at": now - dt.timedelta(hours=5 + i), "ci": srv.id,
                                       "impact": 2, "urgency": 2}) for i in range(3)]
    return srv, incs


def _form(ctx, qtbot, record_id=None):
    from itsmdesk.views.problems.problem_form import ProblemForm

    form = ProblemForm(ctx, record_id)
    qtbot.addWidget(form)
    assert form.loaded
    return form


def _count_statements(monkeypatch, fn, *args):
    """(result, number of SQL statements ``fn(*args)`` ran)."""
    import peewee

    seen = []
    original = peewee.Database.execute_sql

    def execute_sql(self, sql, params=None, *a, **k):  # noqa: ANN001, ANN002, ANN003
        seen.append(sql)
        return original(self, sql, params, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(peewee.Database, "execute_sql", execute_sql)
        result = fn(*args)
    return result, len(seen)


def test_create_problem_link_incidents_and_close(ctx, qtbot, monkeypatch):
    srv, incs = _setup()
    form = _form(ctx, qtbot)
    assert form.title() == "New problem" and not form.rfc_button.isEnabled()
    assert form.move_button.isHidden() and not form.status_combo.isHidden()
    form.title_edit.setText("VPN drops")
    form.ci_edit.setText("vpn-gw")
    form.description.setPlainText("Home users lose VPN")
    assert form.edits() == {"title": "VPN drops", "ci": "vpn-gw", "priority": 3,
                            "status": "new", "description": "Home users lose VPN"}
    with qtbot.waitSignal(ctx.sig_changes):
        form.save()
    problem = Problem.get(Problem.title == "VPN drops")
    assert problem.id == form.new_id == form.record_id  # created with the key chosen at open
    assert problem.ci_id == srv.id and problem.description == "Home users lose VPN"
    assert form.title().startswith(problem.ref) and form.rfc_button.isEnabled()
    assert not form.dirty and form.status_combo.isHidden() and not form.move_button.isHidden()

    form.tabs.setCurrentIndex(2)
    form.link_edit.setText(f"{incs[0].ref}, {incs[1].ref} {incs[2].ref}")
    form.link_incidents()
    assert form.incident_model.rowCount() == 3 and form.link_edit.text() == ""
    assert Incident.select().where(Incident.problem == problem.id).count() == 3
    assert form.timeline_model.rowCount() >= 4  # created + three incidents opened

    # RCA notes typed, then a status move: the edits are saved first, then the move
    form.rca_edits["cause"].setPlainText("MTU mismatch")
    form.root_cause.setPlainText("MTU mismatch after ISP change")
    moves = [a.data() for a in form.move_menu.actions()]
    assert moves == ["investigating", "root_cause_known"]
    form.move_menu.actions()[1].trigger()
    problem = Problem.get_by_id(problem.id)
    assert problem.status == "root_cause_known" and problem.rca["cause"] == "MTU mismatch"
    assert problem.root_cause == "MTU mismatch after ISP change"
    assert form.status_badge.text() == "Root cause known" and not form.dirty

    opened = []
    monkeypatch.setattr(ctx, "open_record", lambda *a: opened.append(a))
    form.raise_rfc()
    change = Change.get(Change.problem == problem.id)
    assert change.title.startswith(f"Fix {problem.ref}") and opened == [("change", change.id)]
    assert form.change_model.rowCount() == 1

    form.record_known_error()
    assert form.ke_model.rowCount() == 1 and opened[-1][0] == "known_error"
    ke = problems.get_known_error(opened[-1][1])
    assert ke.problem_id == problem.id and ke.root_cause == "MTU mismatch after ISP change"

    form.solution.setPlainText("Set MTU 1380 on the gateway")
    form.move_to("resolved")
    assert Problem.get_by_id(problem.id).status == "resolved"
    assert form.data.fix_implemented and form.data.open_incidents == 3
    asked = []

    def yes(*a, **k):
        asked.append(a[2])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    form.close_problem()
    assert asked and "Resolve its 3 open linked incident(s)" in asked[0]
    assert Problem.get_by_id(problem.id).status == "closed"
    assert all(i.status == "resolved" for i in
               Incident.select().where(Incident.problem == problem.id))
    assert form.status_badge.text() == "Closed" and not form.close_button.isEnabled()
    assert [a.data() for a in form.move_menu.actions()] == ["investigating"]


def test_unlink_and_resolve_open_incidents(ctx, qtbot, monkeypatch):
    _srv, incs = _setup()
    prb = problems.create_problem({"title": "VPN drops", "workaround": "Use 4G"})
    problems.link_incidents(prb.id, [i.id for i in incs])
    form = _form(ctx, qtbot, prb.id)
    assert form.incident_model.rowCount() == 3 and form.resolve_button.isEnabled()
    form.incident_table.selectRow(0)
    first = form.incident_model.row(0).id
    form.unlink_selected()
    assert Incident.get_by_id(first).problem_id is None
    assert form.incident_model.rowCount() == 2
    # an incident changed by someone since the form read it: the unlink conflicts
    second = form.incident_model.row(0)
    incidents.update_incident(second.id, second.version, {"urgency": 1})
    shown = []
    monkeypatch.setattr("itsmdesk.views.forms.base.show_error",
                        lambda _w, e: shown.append(str(e)))
    form.incident_table.selectRow(0)
    form.unlink_selected()
    assert shown and "after you opened it" in shown[0]
    assert Incident.get_by_id(second.id).problem_id == prb.id
    assert form.incident_model.row(0).version == second.version + 1  # reloaded
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    form.resolve_open_incidents()
    assert Incident.select().where((Incident.problem == prb.id)
                                   & (Incident.status == "resolved")).count() == 2
    assert not form.resolve_button.isEnabled()


def test_validation_error_is_shown_not_raised(ctx, qtbot, monkeypatch):
    import itsmdesk.views.forms.base as base

    shown = []
    monkeypatch.setattr(base, "show_error", lambda parent, exc: shown.append(str(exc)))
    form = _form(ctx, qtbot)
    form.title_edit.setText("x")
    form.ci_edit.setText("no-such-ci")
    form.save()
    assert shown == ["No CI is named 'no-such-ci'"] and form.record_id is None and form.dirty
    assert Problem.select().count() == 0
    # a move the lifecycle refuses is a sentence too, and nothing changes
    prb = problems.create_problem({"title": "y"})
    form = _form(ctx, qtbot, prb.id)
    monkeypatch.setattr("itsmdesk.views.forms.base.show_error",
                        lambda parent, exc: shown.append(str(exc)))
    form.move_to("root_cause_known")
    assert shown[-1] == "Record the root cause before marking it known"
    assert Problem.get_by_id(prb.id).status == "new"


def test_problem_form_opens_filled_and_saves_only_changes(ctx, qtbot, gui_sql):
    from itsmdesk.services import history, people
    from itsmdesk.services.problem import rca

    srv, incs = _setup()
    other = cmdb.create_ci({"name": "vpn-gw-2", "ci_class": "server"})
    shop = cmdb.create_ci({"name": "Shop", "ci_class": "business_service"})
    team = people.create_team({"name": "Network"})
    prb = problems.create_problem({"title": "VPN drops", "ci": srv.id, "service": shop.id,
                                   "team": team.id, "priority": 2, "category": "Network",
                                   "description": "Home users lose VPN",
                                   "rca": {"symptoms": "Drops every 5 min"}}, cis=[srv])
    problems.link_incidents(prb.id, [incs[0].id])
    gui_sql.clear()
    form = _form(ctx, qtbot, prb.id)
    # (a) opening fills the form
    assert form.title_edit.text() == "VPN drops" and form.ref_label.text() == prb.ref
    assert form.priority.value() == 2 and form.category.text() == "Network"
    assert form.service.currentText() == "Shop" and form.team.currentText() == "Network"
    assert form.ci_edit.text() == "vpn-gw" and form.cis_edit.text() == "vpn-gw"
    assert form.description.toPlainText() == "Home users lose VPN"
    assert form.rca_edits["symptoms"].toPlainText() == "Drops every 5 min"
    assert form.incident_model.rowCount() == 1 and form.status_badge.text() == "New"
    assert not form.dirty and form.edits() == {}
    # (b) an edit saves only what changed, the affected CIs in the same write
    form.workaround.setPlainText("Use the 4G hotspot")
    form.cis_edit.setText("vpn-gw, vpn-gw-2")
    form.rca_edits["cause"].setPlainText("MTU")
    assert form.dirty and form.tab_title().endswith("•")
    assert form.edits() == {"workaround": "Use the 4G hotspot",
                            "ci_names": ["vpn-gw", "vpn-gw-2"], "rca": {"cause": "MTU"}}
    form.save()
    assert gui_sql.statements == []  # (e) open, edit, save: nothing on the GUI thread
    saved = Problem.get_by_id(prb.id)
    assert saved.workaround == "Use the 4G hotspot" and saved.version == prb.version + 1
    assert saved.rca == {"symptoms": "Drops every 5 min", "hypotheses": "", "evidence": "",
                         "cause": "MTU"}
    assert saved.root_cause == "MTU"  # a stated cause fills an empty root cause
    assert [n for _i, n in problems.affected_ci_names("problem", prb.id)] == ["vpn-gw",
                                                                              "vpn-gw-2"]
    assert saved.title == "VPN drops" and saved.priority == 2 and saved.team_id == team.id
    latest = [e for e in history.named_history("problem", prb.id) if e.version == saved.version]
    assert {(e.action, e.field) for e in latest} == {
        ("set", "workaround"), ("set", "rca"), ("set", "root_cause"), ("added", "problem_ci")}
    assert any(e.new == "vpn-gw-2" for e in latest)
    assert not form.dirty and form.data.version == saved.version
    # (f) the history tab names the CI, not its id
    gui_sql.clear()
    form.tabs.setCurrentWidget(form.history)
    form.history.refresh()
    assert gui_sql.statements == []
    added = [e.new for e in form.history.entries if e.action == "added"]
    assert "vpn-gw-2" in added and str(other.id) not in str(form.history.entries)
    texts = [form.history.tree.topLevelItem(i).text(5)
             for i in range(form.history.tree.topLevelItemCount())]
    assert "vpn-gw-2" in texts and not any(str(other.id) in t for t in texts)
    assert rca.notes(saved)["cause"] == "MTU"


def test_problem_form_stale_edit_merges(ctx, qtbot, monkeypatch):
    from itsmdesk.views.forms.merge_dialog import MergeDialog

    prb = problems.create_problem({"title": "VPN drops", "priority": 3})
    form = _form(ctx, qtbot, prb.id)
    # someone else saves the record after the form read it
    problems.update_problem(prb.id, prb.version, {"title": "VPN drops at night", "priority": 1,
                                                  "category": "Network"})
    form.title_edit.setText("VPN drops for home users")
    form.workaround.setPlainText("Use 4G")
    seen = {}

    def pick(dialog):
        seen["conflicts"] = list(dialog.conflicts)
        dialog.choose_mine("title")
        return True

    monkeypatch.setattr(MergeDialog, "exec", pick)
    form.save()
    assert seen["conflicts"] == ["title"]
    saved = Problem.get_by_id(prb.id)
    assert saved.title == "VPN drops for home users" and saved.workaround == "Use 4G"
    assert saved.priority == 1 and saved.category == "Network"  # theirs kept
    assert form.priority.value() == 1 and not form.dirty and form.data.version == saved.version


def test_problem_form_can_close_asks(ctx, qtbot, monkeypatch):
    prb = problems.create_problem({"title": "VPN drops"})
    form = _form(ctx, qtbot, prb.id)
    assert form.can_close()  # nothing typed: closes without asking
    closed = []
    form.close_form = closed.append  # the window that would close the tab
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
    form.category.setText("Network")
    assert not form.can_close() and closed == [] and form.dirty  # Cancel: the tab stays
    assert not form.can_close()  # Save: saves, then closes
    assert Problem.get_by_id(prb.id).category == "Network" and closed == [form]
    form.category.setText("Other")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert form.can_close()  # Discard: closes, nothing saved
    assert Problem.get_by_id(prb.id).category == "Network"


def test_problem_form_actions_never_touch_the_database_on_the_gui_thread(ctx, qtbot, gui_sql,
                                                                          monkeypatch):
    _srv, incs = _setup()
    prb = problems.create_problem({"title": "VPN drops"})
    monkeypatch.setattr(ctx, "open_record", lambda *a: None)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    gui_sql.clear()
    form = _form(ctx, qtbot, prb.id)
    form.link_edit.setText(" ".join(i.ref for i in incs))
    form.link_incidents()
    form.incident_table.selectRow(0)
    form.unlink_selected()
    form.root_cause.setPlainText("MTU")
    form.move_to("root_cause_known")
    form.raise_rfc()
    form.record_known_error()
    form.solution.setPlainText("Set the MTU")
    form.move_to("resolved")
    form.resolve_open_incidents()
    form.close_problem()
    form.history.refresh()
    assert form.data.status == "closed" and form.incident_model.rowCount() == 2
    assert gui_sql.statements == []
    # a new problem's pickers come from a query too
    new = _form(ctx, qtbot)
    new.title_edit.setText("Another")
    new.save()
    assert gui_sql.statements == [] and new.data is not None


def test_problem_read_model_and_save_query_counts(ctx, monkeypatch):
    from itsmdesk.services import people

    srv, incs = _setup()
    people.create_team({"name": "Network"})
    prb = problems.create_problem({"title": "VPN drops", "ci": srv.id}, cis=[srv])
    problems.link_incidents(prb.id, [i.id for i in incs])
    for inc in incs:
        incidents.add_work_log(inc.id, "looked at it")
    view, n = _count_statements(monkeypatch, problems.problem_view, prb.id)
    assert len(view.incidents) == 3 and view.ci_name == "vpn-gw" and view.choices.teams
    assert sum(e.kind == "work_log" for e in view.timeline) == 3
    assert n <= 8, n
    _p, n = _count_statements(monkeypatch, problems.save_problem, prb.id, view.version,
                              {"workaround": "4G", "ci_names": []}, problems.SYSTEM, None)
    assert n <= 16, n


def test_problem_form_screenshot(demo_ctx, qtbot, tmp_path):
    problem = Problem.select().where(Problem.status == "root_cause_known").first()
    form = _form(demo_ctx, qtbot, problem.id)
    form.resize(1400, 900)
    form.show()
    assert form.incident_model.rowCount() > 0
    assert form.title_edit.text() == problem.title
    form.grab().save(str(tmp_path / "problem_form.png"))
    assert (tmp_path / "problem_form.png").stat().st_size > 5000


def test_known_error_form_roundtrip(ctx, qtbot, monkeypatch):
    from itsmdesk.views.problems.known_error_form import KnownErrorForm

    cmdb.create_ci({"name": "mail-01", "ci_class": "server"})
    cmdb.create_ci({"name": "mail-02", "ci_class": "server"})
    prb = problems.create_problem({"title": "Outlook crashes"})
    form = KnownErrorForm(ctx, None)
    qtbot.addWidget(form)
    form.title_edit.setText("Outlook crashes after update")
    assert form.dirty and form.tab_title().endswith("•")
    form.error_code.setText("OL-22")
    form.problem_edit.setText(prb.ref)
    form.cis_edit.setText("mail-01")
    form.workaround.setPlainText("Disable the add-in")
    form.save()
    ke = problems.list_known_errors()[0]
    assert ke["error_code"] == "OL-22" and ke["workaround"] == "Disable the add-in"
    assert ke["id"] == form.new_id == form.record_id  # created with the key chosen at open
    assert form.loaded and not form.dirty and form.title().startswith("KE-")
    assert problems.affected_ci_names("known_error", ke["id"])[0][1] == "mail-01"
    # an edit saves only what changed, with the CIs, in one write
    form.cis_edit.setText("mail-01, mail-02")
    form.symptom.setPlainText("Crash on start")
    assert form.edits() == {"ci_names": ["mail-01", "mail-02"], "symptom": "Crash on start"}
    form.save()
    assert [n for _i, n in problems.affected_ci_names("known_error", ke["id"])] == ["mail-01", "mail-02"]
    assert form.data.version == 2 and not form.dirty
    # the history tab names the CIs, not their ids
    form.history.refresh()
    added = [e.new for e in form.history.entries if e.action == "added"]
    assert "mail-02" in added
    # an unknown problem reference is refused with a sentence; nothing changes
    form.problem_edit.setText("PRB-999999")
    messages = []
    import itsmdesk.views.forms.base as base

    monkeypatch.setattr(base, "show_error", lambda _w, e: messages.append(str(e)))
    form.save()
    assert messages == ["No problem PRB-999999"] and form.dirty
    assert problems.known_error_view(ke["id"]).problem_ref == prb.ref


def test_known_error_form_never_touches_the_database_on_the_gui_thread(ctx, qtbot, gui_sql):
    from itsmdesk.views.problems.known_error_form import KnownErrorForm

    ke = problems.create_known_error({"title": "Printer offline", "workaround": "Power cycle"})
    gui_sql.clear()
    form = KnownErrorForm(ctx, ke.id)
    qtbot.addWidget(form)
    assert form.loaded and form.workaround.toPlainText() == "Power cycle"
    form.workaround.setPlainText("Power cycle twice")
    form.save()
    form.history.refresh()
    assert form.data.workaround == "Power cycle twice"
    assert gui_sql.statements == []
    problems.list_known_errors()  # what the guard is for: a direct call from the GUI thread
    assert gui_sql.statements


def test_problems_panel_lists_and_candidates(ctx, qtbot, monkeypatch):
    from itsmdesk.views.problems.panel import ProblemsPanel

    srv, incs = _setup()
    problems.create_problem({"title": "Unrelated printer problem"})
    panel = ProblemsPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()  # a hidden dock reads nothing until it is shown
    assert panel.problem_model.rowCount() == 1
    panel.tabs.setCurrentIndex(2)
    assert panel.candidate_model.rowCount() == 1
    assert panel.candidate_model.row(0)["name"] == "vpn-gw"
    assert panel.candidate_limits.text() == (
        "At most the newest 400 incidents per CI or service are compared; at most 100 groups "
        "are shown, the biggest first.")
    import datetime as dt

    from itsmdesk.services.problem.recurring import CandidateReport

    now = dt.datetime(2026, 1, 1)
    panel._show_candidates(CandidateReport(panel.candidates, now, now, 1, 5, 4, 2, 37))
    assert panel.candidate_limits.text() == (
        "At most the newest 5 incidents per CI or service are compared; at most 1 groups are "
        "shown, the biggest first. 2 CI(s) or service(s) had more: their older incidents (37) "
        "were not compared. Showing 1 of 4 groups.")
    panel.refresh()
    opened = []
    monkeypatch.setattr(ctx, "open_record", lambda kind, rid: opened.append((kind, rid)))
    panel.candidate_table.selectRow(0)
    panel.create_from_candidate()
    assert opened and opened[0][0] == "problem"
    assert Incident.select().where(Incident.problem == opened[0][1]).count() == 3
    panel.refresh()
    assert panel.candidate_model.rowCount() == 0
    panel.tabs.setCurrentIndex(0)
    assert panel.problem_model.rowCount() == 2


def test_link_dialog_links_selection(ctx, qtbot):
    from itsmdesk.views.problems.link_dialog import LinkToProblemDialog

    _srv, incs = _setup()
    prb = problems.create_problem({"title": "VPN drops"})
    dialog = LinkToProblemDialog(ctx, [i.id for i in incs[:2]])
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == 1
    dialog.table.selectRow(0)
    dialog.accept()
    assert dialog.problem_id == prb.id
    assert Incident.select().where(Incident.problem == prb.id).count() == 2
    other = LinkToProblemDialog(ctx, [incs[2].id])
    qtbot.addWidget(other)
    other._new_problem()
    assert Problem.get_by_id(other.problem_id).title == incs[2].title


def test_known_error_form_asks_before_closing_with_unsaved_edits(ctx, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from itsmdesk.views.problems.known_error_form import KnownErrorForm

    ke = problems.create_known_error({"title": "Printer offline"})
    form = KnownErrorForm(ctx, ke.id)
    qtbot.addWidget(form)
    assert form.can_close()  # nothing typed: closes without asking
    form.workaround.setPlainText("Power cycle")
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save])
    asked = []

    def answer(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        asked.append(True)
        return next(answers)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    assert not form.can_close() and form.dirty  # Cancel: stays, edits kept
    closed = []
    monkeypatch.setattr(form, "_close_now", lambda: closed.append(True))
    assert not form.can_close()  # Save: the tab closes once saved
    assert closed and problems.known_error_view(ke.id).workaround == "Power cycle"
    assert len(asked) == 2
