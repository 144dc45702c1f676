"""Ticket notifications by mail: who hears what, in which language, and when (both back ends)."""

from __future__ import annotations

import datetime as dt

import pytest
from mail_out_server import SmtpServer
from test_mail_out_outbox import configure

from itsmdesk.models.mail_outbox import MailOutbox
from itsmdesk.services import people, records
from itsmdesk.services.context import Actor
from itsmdesk.services.mail import outgoing
from itsmdesk.services.servicedesk import calendars, escalation, incidents

MONDAY = dt.datetime(2027, 3, 1, 10, 0)  # within office hours (08-17 UTC)
SATURDAY = dt.datetime(2027, 3, 6, 10, 0)
NEXT_MONDAY_8 = dt.datetime(2027, 3, 8, 8, 0)


@pytest.fixture
def desk(db):
    with SmtpServer() as server:
        configure(server.port)
        calendars.create_calendar({"name": "Default", "timezone": "UTC",
                                   "working_hours": calendars.OFFICE_HOURS})
        ann = people.create_person({"name": "Ann Caller", "email": "ann@example.org",
                                    "language": "sv"})
        bo = people.create_person({"name": "Bo Agent", "email": "bo@example.org",
                                   "is_agent": True})
        lead = people.create_person({"name": "Lea Lead", "email": "lea@example.org",
                                     "is_agent": True})
        team = people.create_team({"name": "Desk", "lead": lead.id}, members=[bo.id])
        dispatcher = people.create_person({"name": "Dee Dispatcher", "is_agent": True})
        yield server, ann, bo, lead, team, Actor(dispatcher.id, dispatcher.name)


def _by_to(server) -> dict[str, list]:  # noqa: ANN001
    out: dict[str, list] = {}
    for got in server.messages:
        out.setdefault(got.rcpt_tos[0], []).append(got.message)
    return out


def test_caller_hears_received_assigned_waiting_resolved_in_their_language(desk):
    server, ann, bo, _lead, team, dispatcher = desk
    ticket = incidents.create_incident({"title": "VPN down", "caller": ann.id, "team": team.id,
                                        "opened_at": MONDAY}, dispatcher)
    ticket = incidents.update_incident(ticket.id, ticket.version, {"assignee": bo.id},
                                       dispatcher, now=MONDAY)
    ticket = incidents.transition(ticket.id, ticket.version, "pending", dispatcher, now=MONDAY,
                                  pending_reason="Which office are you in?")
    ticket = incidents.transition(ticket.id, ticket.version, "resolved", dispatcher, now=MONDAY,
                                  resolution_code="solved_workaround", solution="Restarted it.")
    assert outgoing.send_queued(MONDAY + dt.timedelta(minutes=1)).failed == []
    mails = _by_to(server)
    subjects = [m["Subject"] for m in mails["ann@example.org"]]
    ref = ticket.ref
    # (mails queued in the same second may go in either order)
    assert sorted(subjects) == sorted([f"[{ref}] Vi har tagit emot ditt ärende: VPN down",
                                       f"[{ref}] Ditt ärende hanteras: VPN down",
                                       f"[{ref}] Vi väntar på dig: VPN down",
                                       f"[{ref}] Löst: VPN down"])
    assert {m["Content-Language"] for m in mails["ann@example.org"]} == {"sv"}
    by_subject = {m["Subject"]: m.get_content() for m in mails["ann@example.org"]}
    assert "Which office are you in?" in by_subject[f"[{ref}] Vi väntar på dig: VPN down"]
    assert "Restarted it." in by_subject[f"[{ref}] Löst: VPN down"]
    [agent_mail] = mails["bo@example.org"]  # English: Bo has no language of his own
    assert agent_mail["Subject"] == f"[{ref}] Assigned to you (P{ticket.priority}): VPN down"
    assert agent_mail["Content-Language"] == "en"
    history = [h.new for h in records.history("incident", ticket.id) if h.field == "!mail"]
    assert "notification 'resolved' sent to ann@example.org at 2027-03-01 10:01 UTC" in history
    assert len(history) == 5


def test_nobody_is_mailed_about_their_own_action_and_rollback_queues_nothing(desk):
    server, ann, bo, _lead, team, _dispatcher = desk
    ticket = incidents.create_incident({"title": "Mouse", "caller": ann.id, "team": team.id},
                                       Actor(ann.id, ann.name))
    assert MailOutbox.select().count() == 0  # Ann raised it herself
    with pytest.raises(Exception, match="resolution code"):  # refused: nothing changes
        incidents.update_incident(ticket.id, ticket.version,
                                  {"assignee": bo.id, "status": "resolved"})
    assert MailOutbox.select().count() == 0
    incidents.update_incident(ticket.id, ticket.version, {"assignee": bo.id},
                              Actor(bo.id, bo.name))
    assert [r.to_address for r in MailOutbox.select()] == ["ann@example.org"]


def test_agent_mail_waits_for_service_hours_unless_priority_one(desk):
    server, ann, bo, _lead, team, dispatcher = desk
    low = incidents.create_incident({"title": "Slow laptop", "caller": ann.id, "team": team.id,
                                     "impact": 3, "urgency": 3}, dispatcher)
    high = incidents.create_incident({"title": "Payroll down", "caller": ann.id,
                                      "team": team.id, "impact": 1, "urgency": 1}, dispatcher)
    assert high.priority == 1 and low.priority > 1
    for ticket in (low, high):
        incidents.update_incident(ticket.id, ticket.version, {"assignee": bo.id}, dispatcher,
                                  now=SATURDAY)
    held = MailOutbox.get((MailOutbox.to_address == "bo@example.org")
                          & (MailOutbox.record_id == low.id))
    assert held.not_before == NEXT_MONDAY_8
    outgoing.send_queued(SATURDAY + dt.timedelta(minutes=1))
    agent_subjects = [m["Subject"] for m in _by_to(server)["bo@example.org"]]
    assert agent_subjects == [f"[{high.ref}] Assigned to you (P1): Payroll down"]
    outgoing.send_queued(NEXT_MONDAY_8)
    assert len(_by_to(server)["bo@example.org"]) == 2


def test_sla_risk_and_breach_reach_the_assignee_and_the_lead(desk):
    server, ann, bo, lead, team, dispatcher = desk
    ticket = incidents.create_incident({"title": "Disk full", "caller": ann.id, "team": team.id,
                                        "assignee": bo.id, "impact": 1, "urgency": 1,
                                        "opened_at": MONDAY}, dispatcher)
    MailOutbox.delete().execute()  # (only the SLA mail below is of interest here)
    due = incidents.records.get(type(ticket), ticket.id).resolution_due
    escalation.tick(due - dt.timedelta(minutes=1))
    escalation.tick(due + dt.timedelta(minutes=1))
    outgoing.send_queued(due + dt.timedelta(minutes=2))
    mails = _by_to(server)
    for address in ("bo@example.org", "lea@example.org"):
        assert [m["Subject"].split(" (P1)")[0] for m in mails[address]] == [
            f"[{ticket.ref}] SLA at risk", f"[{ticket.ref}] SLA breached"]
    assert "ann@example.org" not in mails
