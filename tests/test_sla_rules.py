"""The SLA clock's rules (docs/servicedesk.md, "The SLA clock"), one test per rule.

Each of these failed before the clock was one definition (issue 17)."""

import datetime as dt

import pytest

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.errors import ValidationError
from itsmdesk.models.base import story_clock
from itsmdesk.models.incident import Incident
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.servicedesk import SLADefinition
from itsmdesk.services.servicedesk import calendars, escalation, incidents, sla

MON = dt.datetime(2026, 1, 12, 7, 0)  # Monday 08:00 in Stockholm (UTC+1)
H = dt.timedelta(hours=1)


def _p1(d, opened=MON):  # noqa: ANN001, ANN202
    with story_clock(opened):
        return incidents.create_incident({"title": "Mail down", "impact": 1, "urgency": 1,
                                          "opened_at": opened, "team": d["desk"].id}, d["actor"])


def _go(inc, status, at, **fields):  # noqa: ANN001, ANN003, ANN202
    with story_clock(at):
        return incidents.transition(inc.id, None, status, incidents.SYSTEM, **fields)


def test_pause_after_the_due_keeps_the_breach(db):
    d = sample_desk(calendar=True)
    inc = _p1(d)
    due = inc.resolution_due
    assert due == MON + 4 * H
    inc = _go(inc, "in_progress", MON + H / 2)
    inc = _go(inc, "pending", due + H, pending_reason="Waiting for the caller")
    assert inc.sla_state == "breached"
    inc = _go(inc, "in_progress", due + 30 * H)
    assert inc.resolution_due == due  # the due does not move: the breach stays
    assert inc.sla_state == "breached" and inc.escalation_level == 2


def test_pause_exactly_at_the_due_keeps_the_breach(db):
    d = sample_desk(calendar=True)
    inc = _go(_p1(d), "in_progress", MON + H)
    due = inc.resolution_due
    inc = _go(inc, "pending", due, pending_reason="Waiting")
    inc = _go(inc, "in_progress", due + 2 * H)
    assert inc.resolution_due == due and inc.sla_state == "breached"


def test_reprioritisation_keeps_elapsed_time_and_pauses(db):
    d = sample_desk(calendar=True)
    inc = _go(_p1(d), "in_progress", MON + H)
    inc = _go(inc, "pending", MON + 2 * H, pending_reason="Waiting")  # 2 h used
    inc = _go(inc, "in_progress", MON + 5 * H)  # 3 h paused
    with story_clock(MON + 6 * H):  # 3 h used; P1 -> P2 (480 min)
        inc = incidents.update_incident(inc.id, None, {"impact": 1, "urgency": 2}, d["actor"])
    assert inc.priority == 2
    # 480 - 180 = 300 minutes left from 14:00 local: 14-17 (3 h), then Tuesday 08-10 local
    assert inc.resolution_due == dt.datetime(2026, 1, 13, 9, 0)
    assert inc.sla_state == "ok"


def test_a_lower_priority_clears_the_breach_only_when_the_clock_says_so(db):
    d = sample_desk(calendar=True)
    inc = _go(_p1(d), "in_progress", MON + H)
    escalation.tick(MON + 5 * H)
    assert Incident.get_by_id(inc.id).sla_state == "breached"
    with story_clock(MON + 5 * H):  # 5 h used, P3 has 24 h
        inc = incidents.update_incident(inc.id, None, {"impact": 2, "urgency": 2}, d["actor"])
    assert inc.priority == 3 and inc.sla_state == "ok" and inc.escalation_level == 0
    with story_clock(MON + 6 * H):  # back to P1: 6 h used of 4 h
        inc = incidents.update_incident(inc.id, None, {"impact": 1, "urgency": 1}, d["actor"])
    assert inc.sla_state == "breached" and inc.resolution_due == MON + 4 * H


def test_leaving_pending_flags_at_risk_again(db):
    d = sample_desk(calendar=True)
    inc = _go(_p1(d), "in_progress", MON + H)
    escalation.tick(MON + 3 * H + dt.timedelta(minutes=10))
    assert Incident.get_by_id(inc.id).sla_state == "at_risk"
    inc = _go(inc, "pending", MON + 3 * H + dt.timedelta(minutes=20), pending_reason="Waiting")
    assert inc.sla_state == "paused" and inc.escalation_level == 1
    inc = _go(inc, "in_progress", MON + 5 * H)
    assert inc.sla_state == "at_risk" and inc.escalation_level == 1


