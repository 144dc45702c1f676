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


def test_create_problem_link_incidents_and_close(ctx, qtbot, monkeypatch):
    from itsmdesk.views.forms.problem_form import ProblemForm

    srv, incs = _setup()
    form = ProblemForm(ctx, None)
    qtbot.addWidget(form)
    assert form.title() == "New problem" and not form.rfc_button.isEnabled()
    form.title_edit.setText("VPN drops")
    form.ci_edit.setText("vpn-gw")
    form.description.setPlainText("Home users lose VPN")
    with qtbot.waitSignal(ctx.sig_records_changed):
        assert form.save()
    problem = Problem.get(Problem.title == "VPN drops")
    assert problem.ci_id == srv.id and problem.description == "Home users lose VPN"
    assert form.title().startswith(problem.ref) and form.rfc_button.isEnabled()

    form.tabs.setCurrentIndex(2)
    form.link_edit.setText(f"{incs[0].ref}, {incs[1].ref} {incs[2].ref}")
    form.link_incidents()
    assert form.incident_model.rowCount() == 3
    assert Incident.select().where(Incident.problem == problem.id).count() == 3
    assert form.timeline_model.rowCount() >= 4  # created + three incidents opened

    # RCA notes and a status step in one save
    form.rca_edits["cause"].setPlainText("MTU mismatch")
    form.status_combo.setCurrentIndex(form.status_combo.findData("root_cause_known"))
    form.root_cause.setPlainText("MTU mismatch after ISP change")
    assert form.save()
    problem = Problem.get_by_id(problem.id)
    assert problem.status == "root_cause_known" and problem.rca["cause"] == "MTU mismatch"

    monkeypatch.setattr(ctx, "open_record", lambda *a: None)
    form.raise_rfc()
    change = Change.get(Change.problem == problem.id)
    assert change.title.startswith(f"Fix {problem.ref}")
    assert form.change_model.rowCount() == 1

    form.solution.setPlainText("Set MTU 1380 on the gateway")
    form.status_combo.setCurrentIndex(form.status_combo.findData("resolved"))
    assert form.save()
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    form.close_problem()
    assert Problem.get_by_id(problem.id).status == "closed"
    assert all(i.status == "resolved" for i in
               Incident.select().where(Incident.problem == problem.id))
    assert form.status_badge.text() == "Closed"


def test_validation_error_is_shown_not_raised(ctx, qtbot, monkeypatch):
    from itsmdesk.views.forms.problem_form import ProblemForm

    shown = []
    monkeypatch.setattr("itsmdesk.views.forms.problem_form.show_error",
                        lambda parent, exc: shown.append(str(exc)))
    form = ProblemForm(ctx, None)
    qtbot.addWidget(form)
    form.title_edit.setText("x")
    form.ci_edit.setText("no-such-ci")
    assert not form.save()
    assert shown and "no-such-ci" in shown[0]


def test_problem_form_screenshot(demo_ctx, qtbot, tmp_path):
    from itsmdesk.views.forms.problem_form import ProblemForm

    problem = Problem.select().where(Problem.status == "root_cause_known").first()
    form = ProblemForm(demo_ctx, problem.id)
    qtbot.addWidget(form)
    form.resize(1000, 650)
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
    assert panel.problem_model.rowCount() == 1
    panel.tabs.setCurrentIndex(2)
    assert panel.candidate_model.rowCount() == 1
    assert panel.candidate_model.row(0)["name"] == "vpn-gw"
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
