"""Who may do what (services/permissions.py), on SQLite and PostgreSQL: each rule refused for a
person without the role (nothing written) and allowed with it."""

from __future__ import annotations

import pytest

from itsmdesk.errors import PermissionDeniedError
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import accounts, permissions
from itsmdesk.services.change import cab
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import incidents, queues
from tests.change_helpers import change, ci

PASSWORD = "a long password"


@pytest.fixture
def team(db):
    """A database with accounts: an administrator and one person per role."""
    accounts.create_account("boss", "Boss", PASSWORD, ["administrator"])
    admin = _actor("boss")
    people = {}
    for role in ("requester", "agent", "team_lead", "change_manager", "cab_member",
                 "cmdb_owner", "release_manager", "problem_manager"):
        login = role.replace("_", "")
        accounts.create_account(login, role.title(), PASSWORD, [role], admin)
        people[role] = _actor(login)
    people["administrator"] = admin
    return people


def _actor(login: str) -> Actor:
    from itsmdesk.models.people import Person

    return Actor.for_person(Person.get(Person.login == login))


def _refused(fn, *args, role: str, **kwargs) -> None:
    before = JournalEntry.select().count()
    with pytest.raises(PermissionDeniedError) as err:
        fn(*args, **kwargs)
    assert err.value.role == role or role == ""
    assert JournalEntry.select().count() == before  # nothing written


def test_only_cmdb_owners_edit_cis(team):
    server = ci("srv-1")
    _refused(cmdb.update_ci, server.id, server.version, {"criticality": "high"},
             team["agent"], role="cmdb_owner")
    _refused(cmdb.create_ci, {"name": "x", "ci_class": "server"}, team["change_manager"],
             role="cmdb_owner")
    row = cmdb.update_ci(server.id, server.version, {"criticality": "high"}, team["cmdb_owner"])
    assert row.criticality == "high"


def test_only_cab_members_vote_and_the_change_manager_records_others(team):
    rfc = change("Patch", status="awaiting_cab", type="normal")
    voter = team["cab_member"]
    _refused(change_service.cast_vote, rfc.id, team["agent"].person_id, "approve",
             actor=team["agent"], role="cab_member")
    _refused(change_service.cast_vote, rfc.id, voter.person_id, "approve",
             actor=team["agent"], role="change_manager")  # someone else's vote
    assert change_service.cast_vote(rfc.id, voter.person_id, "approve", actor=voter).vote \
        == "approve"
    assert change_service.cast_vote(rfc.id, voter.person_id, "reject",
                                    actor=team["change_manager"]).vote == "reject"


def test_only_the_change_manager_approves_schedules_and_decides(team):
    rfc = change("Patch", status="approved", type="normal")
    _refused(change_service.transition, rfc.id, None, "scheduled", team["agent"],
             role="change_manager")
    _refused(change_service.transition, rfc.id, None, "scheduled", team["cab_member"],
             role="change_manager")
    assert change_service.transition(rfc.id, None, "scheduled",
                                     team["change_manager"]).status == "scheduled"
    waiting = change("Other", status="awaiting_cab", type="normal")
    _refused(change_service.transition, waiting.id, None, "rejected", team["cab_member"],
             role="change_manager")
    # the lifecycle's "cab" role is a change manager's to use (no more free --role flag)
    with pytest.raises(PermissionDeniedError, match="change manager"):
        change_service.transition(waiting.id, None, "rejected", team["agent"], role="cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": rfc.planned_start},
                                 team["change_manager"])
    _refused(cab.decide, meeting.id, waiting.id, actor=team["cab_member"], role="change_manager")
    _refused(cab.decide, meeting.id, waiting.id, actor=team["agent"], decision="rejected",
             reason="too risky", role="change_manager")
    cab.decide(meeting.id, waiting.id, actor=team["change_manager"], decision="rejected",
               reason="too risky")
    assert change_service.get_change(waiting.id).status == "rejected"


def test_only_an_administrator_manages_people(team):
    _refused(accounts.create_account, "eve", "Eve", PASSWORD, ["agent"], team["team_lead"],
             role="administrator")
    _refused(accounts.set_roles, "agent", ["administrator"], (), team["agent"],
             role="administrator")
    _refused(accounts.set_password, "agent", "new long password", team["cab_member"],
             role="administrator")
    _refused(accounts.list_accounts, team["agent"], role="administrator")
    accounts.set_roles("agent", ["cab_member"], (), team["administrator"])
    assert _actor("agent").roles == {"agent", "cab_member"}


def test_private_saved_queue_is_its_owners(team):
    mine = queues.save_queue("Mine", [], actor=team["agent"])
    _refused(queues.save_queue, "Taken", [], actor=team["team_lead"], queue_id=mine.id,
             version=mine.version, role="")
    _refused(queues.delete_queue, mine.id, mine.version, team["administrator"], role="")
    _refused(queues.save_queue, "Shared", [], shared=True, actor=team["agent"],
             role="team_lead")
    queues.save_queue("Mine too", [], actor=team["agent"], queue_id=mine.id,
                      version=mine.version)
    shared = queues.save_queue("Team", [], shared=True, actor=team["team_lead"])
    queues.delete_queue(shared.id, shared.version, team["administrator"])


def test_team_lead_moves_tickets_across_teams_and_requesters_only_their_own(team):
    from itsmdesk.services import people

    desk = people.create_team({"name": "Desk"}, actor=team["administrator"])
    net = people.create_team({"name": "Network"}, actor=team["administrator"])
    inc = incidents.create_incident({"title": "Printer", "team": desk.id}, team["agent"])
    _refused(incidents.update_incident, inc.id, inc.version, {"team": net.id}, team["agent"],
             role="team_lead")
    inc = incidents.update_incident(inc.id, inc.version, {"team": net.id}, team["team_lead"])
    assert inc.team_id == net.id
    # an agent escalates (with a reason) instead
    inc = incidents.escalate_to_team(inc.id, inc.version, desk.id, "back to the desk",
                                     team["agent"])
    requester = team["requester"]
    own = incidents.create_incident({"title": "My laptop", "caller": requester.person_id},
                                    requester)
    incidents.update_incident(own.id, own.version, {"description": "It beeps"}, requester)
    _refused(incidents.update_incident, inc.id, inc.version, {"description": "x"}, requester,
             role="agent")
    _refused(incidents.update_incident, own.id, own.version + 1, {"priority": 1}, requester,
             role="agent")
    _refused(incidents.add_work_log, own.id, "internal", requester, public=False, role="agent")
    incidents.add_work_log(own.id, "Any news?", requester, public=True)
    assert permissions.allowed(requester, "ticket.see", own)
    assert not permissions.allowed(requester, "ticket.see", inc)
    assert permissions.ticket_filter_for(requester) == requester.person_id
    assert permissions.ticket_filter_for(team["agent"]) is None


def test_refusal_names_the_action_and_the_role(team):
    with pytest.raises(PermissionDeniedError) as err:
        permissions.require(team["agent"], "ci.edit")
    assert str(err.value) == ("Agent may not edit configuration items and their relations: "
                              "that needs the role CMDB owner.")
    assert permissions.allowed(team["cmdb_owner"], "ci.edit")
    assert not permissions.allowed(Actor(), "ticket.create")  # nobody signed in: nothing
