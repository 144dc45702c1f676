"""Ticket notifications by mail, queued in the write that causes them.

Hooked in by explicit calls (the least invasive way that still queues inside the write's own
transaction; the change capture runs only after the commit, too late for that):

* :func:`ticket_created` from ``incidents.create_incident``: "received" to the caller, and
  "agent_assigned" to an assignee set at once;
* :func:`ticket_changed` from ``incidents.update_incident`` (every save, transition and
  escalation passes there): "assigned" to the caller and "agent_assigned" to the new assignee,
  "pending" (waiting for you) and "resolved" (or fulfilled) to the caller;
* :func:`sla_raised` from ``escalation`` (the tick and writes that raise the level):
  "sla_at_risk"/"sla_breached" to the assignee and the people the in-app notice goes to.

Mail to agents is not sent outside the service hours of the ticket's SLA calendar (the calendar
its SLA target counts on, ``sla.hours_for``) unless the ticket is priority 1: it is queued with
``not_before`` at the next moment of service hours.  Mail to callers goes at once.  Nobody is
mailed about their own action, and nothing is queued while no SMTP server is set.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from itsmdesk.models.base import utcnow
from itsmdesk.models.incident import Incident
from itsmdesk.models.people import Person, Team
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.mail import outgoing, templates

CALLER_EVENTS = ("received", "assigned", "pending", "resolved")
AGENT_EVENTS = ("agent_assigned", "sla_at_risk", "sla_breached")
_TICK = dt.timedelta(microseconds=1)


def _person(person_id: Any) -> Person | None:
    return Person.get_or_none(Person.id == person_id) if person_id else None


def service_hours_start(incident: Incident, now: dt.datetime) -> dt.datetime:
    """``now`` when it is within the service hours of the ticket's SLA calendar (or the ticket
    is priority 1), else the next moment that is."""
    if incident.priority == 1:
        return now
    from itsmdesk.services.servicedesk import calendars, sla

    hours = sla.hours_for(sla.target(incident.kind, incident.priority, incident.service_id))
    return calendars.add_business(hours, now, _TICK) - _TICK


def _values(incident: Incident, person: Person) -> dict[str, Any]:
    assignee = _person(incident.assignee_id)
    team = Team.get_or_none(Team.id == incident.team_id) if incident.team_id else None
    language = templates.language_for(person)
    return {"ref": incident.ref, "title": incident.title, "name": person.name,
            "assignee": assignee.name if assignee else templates.word(language, "unassigned"),
            "team": team.name if team else templates.word(language, "no_team"),
            "pending_reason": incident.pending_reason or "", "solution": incident.solution or "",
            "priority": incident.priority,
            "due": f"{incident.resolution_due:%Y-%m-%d %H:%M}" if incident.resolution_due else "",
            "status": incident.status}


def _queue(event: str, incident: Incident, person: Person | None, actor: Actor,
           now: dt.datetime, extra: dict[str, Any] | None = None) -> bool:
    if person is None or not person.email or not person.active:
        return False
    if actor.person_id is not None and str(actor.person_id) == str(person.id):
        return False  # nobody is told of what they did themselves
    language = templates.language_for(person)
    subject, body = templates.render(event, language, {**_values(incident, person),
                                                       **(extra or {})})
    not_before = service_hours_start(incident, now) if event in AGENT_EVENTS else now
    outgoing.enqueue(event, person.email, subject, body, to_name=person.name,
                     person_id=person.id, language=language, about=incident,
                     not_before=not_before, actor=actor)
    return True


def ticket_created(incident: Incident, actor: Actor = SYSTEM, now: dt.datetime | None = None
                   ) -> int:
    if not outgoing.enabled():
        return 0
    now = now or utcnow()
    sent = _queue("received", incident, _person(incident.caller_id), actor, now)
    if incident.assignee_id:
        sent += _queue("agent_assigned", incident, _person(incident.assignee_id), actor, now)
    return int(sent)


def ticket_changed(before: dict[str, Any], incident: Incident, actor: Actor = SYSTEM,
                   now: dt.datetime | None = None) -> int:
    """``before``: ``assignee`` and ``status`` as they were before the write."""
    if not outgoing.enabled():
        return 0
    now = now or utcnow()
    caller = _person(incident.caller_id)
    sent = 0
    if incident.assignee_id and str(incident.assignee_id) != str(before.get("assignee") or ""):
        sent += _queue("assigned", incident, caller, actor, now)
        sent += _queue("agent_assigned", incident, _person(incident.assignee_id), actor, now)
    if incident.status != before.get("status"):
        if incident.status == "pending":
            sent += _queue("pending", incident, caller, actor, now)
        elif incident.status in ("resolved", "fulfilled"):
            sent += _queue("resolved", incident, caller, actor, now)
    return sent


def sla_raised(incident: Incident, level: int, pct: int, leads: list[Person],
               now: dt.datetime | None = None, actor: Actor = SYSTEM) -> int:
    """The ticket reached its escalation share (level 1) or passed its due (level 2): the
    assignee and ``leads`` hear of it by mail."""
    if not outgoing.enabled() or level < 1:
        return 0
    now = now or utcnow()
    row = Incident.get_or_none(Incident.id == incident.id) or incident  # (the tick reads a part)
    people = [p for p in [_person(row.assignee_id), *leads] if p is not None]
    seen: set[str] = set()
    sent = 0
    for person in people:
        if str(person.id) in seen:
            continue
        seen.add(str(person.id))
        sent += _queue("sla_breached" if level >= 2 else "sla_at_risk", row, person, actor, now,
                       {"pct": pct})
    return sent
