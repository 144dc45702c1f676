"""What a change manager checks: one risk everywhere (the app's stored assessment in the CAB
pack, the minutes and the .ics), the forward schedule's running changes, an approved change's
risk changed only with a reason and a new approval, draft minutes, decisions against the votes,
overdue actions."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from itsmdesk.errors import ValidationError
from itsmdesk.models.change import CABAgendaItem, Change
from itsmdesk.reports import cab_minutes, cab_pack, ical
from itsmdesk.services import records
from itsmdesk.services.change import cab, risk
from itsmdesk.services.change import changes as change_service
from tests.change_helpers import T0, change, ci, person, stack


def _text(path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(str(path)).pages).split())


def _pages(path) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(str(path)).pages]


def _members(n: int = 3):
    people = [person(f"Member {i}") for i in range(n)]
    for p in people:
        cab.add_member(p.id)
    return people


def _approved(title: str, **values):
    """A normal change assessed (its risk stored then) and approved by the CAB's votes."""
    c = change(title, **values)
    for target in ("submitted", "assessed", "awaiting_cab"):
        c = change_service.transition(c.id, None, target)
    for m in _members():
        change_service.cast_vote(c.id, m.id, "approve")
    return change_service.transition(c.id, None, "approved", role="cab")


def _notes(change_id) -> dict:
    return {e.field: e.new for e in records.history("change", change_id) if e.field.startswith("!")}


# -- one risk, computed once ----------------------------------------------------------------------

def test_pack_minutes_and_ics_show_the_stored_risk(db, tmp_path):
    srv, _app, _shop = stack()
    lone = ci("lone-1", crit="low")
    c = change("Firmware", cis=[lone], status="awaiting_cab", category="Network")
    assessed = risk.assess(c.id)
    assert assessed.level == "low"
    # the change now reaches a critical service with an outage, but was not assessed again:
    # every view shows the assessment it has, not a fresh computation
    change_service.update_change(c.id, None, {"outage": True})
    change_service.set_affected_cis(c.id, [srv])
    assert risk.compute(Change.get_by_id(c.id)).level == "medium"
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0 - dt.timedelta(days=1)},
                                 changes=[c])
    pack = tmp_path / "pack.pdf"
    cab_pack.build(meeting.ref, pack)
    pages = _pages(pack)
    agenda = next(t for t in pages if "Planned start" in t and c.ref in t)
    assert "LOW" in agenda and "MEDIUM" not in agenda
    text = " ".join(pages)
    assert "MEDIUM" not in text
    # the factor table is the stored one (no service when it was assessed), not a new one
    assert "0 business service(s) impacted" in text
    assert "1 business service(s) impacted" not in text
    minutes = tmp_path / "minutes.pdf"
    cab_minutes.build(meeting.ref, minutes)
    assert "risk low" in _text(minutes)
    ics = tmp_path / "fsc.ics"
    ical.export(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=2), ics)
    event = next(iter(Calendar.from_ical(ics.read_bytes()).walk("VEVENT")))
    assert str(event["X-ITSMDESK-RISK"]) == "low"
    assert str(event["DESCRIPTION"]).startswith("Risk: low (score ")


def test_an_override_is_the_risk_everywhere(db, tmp_path):
    c = change("Payroll cut-over", status="awaiting_cab")
    risk.assess(c.id)
    c = risk.override(c.id, None, "very_high", "Quarter-end payroll run")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0}, changes=[c])
    pack = tmp_path / "pack.pdf"
    cab_pack.build(meeting.ref, pack)
    text = _text(pack)
    assert "VERY HIGH" in text and "overridden: Quarter-end payroll run" in text
    minutes = tmp_path / "minutes.pdf"
    cab_minutes.build(meeting.ref, minutes)
    assert "risk very high" in _text(minutes)
    ics = tmp_path / "fsc.ics"
    ical.export(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=2), ics)
    event = next(iter(Calendar.from_ical(ics.read_bytes()).walk("VEVENT")))
    assert str(event["X-ITSMDESK-RISK"]) == "very_high"


