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

RUNNING = sla.RUNNING  # pending: clock stopped


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
    leads = leads_for(incident)
    for person in leads:
        notify(person, text, incident, now)
        sent += 1
    _mail(incident, level, leads, now, actor)
    return sent


def _mail(incident: Incident, level: int, leads: list[Person], now: dt.datetime,
          actor: Actor = SYSTEM) -> None:
    """The same news by mail to the assignee and the leads (queued in this write)."""
    from itsmdesk.services.mail import notifications, outgoing

    if not outgoing.enabled():
        return
    pct = sla.target(incident.kind, incident.priority, incident.service_id).escalate_at_pct
    notifications.sla_raised(incident, level, pct, leads, now, actor)


def _text(incident: Incident, level: int, pct: int) -> str:
    if level >= 2:
        return f"{incident.ref} breached its resolution target: {incident.title}"
    return f"{incident.ref} has used {pct}% of its resolution time: {incident.title}"


def notify_raised(incident: Incident, before: int, after: int, now: dt.datetime) -> int:
    """A write raised the ticket's escalation level (its SLA clock says so): tell the leads as
    the tick would have."""
    if after <= before or incident.status not in RUNNING + ("pending",):
        return 0
    pct = sla.target(incident.kind, incident.priority, incident.service_id).escalate_at_pct
    sent = 0
    leads = leads_for(incident)
    for person in leads:
        notify(person, _text(incident, after, pct), incident, now)
        sent += 1
    _mail(incident, after, leads, now)
    return sent


def candidates(now: dt.datetime, limit: int = 5000, lookup: sla.Targets | None = None
               ) -> tuple[list[Incident], list[tuple[Incident, int]]]:
    """What the tick moves at ``now``: (running tickets past their due and not yet marked
    breached, [(running ticket that reached its escalation share and is not yet flagged,
    share)]).  A running ticket's stored due is the instant its target is reached, so
    ``due < now`` is a breach and ``due <= sla.risk_threshold`` is the share reached (exact,
    integer arithmetic; one threshold per kind, priority and service with an SLA of its own).
    The stored state of a running ticket is ok or at_risk (levels 0 and 1) until the tick marks
    it, so one query ranges over the ``(sla_state, resolution_due)`` index; no history is
    read."""
    lookup = lookup or sla.Targets()
    risk = None
    for kind in ("incident", "request"):
        for priority in (1, 2, 3, 4, 5):
            own = lookup.services(kind, priority)  # services with their own SLA
            for service in [None] + own:
                threshold = sla.risk_threshold(kind, priority, now, lookup, service)
                cond = ((Incident.kind == kind) & (Incident.priority == priority)
                        & (Incident.resolution_due <= threshold))
                if service is not None:
                    cond &= Incident.service == service
                elif own:
                    cond &= Incident.service.is_null() | Incident.service.not_in(own)
                risk = cond if risk is None else (risk | cond)
    late = Incident.sla_state.in_(("ok", "at_risk")) & (Incident.resolution_due < now)
    rows = (Incident.select(Incident.id, Incident.ref, Incident.title, Incident.kind,
                            Incident.priority, Incident.service, Incident.team, Incident.assignee,
                            Incident.status, Incident.sla_state, Incident.resolution_due)
            .where(Incident.status.in_(RUNNING) & (late | ((Incident.sla_state == "ok") & risk)))
            .order_by(Incident.resolution_due).limit(limit))
    breached: list[Incident] = []
    flagged: list[tuple[Incident, int]] = []
    for row in rows:
        if row.resolution_due < now:
            breached.append(row)
        else:
            flagged.append((row, lookup(row.kind, row.priority, row.service_id)[0].escalate_at_pct))
    return breached, flagged


def tick(now: dt.datetime | None = None, actor: Actor = SYSTEM, limit: int = 5000) -> TickResult:
    """Flag tickets at risk and mark breaches as of ``now`` (see :func:`candidates`); each
    raise notifies the team lead and the assignee's manager.  Only running tickets move (a
    pending ticket's clock stands still; writes store the state of every other change)."""
    now = now or utcnow()
    result = TickResult()
    with records.atomic():
        breached, flagged = candidates(now, limit)
        for row in breached:
            result.notifications += _flag(row, 2, "breached", _text(row, 2, 0), now, actor)
            result.breached.append(row.ref)
        for row, pct in flagged:
            result.notifications += _flag(row, 1, "at_risk", _text(row, 1, pct), now, actor)
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
