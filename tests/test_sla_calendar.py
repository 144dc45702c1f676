"""Business calendars, SLA due dates, pause while pending, escalation tick."""

import datetime as dt
from pathlib import Path

import pytest

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.errors import TransitionError, ValidationError
from itsmdesk.models.base import story_clock
from itsmdesk.models.incident import Incident
from itsmdesk.models.servicedesk import Notification
from itsmdesk.services.servicedesk import calendars, escalation, incidents, sla

MON = dt.datetime(2026, 1, 12, 7, 0)  # Monday 08:00 in Stockholm (UTC+1)


def test_business_minutes_skip_nights_weekends_holidays(db):
    d = sample_desk(calendar=True)
    cal = d["calendar"]
    hours = calendars.load(cal)
    # Friday 15:00 local + 4 h of work -> Monday 10:00 local (09:00 UTC)
    fri = dt.datetime(2026, 1, 16, 14, 0)
    assert calendars.add_business_minutes(hours, fri, 240) == dt.datetime(2026, 1, 19, 9, 0)
    assert calendars.business_minutes_between(hours, fri, dt.datetime(2026, 1, 19, 9, 0)) == 240
    calendars.add_holiday(cal.id, dt.date(2026, 1, 19), "Test day")
    hours = calendars.load(cal)
    assert calendars.add_business_minutes(hours, fri, 240) == dt.datetime(2026, 1, 20, 9, 0)


def test_ics_import(db, tmp_path):
    d = sample_desk(calendar=True)
    ics = tmp_path / "h.ics"
    ics.write_bytes(Path(__file__).parent.joinpath("fixtures", "holidays_se.ics").read_bytes())
    added, skipped = calendars.import_holidays(d["calendar"].id, ics)
    assert added == 3 and skipped == 0
    assert calendars.import_holidays(d["calendar"].id, ics) == (0, 3)
    days = [h.day for h in calendars.holidays(d["calendar"].id)]
    assert dt.date(2026, 12, 25) in days and dt.date(2026, 12, 26) in days


def test_due_dates_on_calendar_and_pause(db):
    d = sample_desk(calendar=True)
    inc = incidents.create_incident({"title": "Mail down", "impact": 1, "urgency": 1,
                                     "opened_at": MON, "team": d["desk"].id}, d["actor"])
    assert inc.priority == 1
    assert inc.resolution_due == MON + dt.timedelta(hours=4)  # 240 business minutes
    with pytest.raises(ValidationError):
        incidents.transition(inc.id, inc.version, "pending", d["actor"], now=MON)
    t1 = MON + dt.timedelta(hours=1)
    inc = incidents.transition(inc.id, inc.version, "pending", d["actor"], now=t1,
                               pending_reason="Waiting for caller")
    assert inc.sla_state == "paused" and inc.paused_since == t1
    t2 = t1 + dt.timedelta(hours=2)
    inc = incidents.transition(inc.id, inc.version, "in_progress", d["actor"], now=t2)
    assert inc.resolution_due == MON + dt.timedelta(hours=6)  # moved out by the pause
    assert inc.paused_seconds == 7200 and inc.pending_reason is None


def test_lifecycle_resolve_reopen_close(db):
    d = sample_desk()
    inc = incidents.create_incident({"title": "Printer", "assignee": d["agent"].id}, d["actor"])
    assert inc.status == "assigned"
    with pytest.raises(TransitionError):
        incidents.transition(inc.id, inc.version, "closed", d["actor"])
    with pytest.raises(ValidationError):
        incidents.transition(inc.id, inc.version, "resolved", d["actor"])
    inc = incidents.transition(inc.id, inc.version, "resolved", d["actor"],
                               resolution_code="user_error", solution="Paper added")
    assert inc.resolved_at and inc.sla_state == "met"
    inc = incidents.transition(inc.id, inc.version, "in_progress", d["actor"])
    assert inc.resolved_at is None and inc.status == "in_progress"


def test_major_incident_resolves_children(db):
    d = sample_desk()
    parent = incidents.create_incident({"title": "Mail outage", "impact": 1, "urgency": 1})
    kids = [incidents.create_incident({"title": f"No mail {i}"}) for i in range(3)]
    for k in kids:
        incidents.link_child(parent.id, k.id, d["actor"])
    parent = Incident.get_by_id(parent.id)
    assert parent.major
    incidents.transition(parent.id, parent.version, "resolved", d["actor"],
                         resolution_code="solved_permanently", solution="Restarted")
    assert incidents.resolve_children(parent.id, d["actor"]) == 3
    assert {k.status for k in Incident.select().where(Incident.parent == parent.id)} == {"resolved"}


def test_escalation_tick_flags_and_breaches(db):
    d = sample_desk(calendar=True)
    with story_clock(MON):  # created when it was opened (its state is stored as of then)
        inc = incidents.create_incident({"title": "VPN", "impact": 1, "urgency": 1,
                                         "opened_at": MON, "team": d["desk"].id}, d["actor"])
    r = escalation.tick(now=MON + dt.timedelta(hours=2))
    assert r.flagged == [] and r.breached == []
    r = escalation.tick(now=MON + dt.timedelta(hours=3, minutes=1))  # 75 % of 4 h
    assert r.flagged == [inc.ref] and r.notifications == 1
    row = Incident.get_by_id(inc.id)
    assert row.sla_state == "at_risk" and row.escalation_level == 1
    assert Notification.get().person_id == d["boss"].id
    assert escalation.tick(now=MON + dt.timedelta(hours=3, minutes=30)).flagged == []
    r = escalation.tick(now=MON + dt.timedelta(hours=4, minutes=1))
    assert r.breached == [inc.ref]
    assert Incident.get_by_id(inc.id).sla_state == "breached"
    assert escalation.unread_count(d["boss"].id) == 2


def test_functional_and_hierarchical_escalation(db):
    d = sample_desk()
    inc = incidents.create_incident({"title": "Switch", "team": d["desk"].id,
                                     "assignee": d["agent"].id}, d["actor"])
    inc = incidents.escalate_to_team(inc.id, inc.version, d["network"].id, "Needs network",
                                     d["actor"])
    assert inc.team_id == d["network"].id and inc.assignee_id is None
    assert any("Needs network" in w.text for w in incidents.work_log(inc.id))
    notes = incidents.escalate_to_manager(inc.id, "VIP caller", d["actor"])
    assert [n.person_id for n in notes] == [d["boss"].id]


def test_sla_settings(db):
    sla.set_escalate_pct(50)
    assert sla.target("incident", 3).escalate_at_pct == 50
    sla.set_target("incident", 3, 60, 600)
    assert sla.targets("incident", 3) == (60, 600)
    with pytest.raises(ValidationError):
        sla.set_target("incident", 3, 700, 600)
