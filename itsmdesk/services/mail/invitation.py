"""Outage announcements by mail, with a calendar invitation of the window (RFC 5545/5546).

:func:`announcement_changed` is called by ``services/servicedesk/announcements.py`` inside the
write that creates, corrects or withdraws an announcement (manual ones, and the ones an approved
change with an outage makes).  It mails the people subscribed to the announcement's business
services (``services/mail/subscriptions.py``; an ``it_staff`` announcement only the agents among
them, one for a site only the people of that site or of none), each in their language, with an
``.ics`` invitation:

* one calendar event per announcement, UID ``announcement-<id>@itsmdesk``, kept for its life;
* the first mailing is SEQUENCE 0, METHOD:REQUEST; a correction (title, text, window or services
  changed) is the same UID with SEQUENCE + 1, to the earlier recipients and the current
  subscribers, so calendars move the event instead of adding one;
* a withdrawal is METHOD:CANCEL, STATUS:CANCELLED, SEQUENCE + 1, to everyone mailed before;
* a save that changes none of that mails nobody (the event's digest is kept in the invitation as
  ``X-ITSMDESK-DIGEST``).

A change announcement is mailed only when the change has an outage (``outage`` or a downtime
window); an announcement with no service mails nobody.  The event is written with icalendar,
in UTC, as ``reports/ical.py`` writes the change schedule (that module is in the reports layer
and translates through Qt; this one renders for each recipient's language without Qt).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from email.utils import parseaddr
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vText

from itsmdesk.models.base import utcnow
from itsmdesk.models.cmdb import CI
from itsmdesk.models.mail_outbox import MailOutbox
from itsmdesk.models.people import Person
from itsmdesk.models.servicedesk import Announcement, AnnouncementService
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.mail import account, outgoing, subscriptions, templates

PRODID = "-//itsmdesk//Outage announcements//EN"


def uid_for(announcement_id: Any) -> str:
    return f"announcement-{announcement_id}@itsmdesk"


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC, microsecond=0)


def _end(a: Announcement) -> dt.datetime:
    return a.ends_at or a.starts_at + dt.timedelta(hours=1)


def _services(a: Announcement) -> list[tuple[uuid.UUID, str]]:
    return [(r.id, r.name) for r in CI.select(CI.id, CI.name)
            .join(AnnouncementService, on=(AnnouncementService.ci == CI.id))
            .where(AnnouncementService.announcement == a.id).order_by(CI.name)]


def _digest(a: Announcement, services: list[tuple[uuid.UUID, str]]) -> str:
    text = "\n".join([a.title, a.body or "", str(a.starts_at), str(_end(a)), str(a.active),
                      *sorted(str(s) for s, _n in services)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_ics(a: Announcement, services: list[str], sequence: int, method: str,
              organizer: str, attendee: str, digest: str, now: dt.datetime) -> str:
    """The invitation (or cancellation) of the announcement's window, for one attendee."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    ev = Event()
    ev.add("uid", uid_for(a.id))
    ev.add("sequence", sequence)
    ev.add("dtstamp", _utc(now))
    ev.add("dtstart", _utc(a.starts_at))
    ev.add("dtend", _utc(_end(a)))
    ev.add("summary", a.title)
    if a.body:
        ev.add("description", a.body)
    if services:
        ev.add("location", ", ".join(services))
    ev.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    ev.add("transp", "TRANSPARENT")  # (an outage does not make the reader busy)
    org = vCalAddress(f"mailto:{organizer}")
    org.params["cn"] = vText("Service desk")
    ev.add("organizer", org)
    att = vCalAddress(f"mailto:{attendee}")
    att.params["role"] = vText("NON-PARTICIPANT")
    att.params["rsvp"] = vText("FALSE")
    ev.add("attendee", att)
    ev.add("x-itsmdesk-digest", digest)
    cal.add_component(ev)
    return cal.to_ical().decode("utf-8")


def _audience(a: Announcement, people: list[Person]) -> list[Person]:
    out = []
    for person in people:
        if a.audience == "it_staff" and not person.is_agent:
            continue
        if a.site_id is not None and person.site_id not in (None, a.site_id):
            continue
        out.append(person)
    return out


def _mails_an_outage(a: Announcement) -> bool:
    if a.kind != "change" or a.change_id is None:
        return True
    from itsmdesk.models.change import Change

    change = Change.get_or_none(Change.id == a.change_id)
    return change is not None and bool(change.outage or change.downtime_start)


def announcement_changed(announcement_id: Any, actor: Actor = SYSTEM,
                         now: dt.datetime | None = None) -> int:
    """Queue the invitation, correction or cancellation this write calls for; returns how
    many mails were queued."""
    if not outgoing.enabled():
        return 0
    now = (now or utcnow()).replace(microsecond=0)
    a = Announcement.get_or_none(Announcement.id == announcement_id)
    if a is None:
        return 0
    uid = uid_for(a.id)
    earlier = list(MailOutbox.select(MailOutbox.to_address, MailOutbox.person,
                                     MailOutbox.ical_sequence, MailOutbox.ical_method,
                                     MailOutbox.ics)
                   .where(MailOutbox.ical_uid == uid)
                   .order_by(MailOutbox.ical_sequence.desc(), MailOutbox.created_at.desc()))
    last = earlier[0] if earlier else None
    services = _services(a)
    digest = _digest(a, services)
    if last is not None and (last.ical_method == "CANCEL" and not a.active
                             or f"X-ITSMDESK-DIGEST:{digest}" in (last.ics or "")):
        return 0  # nothing a reader would see changed
    if not a.active:
        if last is None or last.ical_method == "CANCEL":
            return 0
        method, event = "CANCEL", "announcement_cancel"
        people = _people_of(earlier)
    else:
        if not services or not _mails_an_outage(a):
            return 0
        method, event = "REQUEST", "announcement"
        people = _audience(a, subscriptions.subscribers(s for s, _n in services))
        known = {str(p.id) for p in people}
        people += [p for p in _people_of(earlier) if str(p.id) not in known]
    if not people:
        return 0
    sequence = 0 if last is None else last.ical_sequence + 1
    # (the address the mail goes out from: mailto: takes the address, not "Desk <a@b>")
    organizer = parseaddr(account.smtp_account().from_address)[1] or "itsmdesk@localhost"
    names = [n for _s, n in services]
    queued = 0
    for person in people:
        language = templates.language_for(person)
        kind_word = {"change": "change", "manual": "notice"}.get(a.kind, "outage")
        subject, body = templates.render(event, language, {
            "name": person.name, "title": a.title, "body": a.body or "",
            "start": f"{a.starts_at:%Y-%m-%d %H:%M}", "end": f"{_end(a):%Y-%m-%d %H:%M}",
            "services": ", ".join(names),
            "prefix": templates.word(language, "updated") if sequence else "",
            "what": templates.word(language, kind_word)})
        ics = build_ics(a, names, sequence, method, organizer, person.email, digest, now)
        outgoing.enqueue(event, person.email, subject, body, to_name=person.name,
                         person_id=person.id, language=language, about=a, not_before=now,
                         ics=ics, ical=(uid, sequence, method), actor=actor)
        queued += 1
    return queued


def _people_of(rows: list[MailOutbox]) -> list[Person]:
    ids = list(dict.fromkeys(r.person_id for r in rows if r.person_id is not None))
    if not ids:
        return []
    return list(Person.select().where(Person.id.in_(ids) & Person.email.is_null(False))
                .order_by(Person.name))
