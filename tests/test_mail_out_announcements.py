"""Outage announcements mailed to subscribers with an .ics invitation (both back ends)."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar
from mail_out_server import SmtpServer
from test_mail_out_outbox import configure

from itsmdesk.errors import ValidationError
from itsmdesk.models.mail_outbox import MailOutbox
from itsmdesk.services import people
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.mail import invitation, outgoing, subscriptions
from itsmdesk.services.servicedesk import announcements

START = dt.datetime(2027, 3, 6, 22, 0)
LATER = dt.datetime(2027, 4, 1, 0, 0)  # the sender runs after every queueing below


@pytest.fixture
def services(db):
    with SmtpServer() as server:
        configure(server.port)
        cmdb.ensure_standard_classes()
        mail = cmdb.create_ci({"name": "Mail", "ci_class": "business_service"})
        shop = cmdb.create_ci({"name": "Shop", "ci_class": "business_service"})
        ann = people.create_person({"name": "Ann", "email": "ann@example.org", "language": "sv"})
        bo = people.create_person({"name": "Bo", "email": "bo@example.org"})
        cy = people.create_person({"name": "Cy", "email": "cy@example.org"})
        subscriptions.subscribe(mail.id, ann.id)
        subscriptions.subscribe(mail.id, bo.id)
        subscriptions.subscribe(shop.id, cy.id)
        yield server, mail, shop, ann, bo, cy


def _subject(message) -> str:  # noqa: ANN001
    """The subject as a person reads it (a long one comes folded)."""
    return " ".join(str(message["Subject"]).split())


def _event(message):  # noqa: ANN001, ANN202
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    cal = Calendar.from_ical(part.get_content())
    [event] = cal.walk("VEVENT")
    return cal, event


def test_invitation_correction_and_cancellation_update_one_event(services):
    server, mail, shop, ann, bo, cy = services
    a = announcements.create_announcement(
        {"title": "Mail server upgrade", "kind": "planned_outage", "starts_at": START,
         "ends_at": START + dt.timedelta(hours=2), "body": "Mail is down."}, [mail.id])
    outgoing.send_queued(LATER)
    first = {m.rcpt_tos[0]: m.message for m in server.messages}
    assert sorted(first) == ["ann@example.org", "bo@example.org"]  # not Cy (Shop only)
    assert _subject(first["ann@example.org"]) == (
        "Mail server upgrade (2027-03-06 22:00 - 2027-03-07 00:00 UTC)")
    assert "Planerat avbrott" in first["ann@example.org"].get_body(("plain",)).get_content()
    cal, event = _event(first["bo@example.org"])
    uid = str(event["UID"])
    assert (str(cal["METHOD"]), uid, int(event["SEQUENCE"])) == (
        "REQUEST", invitation.uid_for(a.id), 0)
    assert event.decoded("DTSTART") == START.replace(tzinfo=dt.UTC)
    assert str(event["ATTENDEE"]) == "mailto:bo@example.org"

    # a save that changes nothing a reader sees mails nobody
    a = announcements.update_announcement(a.id, a.version, {"audience": "everyone"})
    assert MailOutbox.select().where(MailOutbox.status == "queued").count() == 0

    # a correction: same UID, SEQUENCE 1, to the same people; Shop joins (Cy too now)
    a = announcements.update_announcement(
        a.id, a.version, {"starts_at": START + dt.timedelta(hours=1),
                          "ends_at": START + dt.timedelta(hours=3)}, [mail.id, shop.id])
    server.messages.clear()
    outgoing.send_queued(LATER)
    second = {m.rcpt_tos[0]: m.message for m in server.messages}
    assert sorted(second) == ["ann@example.org", "bo@example.org", "cy@example.org"]
    assert _subject(second["bo@example.org"]).startswith("Updated: Mail server upgrade")
    assert _subject(second["ann@example.org"]).startswith("Uppdaterat: Mail server upgrade")
    cal, event = _event(second["bo@example.org"])
    assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])) == ("REQUEST", uid, 1)
    assert event.decoded("DTSTART") == (START + dt.timedelta(hours=1)).replace(tzinfo=dt.UTC)

    # withdrawn: METHOD:CANCEL, SEQUENCE 2, to everyone mailed before
    announcements.withdraw(a.id, a.version)
    server.messages.clear()
    outgoing.send_queued(LATER)
    third = {m.rcpt_tos[0]: m.message for m in server.messages}
    assert sorted(third) == ["ann@example.org", "bo@example.org", "cy@example.org"]
    cal, event = _event(third["cy@example.org"])
    assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"]),
            str(event["STATUS"])) == ("CANCEL", uid, 2, "CANCELLED")
    assert _subject(third["cy@example.org"]).startswith("Cancelled: Mail server upgrade")
    assert _subject(third["ann@example.org"]).startswith("Inställt: Mail server upgrade")
    history = [h.new for h in announcements.records.history("announcement", a.id)
               if h.field == "!mail"]
    assert "notification 'announcement_cancel' (sequence 2) sent to cy@example.org at " \
           "2027-04-01 00:00 UTC" in history


def test_it_staff_announcements_reach_only_agents(services):
    server, mail, _shop, ann, bo, _cy = services
    people.update_person(bo.id, bo.version, {"is_agent": True})
    announcements.create_announcement({"title": "Relay patch", "starts_at": START,
                                       "audience": "it_staff"}, [mail.id])
    outgoing.send_queued(LATER)
    assert [m.rcpt_tos for m in server.messages] == [["bo@example.org"]]


def test_an_approved_change_with_an_outage_is_mailed_and_rescheduling_corrects_it(services):
    from itsmdesk.models.change import Change
    from itsmdesk.services import records
    from itsmdesk.services.change import changes as change_service

    server, mail, _shop, _ann, _bo, _cy = services
    change = change_service.create_change(
        {"title": "Swap mail disks", "type": "standard", "planned_start": START,
         "planned_end": START + dt.timedelta(hours=2), "outage": True,
         "implementation_plan": "Swap.", "backout_plan": "Swap back.", "test_plan": "Send."},
        cis=[mail.id])
    for target in ("submitted", "approved"):
        change = change_service.transition(change.id, change.version, target)
    outgoing.send_queued(LATER)
    assert sorted(m.rcpt_tos[0] for m in server.messages) == ["ann@example.org",
                                                              "bo@example.org"]
    _cal, event = _event(server.messages[0].message)
    assert int(event["SEQUENCE"]) == 0
    change = records.get(Change, change.id)
    change_service.reschedule(change.id, change.version, START + dt.timedelta(days=1),
                              START + dt.timedelta(days=1, hours=2))
    server.messages.clear()
    outgoing.send_queued(LATER)
    _cal, moved = _event(server.messages[0].message)
    assert (str(moved["UID"]), int(moved["SEQUENCE"])) == (str(event["UID"]), 1)
    assert moved.decoded("DTSTART") == (START + dt.timedelta(days=1)).replace(tzinfo=dt.UTC)


def test_subscriptions_only_to_business_services_and_only_with_an_address(services):
    _server, mail, _shop, ann, _bo, _cy = services
    server_ci = cmdb.create_ci({"name": "srv-9", "ci_class": "server"})
    with pytest.raises(ValidationError, match="not a business service"):
        subscriptions.subscribe(server_ci.id, ann.id)
    nomail = people.create_person({"name": "No Mail"})
    with pytest.raises(ValidationError, match="no e-mail address"):
        subscriptions.subscribe(mail.id, nomail.id)
    assert subscriptions.subscribe(mail.id, ann.id) is False  # already
    assert [s.name for s in subscriptions.subscribers_of(mail.id)] == ["Ann", "Bo"]
    assert subscriptions.unsubscribe(mail.id, ann.id) is True
    assert [s.name for s in subscriptions.subscribers_of(mail.id)] == ["Bo"]
    lines = [h.field for h in announcements.records.history("ci", mail.id)]
    assert "service_subscription-" in lines and "service_subscription+" in lines