def test_a_risk_without_stored_factors_says_so_in_the_pack(db, tmp_path):
    c = change("Imported", status="awaiting_cab", risk_level="high", risk_score=50)
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0}, changes=[c])
    pack = tmp_path / "pack.pdf"
    cab_pack.build(meeting.ref, pack)
    text = _text(pack)
    assert "HIGH" in text and "No factors were stored with this risk" in text
    assert Change.get_by_id(c.id).risk_factors is None  # the pack computed and wrote nothing


def test_the_assessment_step_stores_the_risk_with_its_factors(db):
    srv, _app, _shop = stack()
    c = change("Patch", cis=[srv])
    for target in ("submitted", "assessed"):
        c = change_service.transition(c.id, c.version, target)
    stored = Change.get_by_id(c.id)
    assert stored.risk_score is not None and stored.risk_level
    assert {f["factor"] for f in stored.risk_factors} == set(risk.WEIGHTS)
    assert "Shop" in next(f["why"] for f in stored.risk_factors if f["factor"] == "services")
    assert {"risk_score", "risk_level", "risk_factors"} <= {
        e.field for e in records.history("change", c.id)}
    # assessed once: sending it to the CAB keeps that assessment
    risk.override(c.id, None, "high", "Vendor track record")
    before = Change.get_by_id(c.id)
    change_service.transition(c.id, None, "awaiting_cab")
    after = Change.get_by_id(c.id)
    assert (after.risk_score, after.risk_factors) == (before.risk_score, before.risk_factors)


# -- the forward schedule ----------------------------------------------------------------------------

def test_forward_schedule_includes_changes_still_running(db, tmp_path):
    running = change("Data centre move", start_h=-72, hours=120, status="implementing")
    ended = change("Finished yesterday", start_h=-30, hours=2, status="scheduled")
    later = change("Next week", start_h=24 * 7, status="scheduled")
    beyond = change("Next quarter", start_h=24 * 60, status="approved")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0 + dt.timedelta(hours=2)})
    refs = [c.ref for c in cab.forward_schedule(meeting.starts_at)]
    assert refs == [running.ref, later.ref]
    assert ended.ref not in refs and beyond.ref not in refs
    pack = tmp_path / "pack.pdf"
    cab_pack.build(meeting.ref, pack)
    fsc = next(t for t in _pages(pack) if "Forward schedule of change" in t and "Nothing" not in t
               and running.ref in t)
    assert later.ref in fsc and "including those that started earlier and still run" in fsc
    assert "2030-03-04 to 2030-03-31" in fsc


# -- an approved change's risk ------------------------------------------------------------------------

def test_reassessing_an_approved_change_needs_a_reason(db):
    c = _approved("Router firmware")
    assert c.risk_factors  # assessed on its way to the CAB: what the approval was given for
    with pytest.raises(ValidationError, match="needs a reason"):
        risk.assess(c.id, version=c.version)
    with pytest.raises(ValidationError, match="needs a reason"):
        risk.override(c.id, c.version, "very_high", "")
    stored = Change.get_by_id(c.id)
    assert stored.version == c.version and stored.status == "approved"


def test_reassessment_with_the_same_level_keeps_the_approval(db):
    c = _approved("Router firmware")
    done = risk.reassess(c.id, reason="CMDB updated", version=c.version)
    assert not done.level_changed and done.sent_back_to is None
    assert Change.get_by_id(c.id).status == "approved"
    assert _notes(c.id)["!risk_reassessed"] == "CMDB updated"


