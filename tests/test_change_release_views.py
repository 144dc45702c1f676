"""The read models and save calls of the change, CAB meeting and release forms, on SQLite and
PostgreSQL: what they read (and in how many statements), what one save writes, and the versions
every action of those forms now takes."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import peewee
import pytest

from itsmdesk.errors import ConflictError
from itsmdesk.models.change import Approval, CABAgendaItem, CABMeeting, Change
from itsmdesk.models.release import Release, ReleaseItem
from itsmdesk.services import people, records
from itsmdesk.services.change import cab, risk
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.release import dml, releases
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan
from tests.change_helpers import T0, change, person, stack
from tests.release_helpers import build_release


@contextlib.contextmanager
def statements():
    seen: list[str] = []
    original = peewee.Database.execute_sql

    def execute_sql(self, sql, params=None, *args, **kwargs):
        seen.append(str(sql))
        return original(self, sql, params, *args, **kwargs)

    peewee.Database.execute_sql = execute_sql
    try:
        yield seen
    finally:
        peewee.Database.execute_sql = original


def fields_at(kind: str, record_id, version: int) -> list[str]:
    return sorted(e.field for e in records.history(kind, record_id) if e.version == version)


# -- the quorum rule, one definition ------------------------------------------------------------------

def test_count_outcome_is_the_rule():
    a, b, c, d = "a", "b", "c", "d"
    rule = cab.count_outcome
    assert rule([(a, "approve"), (b, "approve"), (c, "reject")], set(), 3).decision == "approved"
    assert rule([(a, "approve"), (b, "reject")], set(), 3).decision == "deferred"  # no quorum
    tie = rule([(a, "approve"), (b, "reject"), (c, "abstain")], set(), 3)
    assert (tie.decision, tie.quorate, tie.abstain) == ("deferred", True, 1)
    # votes of people outside the eligible members do not count
    out = rule([(a, "reject"), (b, "reject"), (d, "approve")], {b, c, d}, 2)
    assert (out.decision, out.reject, out.approve) == ("deferred", 1, 1)
    assert cab.quorum_for(None, True) == 2 and cab.quorum_for(None, False) == 3
    assert cab.quorum_for(5, True) == 5
    rows = [(a, None, True), (b, None, False), (c, "network", False)]
    assert cab.eligible_ids(rows, "network", False) == {a, b, c}
    assert cab.eligible_ids(rows, None, False) == {a, b}
    assert cab.eligible_ids(rows, "network", True) == {a}


def test_meeting_view_batches_agenda_votes_and_outcomes(db):
    members = [person(n) for n in ("Ann A", "Bo B", "Cy C")]
    for m in members:
        cab.add_member(m.id, emergency=m is not members[2])
    net = person("Net N")
    cab.add_member(net.id, category="network")
    items = [change(f"Change {i}", status="awaiting_cab", start_h=i,
                    category="network" if i % 2 else None,
                    type="emergency" if i in (6, 7) else "normal") for i in range(8)]
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0, "chair": members[0].id},
                                 attendees=members[:2], changes=items)
    values = ("approve", "reject", "abstain")
    for i, c in enumerate(items):
        for k, m in enumerate(members[: 1 + i % 3]):
            cab.vote(meeting.id, c.id, m.id, values[(i * k) % 3])
        if i % 2 and c.type != "emergency":
            cab.vote(meeting.id, c.id, net.id, "approve")
    cab.add_action(meeting.id, "Minutes out", members[1].id, change_id=items[0].id)
    with statements() as seen:
        view = cab.meeting_view(meeting.id)
    assert len(seen) == 6, seen
    assert view.chair_name == "Ann A" and view.attendance == {members[0].id: True,
                                                               members[1].id: True}
    assert [p.name for p in view.members] == ["Ann A", "Bo B", "Cy C", "Net N"]
    assert [i.change_ref for i in view.agenda] == [c.ref for c in items]
    for item in view.agenda:
        assert item.outcome == cab.outcome(item.change_id, meeting.id)
        assert [(v.name, v.vote) for v in item.votes] == [
            (v.person.name, v.vote) for v in cab.votes(item.change_id, meeting.id)]
    assert view.actions[0].owner_name == "Bo B" and view.actions[0].change_ref == items[0].ref


def test_save_meeting_creates_and_updates_in_one_write(db):
    ann, bo = person("Ann A"), person("Bo B")
    key = uuid.uuid4()
    meeting = cab.save_meeting(None, None, {"title": "ECAB", "starts_at": T0, "emergency": True,
                                            "quorum": 2, "attendance": {ann.id: True,
                                                                        bo.id: False}},
                               new_id=key)
    assert meeting.id == key and meeting.ends_at == T0 + dt.timedelta(hours=1)
    assert cab.meeting_view(key).attendance == {ann.id: True, bo.id: False}
    saved = cab.save_meeting(key, meeting.version, {"starts_at": T0 + dt.timedelta(days=1),
                                                   "attendance": {ann.id: True}})
    assert saved.version == meeting.version + 1
    assert saved.ends_at == T0 + dt.timedelta(days=1, hours=1)
    assert fields_at("cab_meeting", key, saved.version) == ["cab_attendee-", "ends_at",
                                                            "starts_at"]
    with pytest.raises(ConflictError):
        cab.save_meeting(key, meeting.version, {"notes": "stale"})


def test_meeting_actions_take_the_version(db):
    ann = person("Ann A")
    cab.add_member(ann.id)
    c = change("Firmware", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0})
    stale = meeting.version
    cab.update_meeting(meeting.id, stale, {"location": "Room 1"})
    for call in (lambda: cab.build_agenda(meeting.id, version=stale),
                 lambda: cab.add_action(meeting.id, "x", version=stale),
                 lambda: cab.decide(meeting.id, c.id, version=stale)):
        with pytest.raises(ConflictError):
            call()
    current = CABMeeting.get_by_id(meeting.id).version
    cab.build_agenda(meeting.id, version=current)
    assert CABAgendaItem.select().count() == 1
    action = cab.add_action(meeting.id, "Tell the desk",
                            version=CABMeeting.get_by_id(meeting.id).version)
    with pytest.raises(ConflictError):
        cab.set_action_done(action.id, True, version=current)
    cab.set_action_done(action.id, True, version=CABMeeting.get_by_id(meeting.id).version)
    # a vote is a child of the change: it takes the change's version
    with pytest.raises(ConflictError):
        cab.vote(meeting.id, c.id, ann.id, "approve", version=Change.get_by_id(c.id).version + 1)
    cab.vote(meeting.id, c.id, ann.id, "approve", version=Change.get_by_id(c.id).version)
    assert Approval.select().count() == 1


# -- the change form ----------------------------------------------------------------------------------

def test_change_view_and_save(db):
    team = people.create_team({"name": "Network"})
    srv, app, _shop = stack()
    first = change("First", cis=[srv], status="scheduled", team=team.id)
    second = change("Second", cis=[srv], start_h=1, status="scheduled")
    with statements() as seen:
        view = change_service.change_view(first.id)
    assert len(seen) <= 6, seen
    assert view.team_name == "Network" and [c.name for c in view.cis] == ["srv-1"]
    assert [(c.kind, c.other_ref) for c in view.conflicts] == [("same_ci", second.ref)]
    assert [t for t, _label in view.next_steps] == ["implementing", "approved"]
    assert ("Network" in dict((str(i), n) for i, n in view.choices.teams).values())
    saved = change_service.save_change(first.id, view.version,
                                       {"title": "First patch", "ci_ids": [srv.id, app.id]})
    assert saved.version == view.version + 1
    assert fields_at("change", first.id, saved.version) == ["change_ci+", "title"]
    with pytest.raises(ConflictError):
        change_service.save_change(first.id, view.version, {"ci_ids": [srv.id]})
    assert {c.name for c in change_service.change_view(first.id).cis} == {"srv-1", "app-1"}
    key = uuid.uuid4()
    new = change_service.save_change(None, None, {"title": "New", "ci_ids": [app.id]},
                                     new_id=key)
    assert new.id == key and new.ref.startswith("CHG-")


def test_assess_takes_the_version(db):
    srv, _app, _shop = stack()
    c = change("Patch", cis=[srv])
    change_service.update_change(c.id, c.version, {"title": "Patch it"})
    with pytest.raises(ConflictError):
        risk.assess(c.id, version=c.version)
    risk.assess(c.id, version=c.version + 1)
    assert Change.get_by_id(c.id).risk_score is not None


# -- the release form ---------------------------------------------------------------------------------

def test_release_view_and_save(db):
    made = build_release(n_sites=2)
    rel = made["release"]
    view = releases.release_view(rel.id)
    assert (view.manager_name, view.team_name) == ("Rita Release", "Release team")
    assert view.risk == release_lifecycle.assess_risk(rel.id)
    assert [p.name for p in view.plan] == [p.name for p in release_plan.plan(rel.id)]
    assert view.services == ("Payroll service",) and view.allowed == ("build", "closed")
    assert [t for _i, t in view.choices.teams] == ["Release team"]
    assert [s for _i, s in view.choices.sites] == ["S0 · Site 0", "S1 · Site 1"]
    saved = releases.save_release(rel.id, view.version, {"type": "emergency",
                                                         "release_version": "5.1"})
    assert saved.risk_level == release_lifecycle.assess_risk(rel.id).level
    with pytest.raises(ConflictError):
        releases.save_release(rel.id, view.version, {"name": "stale"})
    key = uuid.uuid4()
    new = releases.save_release(None, None, {"name": "Fresh"}, new_id=key)
    assert new.id == key and Release.get_by_id(key).risk_level == "medium"


def test_release_actions_take_the_version(db):
    made = build_release(n_sites=1)
    rel = made["release"]
    other = change("Hotfix", status="approved")
    stale = Release.get_by_id(rel.id).version
    releases.update_release(rel.id, stale, {"description": "moved on"})
    for call in (lambda: releases.add_change_by_ref(rel.id, other.ref, version=stale),
                 lambda: releases.remove_change_and_rerisk(rel.id, made["changes"][0].id,
                                                           version=stale),
                 lambda: dml.add_item(rel.id, "Tool", "1.0", release_version=stale),
                 lambda: dml.remove_item(made["item"].id, version=stale),
                 lambda: dml.deploy_wave(made["waves"][0].id, version=None,
                                         release_version=stale)):
        with pytest.raises(ConflictError):
            call()
    assert ReleaseItem.select().count() == 1
    releases.add_change_by_ref(rel.id, other.ref, version=stale + 1)
    assert len(releases.release_view(rel.id).changes) == 3
