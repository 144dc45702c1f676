"""RFC lifecycle rules: types, states, roles, CAB approval, announcements, reschedule."""

from __future__ import annotations

import datetime as dt

import pytest

from itsmdesk.errors import ConflictError, TransitionError, ValidationError
from itsmdesk.models.change import Change
from itsmdesk.services import records
from itsmdesk.services.change import cab
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.change import lifecycle as change_lifecycle
from tests.change_helpers import T0, change, person, stack


def test_rules_per_type():
    nexts = {r.target for r in change_lifecycle.allowed_next("submitted", "standard")}
    assert "approved" in nexts and "awaiting_cab" not in nexts
    nexts = {r.target for r in change_lifecycle.allowed_next("submitted", "normal")}
    assert "assessed" in nexts and "approved" not in nexts
    nexts = {r.target for r in change_lifecycle.allowed_next("submitted", "emergency")}
    assert "awaiting_cab" in nexts
    assert "implementing" in {r.target for r in change_lifecycle.allowed_next("approved",
                                                                               "emergency")}
    assert "implementing" not in {r.target for r in change_lifecycle.allowed_next("approved",
                                                                                   "normal")}
    # emergency changes must pass the retrospective review
    assert "closed" not in {r.target for r in change_lifecycle.allowed_next("implemented",
                                                                             "emergency")}
    with pytest.raises(TransitionError):
        change_lifecycle.check("scheduled", "implementing", "normal", role="requester")


def test_standard_change_walks_without_cab(db):
    c = change("Patch", type="standard")
    for status in ("submitted", "approved", "scheduled", "implementing", "implemented", "closed"):
        c = change_service.transition(c.id, None, status)
    c = Change.get_by_id(c.id)
    assert c.status == "closed" and c.actual_start and c.actual_end and c.closed_at
    fields = [e.new for e in records.field_history("change", c.id, ["status"])]
    assert fields == ["draft", "submitted", "approved", "scheduled", "implementing", "implemented",
                      "closed"]


def test_standard_change_is_refused_on_a_cab_agenda(db):
    """Pre-approved: a standard change never goes before the CAB; the meeting is not created
    (or the agenda not changed) and the message names the change."""
    from itsmdesk.models.change import CABAgendaItem, CABMeeting

    std = change("Patch", type="standard")
    normal = change("Upgrade")
    with pytest.raises(ValidationError) as refused:
        cab.create_meeting({"title": "CAB", "starts_at": T0}, changes=[normal.id, std.id])
    assert std.ref in refused.value.message
    assert CABMeeting.select().count() == 0 and CABAgendaItem.select().count() == 0
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0}, changes=[normal.id])
    with pytest.raises(ValidationError):
        cab.add_to_agenda(meeting.id, std.id)
    assert [i.change_id for i in CABAgendaItem.select()] == [normal.id]


def test_wrong_transition_refused(db):
    c = change("Upgrade")
    with pytest.raises(TransitionError):
        change_service.transition(c.id, None, "implementing")
    assert Change.get_by_id(c.id).status == "draft"


def test_submission_needs_plans(db):
    c = change("No plans", implementation_plan=None)
    with pytest.raises(ValidationError):
        change_service.transition(c.id, None, "submitted")


def test_normal_change_needs_cab_quorum(db):
    members = [person(n) for n in ("Ann A", "Bo B", "Cy C", "Di D")]
    for m in members:
        cab.add_member(m.id)
    c = change("Router firmware")
    for status in ("submitted", "assessed", "awaiting_cab"):
        change_service.transition(c.id, None, status)
    with pytest.raises(ValidationError):
        change_service.transition(c.id, None, "approved")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0 - dt.timedelta(days=1)},
                                 attendees=members)
    assert [i.change_id for i in cab.build_agenda(meeting.id)] == [c.id]
    cab.vote(meeting.id, c.id, members[0].id, "approve")
    cab.vote(meeting.id, c.id, members[1].id, "approve")
    assert cab.outcome(c.id, meeting.id).decision == "deferred"  # 2 of 3: no quorum
    cab.vote(meeting.id, c.id, members[2].id, "reject", "test plan thin")
    result = cab.decide(meeting.id, c.id, conditions="Only after backup")
    assert result.decision == "approved" and (result.approve, result.reject) == (2, 1)
    c = Change.get_by_id(c.id)
    assert c.status == "approved"
    item = cab.agenda(meeting.id)[0]
    assert item.decision == "approved" and item.conditions == "Only after backup"