def test_exactly_at_the_share_is_at_risk(db):
    d = sample_desk(calendar=True)
    sla.set_escalate_pct(70)  # 70 % of 240 min = 168 min exactly
    inc = _go(_p1(d), "in_progress", MON + H)
    r = escalation.tick(MON + dt.timedelta(minutes=168))
    assert r.flagged == [inc.ref]
    sla.set_escalate_pct(33)  # 33 % of 15 min (P1 response) ... resolution: 79.2 min
    inc2 = _go(_p1(d, MON + 2 * H), "in_progress", MON + 2 * H)
    assert escalation.tick(MON + 2 * H + dt.timedelta(minutes=79, seconds=11)).flagged == []
    assert escalation.tick(MON + 2 * H + dt.timedelta(minutes=79, seconds=12)).flagged == [inc2.ref]
    # the state a ticket's clock gives, exactly at the share (float arithmetic said ok for
    # 10 %, 28 %, 64 %... of 240 minutes)
    for pct in (10, 28, 64):
        sla.set_escalate_pct(pct)
        row = Incident.get_by_id(inc2.id)
        at = MON + 2 * H + dt.timedelta(seconds=240 * 60 * pct // 100)
        assert sla.state(row, at) == "at_risk", pct
        assert sla.state(row, at - dt.timedelta(seconds=1)) == "ok", pct


def test_set_escalate_pct_then_set_target_keeps_the_share(db):
    sla.set_escalate_pct(50)
    sla.set_target("incident", 3, 60, 600)
    assert sla.target("incident", 3).escalate_at_pct == 50
    sla.set_escalate_pct(60)
    assert sla.target("incident", 3).escalate_at_pct == 60


def test_saving_the_sla_dialog_unchanged_changes_nothing(db):
    d = sample_desk(calendar=True)
    other = calendars.create_calendar({"name": "Night", "timezone": "UTC",
                                       "working_hours": {"0": [["22:00", "06:00"]]}})
    sla.set_target("incident", 2, 30, 480, other.id)
    before = JournalEntry.select().count()
    s = sla.settings_for("incident")
    assert s.calendars[2] == "Night" and s.calendars[1] == "Default"
    sla.save_settings("incident", s.targets, s.escalate_pct, d["actor"], s.versions,
                      s.escalate_version)
    assert JournalEntry.select().count() == before
    assert SLADefinition.get(SLADefinition.priority == 2).calendar_id == other.id


def test_a_calendar_without_hours_is_an_error(db):
    with pytest.raises(ValidationError, match="working hours on at least one day"):
        calendars.create_calendar({"name": "Empty", "timezone": "UTC", "working_hours": {}})
    with pytest.raises(ValidationError, match="no working hours"):
        calendars.hours_from({"0": []}, "UTC")


@pytest.mark.parametrize("hours, words", [
    ({"0": [["13:00", "17:00"], ["08:00", "12:00"]]}, "in order"),
    ({"0": [["08:00", "12:00"], ["11:00", "17:00"]]}, "overlap"),
    ({"0": [["22:00", "06:00"]], "1": [["05:00", "09:00"]]}, "overlap"),
    ({"6": [["22:00", "06:00"]], "0": [["05:00", "09:00"]]}, "overlap"),
])
def test_working_hours_out_of_order_or_overlapping_are_refused(hours, words):
    with pytest.raises(ValidationError, match=words):
        calendars.validate_hours(hours)


def test_default_calendar_is_only_the_one_named_default(db):
    calendars.create_calendar({"name": "Office", "timezone": "Europe/Stockholm",
                               "working_hours": calendars.OFFICE_HOURS})
    assert calendars.default_calendar() is None
    assert sla.due_dates("incident", 1, MON)[1] == MON + 4 * H  # 24x7


STO = "Europe/Stockholm"


def test_span_starting_in_the_spring_gap_starts_at_its_end():
    # 2026-03-29: Stockholm jumps from 02:00 CET to 03:00 CEST (01:00 UTC)
    hours = calendars.hours_from({"6": [["02:30", "05:00"]]}, STO)
    assert hours.intervals(dt.date(2026, 3, 29)) == [
        (dt.datetime(2026, 3, 29, 1, 0), dt.datetime(2026, 3, 29, 3, 0))]


def test_the_repeated_autumn_hour_counts_twice():
    # 2026-10-25: 03:00 CEST -> 02:00 CET; 02:00-03:00 local happens twice
    hours = calendars.hours_from({"6": [["02:00", "03:00"]]}, STO)
    day = dt.datetime(2026, 10, 25)
    assert calendars.business_between(hours, day - dt.timedelta(days=1),
                                      day + dt.timedelta(days=1)) == 2 * H
    hours = calendars.hours_from({"6": [["01:00", "02:30"]]}, STO)  # 01-02:30 + 02:00-02:30
    assert calendars.business_between(hours, day - dt.timedelta(days=1),
                                      day + dt.timedelta(days=1)) == 2 * H


def test_night_shift_belongs_to_the_day_it_starts():
    hours = calendars.hours_from({"0": [["22:00", "06:00"]]}, "UTC", {dt.date(2026, 1, 13)})
    assert calendars.business_between(hours, MON, MON + 48 * H) == 8 * H
    hours = calendars.hours_from({"0": [["22:00", "06:00"]]}, "UTC", {dt.date(2026, 1, 12)})
    assert calendars.business_between(hours, MON, MON + 48 * H) == dt.timedelta(0)


def test_hours_text():
    assert calendars.parse_hours_text("mon-fri 08:00-12:00,13:00-17:00; sun 22:00-06:00") == {
        **{str(d): [["08:00", "12:00"], ["13:00", "17:00"]] for d in range(5)},
        "6": [["22:00", "06:00"]]}


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
DTSTART;VALUE=DATE:20260601
DURATION:P3D
SUMMARY:Three days
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTART;VALUE=DATE:20250101
RRULE:FREQ=YEARLY
SUMMARY:New Year
END:VEVENT
BEGIN:VEVENT
UID:3
DTSTART;VALUE=DATE:20260701
DTEND;VALUE=DATE:20260816
SUMMARY:Summer close
END:VEVENT
BEGIN:VEVENT
UID:4
DTSTART:20261224T000000
DTEND:20261225T000000
SUMMARY:Christmas Eve
END:VEVENT
END:VCALENDAR
"""


def test_ics_duration_rrule_long_ranges_and_midnight_events():
    days = dict(calendars.parse_ics_holidays(ICS, range(2026, 2029)))
    assert [d for d in days if d.month == 6] == [dt.date(2026, 6, d) for d in (1, 2, 3)]
    assert {d for d, n in days.items() if n == "New Year"} == {
        dt.date(y, 1, 1) for y in (2026, 2027, 2028)}
    assert sum(1 for n in days.values() if n == "Summer close") == 46
    assert dt.date(2026, 12, 24) in days and dt.date(2026, 12, 25) not in days


def test_check_finds_drifted_states(db):
    d = sample_desk(calendar=True)
    inc = _go(_p1(d), "in_progress", MON + H)
    now = MON + 2 * H
    assert sla.check_open(now) == (1, [])
    Incident.update(sla_state="breached", escalation_level=2).where(
        Incident.id == inc.id).execute()  # simulating drift
    checked, drifted = sla.check_open(now)
    assert [x.ref for x in drifted] == [inc.ref]
    # the tick's pending work is not drift
    Incident.update(sla_state="ok", escalation_level=0).where(Incident.id == inc.id).execute()
    assert sla.check_open(MON + 3 * H + dt.timedelta(minutes=30))[1] == []


IMPORT_MAP = """
kind = "incidents"
key = "Ticket"

[source]
delimiter = ";"
date_formats = ["%Y-%m-%d %H:%M"]
timezone = "Europe/Stockholm"

[fields]
title = "Summary"
opened_at = "Opened"
impact = { column = "Impact", map = { "1" = 1, "3" = 3 } }
urgency = { column = "Impact", map = { "1" = 1, "3" = 3 } }
"""


def test_mapped_import_counts_due_dates_on_the_calendar_and_warns_about_gaps(db, tmp_path):
    from itsmdesk.services.importing.mapped import run_import

    sample_desk(calendar=True)
    (tmp_path / "map.toml").write_text(IMPORT_MAP)
    (tmp_path / "x.csv").write_text("Ticket;Summary;Opened;Impact\n"
                                    "A;Friday late;2026-01-16 16:00;1\n"
                                    "B;In the gap;2026-03-29 02:30;3\n")
    with story_clock(dt.datetime(2026, 1, 16, 15, 0)):
        report = run_import("incidents", tmp_path / "x.csv", tmp_path / "map.toml")
    assert report.created == 2
    a = Incident.get(Incident.external_key == "A")
    # P1 (240 business minutes) opened Friday 16:00 local: 1 h on Friday, 3 h on Monday
    assert a.resolution_due == dt.datetime(2026, 1, 19, 10, 0)  # Monday 11:00 local
    assert a.opened_at == dt.datetime(2026, 1, 16, 15, 0)
    b = Incident.get(Incident.external_key == "B")
    assert b.opened_at == dt.datetime(2026, 3, 29, 1, 0)  # the gap's end, 03:00 CEST
    assert [(w.line, w.column) for w in report.warnings] == [(3, "opened_at")]
    assert "2026-03-29 02:30 does not exist in Europe/Stockholm" in report.warnings[0].reason
    assert report.extra["warnings"] == 1
    assert sla.check_open(dt.datetime(2026, 1, 16, 15, 0))[1] == []


def test_a_service_with_its_own_sla_counts_on_its_own_target_and_calendar(db):
    d = sample_desk(calendar=True)
    always = calendars.create_calendar({"name": "Mail 24x7", "timezone": "UTC",
                                        "working_hours": {str(x): [["00:00", "24:00"]]
                                                          for x in range(7)}})
    sla.set_target("incident", 1, 10, 120, always.id, service=d["service"].id)
    fri = dt.datetime(2026, 1, 16, 15, 0)  # Friday 16:00 local
    with story_clock(fri):
        mail = incidents.create_incident({"title": "Mail down", "impact": 1, "urgency": 1,
                                          "opened_at": fri, "service": d["service"].id},
                                         d["actor"])
        other = incidents.create_incident({"title": "Printer", "impact": 1, "urgency": 1,
                                           "opened_at": fri}, d["actor"])
    assert mail.resolution_due == fri + 2 * H  # 120 minutes, around the clock
    assert other.resolution_due == dt.datetime(2026, 1, 19, 10, 0)  # 240 on office hours
    r = escalation.tick(fri + dt.timedelta(minutes=90))  # 75 % of the service's 120 minutes
    assert r.flagged == [mail.ref]
    with story_clock(fri + dt.timedelta(minutes=100)):  # off the service: the general target
        mail = incidents.update_incident(mail.id, None, {"service": None}, d["actor"])
    assert mail.resolution_due == dt.datetime(2026, 1, 19, 10, 0) and mail.sla_state == "ok"
    assert sla.check_open(fri + dt.timedelta(minutes=100))[1] == []
    sla.set_target("incident", 1, 20, 60, team=d["network"].id)  # an OLA
    assert sla.ola("incident", 1, d["network"].id).resolution_minutes == 60
    assert sla.target("incident", 1).resolution_minutes == 240  # the general SLA unchanged
    assert sla.settings_for("incident").targets[1] == (15, 240)


def test_migration_11_adds_service_and_team_to_old_targets(tmp_path):
    from itsmdesk.models.database import connect
    from itsmdesk.models.migrations import LATEST_VERSION, ensure_schema

    path = tmp_path / "old.db"
    database, info = connect(f"sqlite:///{path}")
    ensure_schema(database, info.path)
    # the SLA table as schema 10 had it: no service/team, (kind, priority) unique
    database.execute_sql('DROP TABLE "sla_definition"')
    database.execute_sql(
        'CREATE TABLE "sla_definition" ("id" TEXT NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL, '
        '"created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "created_by" TEXT, '
        '"updated_by" TEXT, "name" VARCHAR(200) NOT NULL, "ticket_kind" VARCHAR(16) NOT NULL, '
        '"priority" INTEGER NOT NULL, "response_minutes" INTEGER NOT NULL, '
        '"resolution_minutes" INTEGER NOT NULL, "calendar_id" TEXT, '
        '"escalate_at_pct" INTEGER NOT NULL)')
    database.execute_sql('CREATE UNIQUE INDEX "sla_definition_ticket_kind_priority" ON '
                         '"sla_definition" ("ticket_kind", "priority")')
    database.execute_sql(
        "INSERT INTO sla_definition (id, version, created_at, updated_at, name, ticket_kind, "
        "priority, response_minutes, resolution_minutes, escalate_at_pct) VALUES "
        "('0a1b2c3d4e5f40718293a4b5c6d7e8f9', 1, "
        "'2026-01-01', '2026-01-01', 'incident P1', 'incident', 1, 10, 100, 75)")
    database.execute_sql("UPDATE schema_info SET value = '10' WHERE key = 'schema_version'")
    database.close()
    database, info = connect(f"sqlite:///{path}")
    assert ensure_schema(database, info.path) == (10, LATEST_VERSION)
    columns = {c.name for c in database.get_columns("sla_definition")}
    assert {"service_id", "team_id"} <= columns
    indexes = {i.name for i in database.get_indexes("sla_definition")}
    assert "sla_definition_ticket_kind_priority" not in indexes
    assert sla.targets("incident", 1) == (10, 100)
    database.close()