def test_a_new_level_sends_an_approved_change_back_to_the_cab(db):
    srv, _app, _shop = stack()
    c = _approved("Router firmware")
    assert c.risk_level == "low"
    members = list(cab.members_for(None))
    # approved at low risk; now it touches a critical service with an outage
    change_service.update_change(c.id, None, {"outage": True})
    change_service.set_affected_cis(c.id, [srv])
    c = Change.get_by_id(c.id)
    done = risk.reassess(c.id, reason="Shop now depends on the router", version=c.version)
    assert done.level_before == "low" and done.level_after in ("medium", "high", "very_high")
    assert done.sent_back_to == "awaiting_cab"
    c = Change.get_by_id(c.id)
    assert c.status == "awaiting_cab" and c.risk_level == done.level_after
    assert _notes(c.id)["!sent_back_for_approval"] == "Shop now depends on the router"
    status = next(e for e in records.history("change", c.id) if e.field == "status")  # newest
    assert (status.old, status.new) == ("approved", "awaiting_cab")
    # the votes given for the old risk no longer approve it: the CAB votes again
    assert cab.outcome(c.id).decision == "deferred"
    with pytest.raises(ValidationError, match="no CAB approval"):
        change_service.transition(c.id, None, "approved")
    for m in members:
        change_service.cast_vote(c.id, m.id, "approve", "Fine with the new risk")
    assert change_service.transition(c.id, None, "approved").status == "approved"


def test_overriding_a_scheduled_change_sends_it_back_and_started_ones_are_frozen(db):
    c = _approved("Disk shelf")
    c = change_service.transition(c.id, None, "scheduled")
    level = c.risk_level
    other = next(x for x in ("low", "high") if x != level)
    with pytest.raises(ValidationError, match="needs a reason"):
        risk.override(c.id, c.version, other, "")
    done = risk.set_override(c.id, c.version, other, "Vendor firmware is new")
    assert done.sent_back_to == "awaiting_cab"
    assert Change.get_by_id(c.id).status == "awaiting_cab"
    running = change("Running", status="implementing", risk_level="low", risk_score=5)
    for call in (lambda: risk.assess(running.id, reason="x"),
                 lambda: risk.override(running.id, None, "high", "x")):
        with pytest.raises(ValidationError, match="no longer changed"):
            call()
    assert Change.get_by_id(running.id).risk_level == "low"


def test_a_standard_change_goes_back_to_submitted(db):
    c = change("TLS certificate", type="standard", status="approved", risk_level="low",
               risk_score=0)
    done = risk.set_override(c.id, None, "high", "Wildcard covers the payment gateway")
    assert done.sent_back_to == "submitted" and Change.get_by_id(c.id).status == "submitted"


# -- minutes ------------------------------------------------------------------------------------------

def test_minutes_of_a_planned_meeting_are_a_draft_with_invitees(db, tmp_path):
    invited = _members(2)
    meeting = cab.create_meeting({"title": "Weekly CAB", "starts_at": T0}, attendees=invited)
    path = tmp_path / "m.pdf"
    cab_minutes.build(meeting.ref, path)
    text = _text(path)
    assert "DRAFT: this meeting has not been held yet" in text
    assert PdfReader(str(path)).metadata.title == f"DRAFT CAB minutes {meeting.ref}"
    assert "Invited Member 0, Member 1" in text
    assert "Present" not in text and "Apologies" not in text
    # held: attendance as recorded
    cab.update_meeting(meeting.id, None, {"status": "held"})
    cab.set_attendees(meeting.id, {invited[0].id: True, invited[1].id: False})
    cab_minutes.build(meeting.ref, path)
    text = _text(path)
    assert "DRAFT" not in text and "Invited" not in text
    assert PdfReader(str(path)).metadata.title == f"CAB minutes {meeting.ref}"
    assert "Present Member 0" in text and "Apologies Member 1" in text