def test_tie_defers_and_majority_rejects(db):
    members = [person(n) for n in ("Ann A", "Bo B", "Cy C", "Di D")]
    for m in members:
        cab.add_member(m.id)
    c = change("Tie", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0})
    for m, v in zip(members, ("approve", "approve", "reject", "reject"), strict=True):
        cab.vote(meeting.id, c.id, m.id, v)
    assert cab.outcome(c.id, meeting.id).decision == "deferred"
    cab.vote(meeting.id, c.id, members[0].id, "reject")
    assert cab.decide(meeting.id, c.id).decision == "rejected"
    assert Change.get_by_id(c.id).status == "rejected"


def test_ecab_smaller_quorum_and_non_member_vote(db):
    members = [person(n) for n in ("Ann A", "Bo B", "Cy C")]
    cab.add_member(members[0].id, emergency=True)
    cab.add_member(members[1].id, emergency=True)
    cab.add_member(members[2].id)  # not on the ECAB
    c = change("Hotfix", type="emergency", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "ECAB", "starts_at": T0, "emergency": True})
    assert meeting.quorum == 2
    with pytest.raises(ValidationError):
        cab.vote(meeting.id, c.id, members[2].id, "approve")
    cab.vote(meeting.id, c.id, members[0].id, "approve")
    cab.vote(meeting.id, c.id, members[1].id, "abstain")
    o = cab.outcome(c.id, meeting.id)
    assert o.quorate and o.decision == "approved"
    cab.decide(meeting.id, c.id)
    change_service.transition(c.id, None, "implementing")  # emergency may skip scheduling
    assert Change.get_by_id(c.id).status == "implementing"


def test_approval_announces_service_change(db):
    srv, _app, shop = stack()
    c = change("Server patch", type="standard", cis=[srv], outage=True)
    change_service.transition(c.id, None, "submitted")
    change_service.transition(c.id, None, "approved")
    from itsmdesk.models.servicedesk import Announcement, AnnouncementService

    ann = Announcement.get_or_none(Announcement.change_id == c.id)
    assert ann is not None and c.ref in ann.title
    # the service the server's outage reaches, found by impact analysis (not only service CIs
    # named on the change)
    services = [r.ci_id for r in AnnouncementService.select()
                .where(AnnouncementService.announcement == ann.id)]
    assert services == [shop.id]


def test_reschedule_moves_downtime_and_journals(db):
    c = change("Move me", downtime_start=T0 + dt.timedelta(minutes=30),
               downtime_end=T0 + dt.timedelta(minutes=60))
    new_start = T0 + dt.timedelta(days=2)
    c2 = change_service.reschedule(c.id, c.version, new_start, new_start + dt.timedelta(hours=2))
    assert c2.planned_start == new_start
    assert c2.downtime_start == new_start + dt.timedelta(minutes=30)
    assert any(h.field == "planned_start" for h in records.history("change", c.id))
    with pytest.raises(ConflictError):  # stale version
        change_service.reschedule(c.id, c.version, new_start, new_start + dt.timedelta(hours=1))


def test_template_and_pir(db):
    t = change_service.create_template({"name": "Renew cert", "implementation_plan": "Install",
                                        "backout_plan": "Old cert", "default_duration_minutes": 30})
    c = change_service.create_from_template(t.id, {"planned_start": T0})
    assert c.type == "standard" and c.planned_end == T0 + dt.timedelta(minutes=30)
    with pytest.raises(ValidationError):
        change_service.record_pir(c.id, None, "successful")


def test_a_meeting_with_a_smaller_quorum_approves_with_its_own_votes(db):
    """A meeting's quorum (here 2) is the one that counts when it decides: moving the change to
    approved does not count again against the default quorum of 3."""
    members = [person(n) for n in ("Ann A", "Bo B", "Cy C", "Di D")]
    for m in members:
        cab.add_member(m.id)
    c = change("Small board", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0, "quorum": 2})
    cab.vote(meeting.id, c.id, members[0].id, "approve")
    cab.vote(meeting.id, c.id, members[1].id, "approve")
    assert cab.decide(meeting.id, c.id).decision == "approved"
    assert Change.get_by_id(c.id).status == "approved"
