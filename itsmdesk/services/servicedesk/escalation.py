"""Automatic escalation and in-app notifications.

:func:`tick` (run by the app every minute and by ``itsmdesk sla tick``) finds open tickets that
reached the escalation share of their resolution target (flag them ``at_risk``, notify the team
lead) and those past their due date (mark them ``breached``, notify again).  It touches only its
own fields (``sla_state``, ``escalation_level``) without a version check, so it never loses to or
overwrites a person's edit; each flag is journalled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from itsmdesk.models.base import utcnow
from itsmdesk.models.incident import Incident
from itsmdesk.models.people import Person, Team
from itsmdesk.models.servicedesk import Notification
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.servicedesk import sla

RUNNING = ("new", "approval", "assigned", "in_progress")  # pending: clock stopped


@dataclass
class TickResult:
    flagged: list[str] = field(default_factory=list)  # refs now at risk
    breached: list[str] = field(default_factory=list)
    notifications: int = 0


def leads_for(incident: Incident) -> list[Person]:
    """Who hears of an escalation: the team lead, and the assignee's manager."""
    people: list[Person] = []
    if incident.team_id:
        team = Team.get_or_none(Team.id == incident.team_id)
        if team and team.lead_id:
            lead = Person.get_or_none(Person.id == team.lead_id)
            if lead:
                people.append(lead)
    if incident.assignee_id:
        assignee = Person.get_or_none(Person.id == incident.assignee_id)
        if assignee and assignee.manager_id and assignee.manager_id not in [p.id for p in people]:
            manager = Person.get_or_none(Person.id == assignee.manager_id)
            if manager:
                people.append(manager)
    return people


def notify(person: Person, text: str, incident: Incident | None = None,
           now: dt.datetime | None = None) -> Notification:
    return records.create(Notification, {"person": person.id, "created_at": now or utcnow(),
                                         "text": text,
                                         "record_kind": incident.kind if incident else None,
                                         "record_id": incident.id if incident else None})


def _flag(incident: Incident, level: int, state: str, text: str, now: dt.datetime,
          actor: Actor) -> int:
    records.update(Incident, incident.id, None, {"escalation_level": level, "sla_state": state},
                   actor)
    sent = 0
    for person in leads_for(incident):
        notify(person, text, incident, now)
        sent += 1
    return sent


def tick(now: dt.datetime | None = None, actor: Actor = SYSTEM, limit: int = 5000) -> TickResult:
    """Flag tickets at risk and mark breaches as of ``now``."""
    now = now or utcnow()
    result = TickResult()
    with records.atomic():
        breached = (Incident.select()
                    .where(Incident.status.in_(RUNNING) & (Incident.escalation_level < 2)
                           & (Incident.resolution_due < now))
                    .order_by(Incident.resolution_due).limit(limit))
        for row in breached:
            result.notifications += _flag(row, 2, "breached",
                                          f"{row.ref} breached its resolution target: {row.title}",
                                          now, actor)
            result.breached.append(row.ref)
        for kind in ("incident", "request"):
            for priority in (1, 2, 3, 4, 5):
                threshold = sla.risk_threshold(kind, priority, now)
                rows = (Incident.select()
                        .where((Incident.kind == kind) & (Incident.priority == priority)
                               & Incident.status.in_(RUNNING) & (Incident.escalation_level == 0)
                               & (Incident.resolution_due <= threshold))
                        .order_by(Incident.resolution_due).limit(limit))
                for row in rows:
                    pct = sla.target(kind, priority).escalate_at_pct
                    result.notifications += _flag(
                        row, 1, "at_risk",
                        f"{row.ref} has used {pct}% of its resolution time: {row.title}", now, actor)
                    result.flagged.append(row.ref)
    return result


def notifications_for(person_id, unread_only: bool = True, limit: int = 50) -> list[Notification]:  # noqa: ANN001
    query = Notification.select().where(Notification.person == person_id)
    if unread_only:
        query = query.where(Notification.read == False)  # noqa: E712
    return list(query.order_by(Notification.created_at.desc()).limit(limit))


def unread_count(person_id) -> int:  # noqa: ANN001
    return (Notification.select().where((Notification.person == person_id)
                                        & (Notification.read == False))  # noqa: E712
            .count())


def mark_read(notification_ids, actor: Actor = SYSTEM) -> int:  # noqa: ANN001
    return records.update_rows(Notification, notification_ids, {"read": True}, actor)