def test_a_decision_against_the_votes_needs_and_shows_its_reason(db, tmp_path):
    members = _members(3)
    c = change("Core switch", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0, "status": "held"},
                                 attendees=members, changes=[c])
    for m, vote in zip(members, ("approve", "approve", "reject"), strict=True):
        cab.vote(meeting.id, c.id, m.id, vote)
    with pytest.raises(ValidationError, match="needs a reason"):
        cab.decide(meeting.id, c.id, decision="rejected")
    assert CABAgendaItem.get().decision is None
    cab.decide(meeting.id, c.id, decision="rejected",
               reason="Change freeze for the audit week")
    item = CABAgendaItem.get()
    assert (item.decision, item.decision_reason) == ("rejected", "Change freeze for the audit week")
    assert Change.get_by_id(c.id).status == "rejected"
    path = tmp_path / "m.pdf"
    cab_minutes.build(meeting.ref, path)
    text = _text(path)
    assert "REJECTED votes: approved" in text
    assert "Decided against the quorum outcome (approved): Change freeze for the audit week" in text
    # the board never approves what the votes do not
    d = change("Other", status="awaiting_cab")
    cab.add_to_agenda(meeting.id, d.id)
    for m in members:
        cab.vote(meeting.id, d.id, m.id, "reject")
    with pytest.raises(ValidationError, match="cannot be approved against"):
        cab.decide(meeting.id, d.id, decision="approved", reason="We like it")


def test_minutes_note_a_decision_that_differs_without_a_reason(db, tmp_path):
    members = _members(3)
    c = change("Legacy", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0, "status": "held"},
                                 attendees=members, changes=[c])
    for m in members:
        cab.vote(meeting.id, c.id, m.id, "approve")
    item = CABAgendaItem.get()
    with records.atomic():  # recorded before reasons were kept
        records.update_child(CABAgendaItem, item.id, {"decision": "rejected"})
    path = tmp_path / "m.pdf"
    cab_minutes.build(meeting.ref, path)
    assert "Decided against the quorum outcome (approved); no reason was recorded." in _text(path)


def test_overdue_actions_are_marked_in_the_minutes(db, tmp_path):
    owner = _members(1)[0]
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0})
    today = dt.datetime.now(dt.UTC).date()
    cab.add_action(meeting.id, "Late and open", owner.id, today - dt.timedelta(days=3))
    done = cab.add_action(meeting.id, "Late but done", owner.id, today - dt.timedelta(days=4))
    cab.set_action_done(done.id)
    cab.add_action(meeting.id, "Due next week", owner.id, today + dt.timedelta(days=7))
    path = tmp_path / "m.pdf"
    cab_minutes.build(meeting.ref, path)
    text = _text(path)
    late = (today - dt.timedelta(days=3)).isoformat()
    assert f"{late} overdue" in text and text.count("overdue") == 1


def test_cli_risk_of_an_approved_change_needs_a_reason(sqlite_db, capsys):
    from itsmdesk.cli import main

    c = _approved("Router firmware")
    url = f"sqlite:///{sqlite_db.path}"
    assert main(["--db", url, "changes", "risk", c.ref]) == 0
    out = capsys.readouterr().out
    assert "give --reason to re-assess it" in out
    assert Change.get_by_id(c.id).version == c.version  # shown, not rewritten
    assert main(["--db", url, "changes", "risk", c.ref, "--reason", "CMDB updated"]) == 0
    out = capsys.readouterr().out
    assert Change.get_by_id(c.id).risk_factors
    assert "sent back for approval" in out or "the approval stands" in out


def test_migration_adds_the_decision_reason(tmp_path):
    from itsmdesk.models.database import connect
    from itsmdesk.models.migrations import LATEST_VERSION, current_version, ensure_schema

    path = tmp_path / "old.db"
    database, info = connect(f"sqlite:///{path}")
    ensure_schema(database, info.path, target=5)
    table = CABAgendaItem._meta.table_name
    database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN decision_reason')
    assert "decision_reason" not in {c.name for c in database.get_columns(table)}
    before, after = ensure_schema(database, info.path)
    assert (before, after) == (5, LATEST_VERSION) and current_version(database) >= 6
    assert "decision_reason" in {c.name for c in database.get_columns(table)}
    database.close()
