"""What the person signed in may not do is greyed out, naming the role, and follows sign-in:
CAB votes (one's own as a CAB member, anyone's as the change manager), the release and problem
forms' lifecycle buttons, the SLA, priority-matrix and category editors; and the services refuse
the same writes (categories, calendars, SLA targets, the priority matrix)."""

from __future__ import annotations

import pytest

from itsmdesk.errors import PermissionDeniedError
from itsmdesk.models.people import Person
from itsmdesk.services import accounts
from itsmdesk.services.change import cab
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import calendars, categories, priority, sla

pytestmark = pytest.mark.gui
PASSWORD = "a long password"


def _actor(login: str) -> Actor:
    return Actor.for_person(Person.get(Person.login == login))


@pytest.fixture
def team(ctx):
    accounts.create_account("boss", "Boss", PASSWORD, ["administrator"])
    admin = _actor("boss")
    for login, name, roles in (("ann", "Ann Member", ["cab_member"]),
                               ("bo", "Bo Member", ["cab_member"]),
                               ("chair", "Chair Person", ["change_manager"]),
                               ("olle", "Olle Agent", ["agent"]),
                               ("lead", "Lea Lead", ["team_lead"]),
                               ("rita", "Rita Release", ["release_manager"]),
                               ("pia", "Pia Problem", ["problem_manager"]),
                               ("req", "Rolf Requester", ["requester"])):
        accounts.create_account(login, name, PASSWORD, roles, admin)
    return {login: _actor(login) for login in
            ("boss", "ann", "bo", "chair", "olle", "lead", "rita", "pia", "req")}


def test_a_member_sets_only_their_own_vote_unless_change_manager(ctx, qtbot, team):
    from itsmdesk.views.changes.cab_meeting_form import CABMeetingForm
    from tests.change_helpers import T0, change

    for login in ("ann", "bo"):
        cab.add_member(team[login].person_id)
    rfc = change("Router firmware", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "Weekly CAB", "starts_at": T0}, changes=[rfc])
    ctx.set_actor(team["ann"])
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    assert form.loaded and form.vote_table.rowCount() == 1
    columns = {p.name: c for c, p in enumerate(form.members, 1)}
    own = form.vote_table.cellWidget(0, columns["Ann Member"])
    other = form.vote_table.cellWidget(0, columns["Bo Member"])
    assert own.isEnabled() and not other.isEnabled()
    assert other.toolTip() == "Needs the role change manager"
    own.setCurrentIndex(own.findData("approve"))
    assert cab.outcome(rfc.id, meeting.id).approve == 1
    ctx.set_actor(team["chair"])  # the chair records the board's votes
    boxes = [form.vote_table.cellWidget(0, c) for c in columns.values()]
    assert all(box.isEnabled() for box in boxes)
    ctx.set_actor(team["olle"])
    boxes = [form.vote_table.cellWidget(0, c) for c in columns.values()]
    assert not any(box.isEnabled() for box in boxes)
    assert {box.toolTip() for box in boxes} == {"Needs the role change manager"}


def test_release_lifecycle_buttons_need_the_release_manager(ctx, qtbot, team):
    from itsmdesk.views.releases.release_form import ReleaseForm
    from tests.release_helpers import build_release

    made = build_release(n_sites=1)
    ctx.set_actor(team["olle"])
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    assert form.loaded and form.transition_combo.count() > 0
    assert not form.transition_button.isEnabled()
    assert form.transition_button.toolTip() == "Needs the role release manager"
    ctx.set_actor(team["rita"])
    assert form.transition_button.isEnabled()
    form.steps_table.clearSelection()
    form._set_enabled()
    assert not form.delete_step_button.isEnabled()  # nothing selected: the state still decides
    ctx.set_actor(team["olle"])
    ctx.set_actor(team["rita"])
    assert not form.delete_step_button.isEnabled()


def test_problem_buttons_follow_manage_and_close(ctx, qtbot, team):
    from itsmdesk.services.problem import problems
    from itsmdesk.views.problems.problem_form import ProblemForm

    row = problems.create_problem({"title": "VPN drops"}, team["pia"])
    ctx.set_actor(team["olle"])  # an agent works on problems but does not close them
    form = ProblemForm(ctx, row.id)
    qtbot.addWidget(form)
    assert form.loaded
    assert form.rfc_button.isEnabled() and form.ke_button.isEnabled()
    assert not form.close_button.isEnabled()
    assert form.close_button.toolTip() == "Needs the role problem manager"
    ctx.set_actor(team["req"])
    assert not form.rfc_button.isEnabled() and not form.move_button.isEnabled()
    ctx.set_actor(team["pia"])
    assert form.rfc_button.isEnabled() and form.move_button.isEnabled()


def test_settings_dialogs_need_their_roles(ctx, qtbot, team):
    from itsmdesk.views.dialogs.diagnostic_editor import DiagnosticEditorDialog
    from itsmdesk.views.dialogs.settings_dialogs import MatrixDialog, SlaDialog

    ctx.set_actor(team["olle"])
    sla_dialog, matrix, editor = SlaDialog(ctx), MatrixDialog(ctx), DiagnosticEditorDialog(ctx)
    for widget in (sla_dialog, matrix, editor):
        qtbot.addWidget(widget)
    assert sla_dialog.settings is not None and not sla_dialog.save_button.isEnabled()
    assert sla_dialog.save_button.toolTip() == "Needs the role team lead"
    assert not matrix.save_button.isEnabled()
    assert matrix.save_button.toolTip() == "Needs the role administrator"
    assert not editor.new_category_button.isEnabled()
    ctx.set_actor(team["lead"])
    assert sla_dialog.save_button.isEnabled() and editor.new_category_button.isEnabled()
    assert not matrix.save_button.isEnabled()
    ctx.set_actor(team["boss"])
    assert matrix.save_button.isEnabled()


def test_services_refuse_catalogue_writes_without_the_role(ctx, team):
    agent, lead = team["olle"], team["lead"]
    for call in (lambda a: categories.create_category("Printers", "incident", a),
                 lambda a: calendars.create_calendar({"name": "Office"}, a),
                 lambda a: sla.set_target("incident", 2, 30, 300, actor=a),
                 lambda a: sla.set_escalate_pct(60, a)):
        with pytest.raises(PermissionDeniedError) as refused:
            call(agent)
        assert refused.value.role == "team_lead"
        call(lead)
    with pytest.raises(PermissionDeniedError):
        priority.set_matrix(dict(priority.DEFAULT_MATRIX), lead)
    priority.set_matrix(dict(priority.DEFAULT_MATRIX), team["boss"])
