"""Incident Management and service requests: create, update, work log, attachments.

The ticket form reads :func:`incident_view` (an :class:`IncidentView`: the ticket with the names
it points at, its work log, attachments, children, allowed moves and the pickers' choices with
the priority matrix) or, for a new ticket, :func:`new_ticket`; it saves through
:func:`save_incident`.  Its other actions (escalations, notes, files, diagnosis, child links)
take the version the agent saw, so a stale action conflicts instead of overwriting."""

from __future__ import annotations

import datetime as dt
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsmdesk.config import Settings
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.incident import (
    CHANNELS,
    CLOSED_STATUSES,
    INCIDENT_STATUSES,
    REQUEST_STATUSES,
    Attachment,
    Incident,
    WorkLog,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import allowed, require
from itsmdesk.services.servicedesk import sla
from itsmdesk.services.servicedesk.priority import priority_for
from itsmdesk.services.validation import one_of, required_text

REF_PREFIX = {"incident": "INC", "request": "REQ"}


def _validate(values: dict[str, Any], creating: bool, kind: str) -> None:
    required_text(values, "title", "Title", 300, creating)
    one_of(values, "kind", ("incident", "request"), "Kind")
    one_of(values, "channel", CHANNELS, "Contact channel")
    one_of(values, "status", INCIDENT_STATUSES if kind == "incident" else REQUEST_STATUSES, "Status")
    for name in ("impact", "urgency"):
        one_of(values, name, (1, 2, 3), name.capitalize())


def create_incident(values: dict[str, Any], actor: Actor = SYSTEM) -> Incident:
    """Record an incident (or, with ``kind="request"``, a service request)."""
    values = dict(values)
    kind = values.setdefault("kind", "incident")
    _validate(values, True, kind)
    values.setdefault("impact", 3)
    values.setdefault("urgency", 3)
    values["priority"] = priority_for(values["impact"], values["urgency"])
    values["opened_at"] = (values.get("opened_at") or utcnow()).replace(microsecond=0)
    if values.get("assignee") and values.get("status", "new") == "new":
        values["status"] = "assigned"
    clock = sla.fields_for_new(values, utcnow())  # the SLA clock (services/servicedesk/sla.py)
    values.update(clock)
    require(actor, "ticket.create")
    if not allowed(actor, "ticket.work") and (
            set(values) - REQUESTER_FIELDS - set(clock) - {"kind", "impact", "urgency", "priority",
                                                           "opened_at", "status", "id"}
            or values.get("status", "new") != "new"):
        require(actor, "ticket.work")  # a requester raises a ticket; agents work it
    with records.atomic():
        row = records.create(Incident, values, actor, ref_prefix=REF_PREFIX[kind])
        from itsmdesk.services.mail import notifications  # mail queued in this write

        notifications.ticket_created(row, actor)
        return row


# What a requester may write on a ticket of their own (the rest is the agents').
REQUESTER_FIELDS = {"title", "description", "caller", "category", "ci", "service", "channel"}


def _may_edit(current: Incident, changes: dict[str, Any], actor: Actor,
              escalation: bool = False) -> None:
    """Requesters edit the words of their own tickets; agents work any ticket; moving a
    ticket from one team to another is a team lead's (an agent escalates, saying why)."""
    if not allowed(actor, "ticket.work"):
        if not allowed(actor, "ticket.see", current) or set(changes) - REQUESTER_FIELDS:
            require(actor, "ticket.work")
        return
    if "team" in changes and not escalation and current.team_id is not None:
        new = changes["team"]
        new = getattr(new, "id", new)
        if new is not None and str(new) != str(current.team_id):
            require(actor, "ticket.reassign_team")


def update_incident(incident_id, version: int | None, changes: dict[str, Any],
                    actor: Actor = SYSTEM, now: dt.datetime | None = None,  # noqa: ANN001
                    escalation: bool = False) -> Incident:
    """Edit fields; a status change runs the lifecycle rules (see :func:`transition_changes`)."""
    changes = dict(changes)
    with records.atomic() as write:
        now = (now or write.now).replace(microsecond=0)
        current = records.get(Incident, incident_id)
        before = {"assignee": current.assignee_id, "status": current.status}  # (mail)
        _may_edit(current, changes, actor, escalation)
        if version is not None and current.version != version:
            records.raise_conflict(current, version)
        _validate(changes, False, current.kind)
        impact = changes.get("impact", current.impact)
        urgency = changes.get("urgency", current.urgency)
        if "impact" in changes or "urgency" in changes:
            changes.setdefault("priority", priority_for(impact, urgency))
        if changes.get("assignee") and current.status == "new" and "status" not in changes:
            changes["status"] = "assigned"
        if "status" in changes and changes["status"] != current.status:
            changes = transition_changes(current, changes["status"], changes, now)
        service_changed = "service" in changes and str(getattr(
            changes["service"], "id", changes["service"])) != str(current.service_id)
        if service_changed or any(name in changes and changes[name] != getattr(current, name)
                                  for name in ("status", "priority", "opened_at")):
            # the SLA clock with this change in the ticket's history (sla.py); the journal
            # rows of this write carry ``now``, so the history read later says the same
            changes.update(sla.fields_after(current, now, changes.get("status"),
                                            changes.get("priority"), changes.get("responded_at"),
                                            changes.get("opened_at"), changes.get("service"),
                                            service_changed))
            saved, write.now = write.now, now
            try:
                row = records.update(Incident, current.id, version, changes, actor, current=current)
            finally:
                write.now = saved
            from itsmdesk.services.servicedesk import escalation as escalation_

            escalation_.notify_raised(row, current.escalation_level or 0, row.escalation_level, now)
        else:
            row = records.update(Incident, current.id, version, changes, actor, current=current)
        from itsmdesk.services.mail import notifications  # mail queued in this write

        notifications.ticket_changed(before, row, actor, now)
        return row


TRANSITIONS = {
    "incident": {
        "new": ("assigned", "in_progress", "pending", "resolved"),
        "assigned": ("in_progress", "pending", "resolved", "new"),
        "in_progress": ("pending", "resolved", "assigned"),
        "pending": ("in_progress", "assigned", "resolved"),
        "resolved": ("closed", "in_progress"),  # in_progress = reopen
        "closed": ("in_progress",),  # reopen
    },
    "request": {
        "new": ("approval", "assigned", "in_progress", "pending", "fulfilled", "cancelled"),
        "approval": ("assigned", "cancelled"),
        "assigned": ("in_progress", "pending", "fulfilled", "cancelled"),
        "in_progress": ("pending", "fulfilled", "assigned", "cancelled"),
        "pending": ("in_progress", "assigned", "fulfilled", "cancelled"),
        "fulfilled": ("closed", "in_progress"),
        "closed": ("in_progress",),
        "cancelled": (),
    },
}
RESOLUTION_CODES = ("solved_workaround", "solved_permanently", "solved_by_change",
                    "not_reproducible", "duplicate", "user_error", "no_fault_found")


def allowed_statuses(incident: Incident) -> tuple[str, ...]:
    return TRANSITIONS.get(incident.kind, TRANSITIONS["incident"]).get(incident.status, ())


def transition_changes(current: Incident, status: str, changes: dict[str, Any],
                       now: dt.datetime) -> dict[str, Any]:
    """The field changes a status change brings (or a TransitionError)."""
    from itsmdesk.errors import TransitionError

    if status not in allowed_statuses(current):
        raise TransitionError(N_("{ref} cannot go from {old} to {new}"), field="status",
                              ref=current.ref, old=current.status, new=status)
    out = dict(changes)
    out["status"] = status
    if status == "pending":
        reason = (out.get("pending_reason") or "").strip()
        if not reason:
            raise ValidationError(N_("Say why the ticket is pending"), field="pending_reason")
        out["pending_reason"] = reason
        out["paused_since"] = now
    elif current.status == "pending":
        out.setdefault("pending_reason", None)
        if current.paused_since is not None:
            paused = int((now - current.paused_since).total_seconds())
            out["paused_seconds"] = (current.paused_seconds or 0) + max(0, paused)
        out["paused_since"] = None
    if status in ("resolved", "fulfilled"):
        code = (out.get("resolution_code") or current.resolution_code or "").strip()
        solution = (out.get("solution") or current.solution or "").strip()
        if not code:
            raise ValidationError(N_("A resolution code is required to resolve"),
                                  field="resolution_code")
        if not solution:
            raise ValidationError(N_("Describe the solution to resolve"), field="solution")
        out["resolution_code"], out["solution"] = code, solution
        out["resolved_at"] = now
        if current.outage_start and not current.outage_end:
            out["outage_end"] = now
    if status == "closed":
        out["closed_at"] = now
    if status == "cancelled":
        out["closed_at"] = now
    if current.status in CLOSED_STATUSES and status not in CLOSED_STATUSES:  # reopen
        out["resolved_at"] = None
        out["closed_at"] = None
    if current.responded_at is None and status != "new":
        out["responded_at"] = now
    return out


def transition(incident_id, version: int | None, target: str, actor: Actor = SYSTEM,
               now: dt.datetime | None = None, **fields: Any) -> Incident:  # noqa: ANN001
    """Move a ticket through its lifecycle (pending needs ``pending_reason``; resolved needs
    ``resolution_code`` and ``solution``; resolved/closed -> in_progress reopens)."""
    return update_incident(incident_id, version, {"status": target, **fields}, actor, now=now)


def open_children(incident_id) -> list[Incident]:  # noqa: ANN001
    return list(Incident.select().where((Incident.parent == incident_id)
                                        & Incident.status.not_in(CLOSED_STATUSES))
                .order_by(Incident.opened_at))


def resolve_children(parent_id, actor: Actor = SYSTEM, now: dt.datetime | None = None) -> int:  # noqa: ANN001
    """Resolve the open children of a (resolved) major incident with its code and solution."""
    with records.atomic():
        parent = records.get(Incident, parent_id)
        done = 0
        for child in open_children(parent.id):
            transition(child.id, child.version, "resolved" if child.kind == "incident" else "fulfilled",
                       actor, now=now, resolution_code=parent.resolution_code or "solved_workaround",
                       solution=f"Resolved with {parent.ref}: {parent.solution or ''}".strip())
            done += 1
        return done


def link_child(parent_id, child_id, actor: Actor = SYSTEM,  # noqa: ANN001
               child_version: int | None = None, version: int | None = None) -> Incident:
    """Make ``child_id`` a child ticket of ``parent_id`` (which becomes a major incident).
    ``child_version``: the child's version as the agent saw it; ``version``: the parent's (the
    major incident's form links a child): a stale link conflicts."""
    with records.atomic():
        parent = records.get(Incident, parent_id)
        if version is not None and parent.version != version:
            records.raise_conflict(parent, version)
        if str(parent.id) == str(child_id):
            raise ValidationError(N_("A ticket cannot be its own parent"), field="parent")
        if not parent.major:
            records.update(Incident, parent.id, version, {"major": True}, actor)
        return records.update(Incident, child_id, child_version, {"parent": parent.id}, actor)


def link_child_ref(parent_id, version: int | None, child_ref: str,  # noqa: ANN001
                   actor: Actor = SYSTEM) -> Incident:
    """The major incident's form links the ticket ``child_ref`` (INC-/REQ-) under it."""
    with records.atomic():
        child = get_by_ref(child_ref)
        return link_child(parent_id, child.id, actor, None, version)


def escalate_to_team(incident_id, version: int | None, team_id, reason: str,  # noqa: ANN001
                     actor: Actor = SYSTEM) -> Incident:
    """Functional escalation: hand the ticket to another team, saying why."""
    from itsmdesk.models.people import Team

    if not (reason or "").strip():
        raise ValidationError(N_("Say why the ticket goes to another team"), field="reason")
    with records.atomic():
        team = records.get(Team, team_id)
        current = records.get(Incident, incident_id)
        changes: dict[str, Any] = {"team": team.id, "assignee": None}
        if current.status in ("in_progress", "new"):
            changes["status"] = "assigned"
        row = update_incident(incident_id, version, changes, actor, escalation=True)
        add_work_log(row.id, f"Escalated to {team.name}: {reason.strip()}", actor)
        return records.get(Incident, row.id)


def escalate_to_manager(incident_id, reason: str, actor: Actor = SYSTEM,  # noqa: ANN001
                        now: dt.datetime | None = None, version: int | None = None) -> list:
    """Hierarchical escalation: notify the team lead (and the assignee's manager).
    ``version``: the ticket's version as the agent saw it (a stale escalation conflicts)."""
    from itsmdesk.services.servicedesk import escalation

    if not (reason or "").strip():
        raise ValidationError(N_("Say why the ticket is escalated"), field="reason")
    with records.atomic():
        incident = records.get(Incident, incident_id)
        if version is not None and incident.version != version:
            records.raise_conflict(incident, version)
        people = escalation.leads_for(incident)
        text = f"{incident.ref} escalated by {actor.name}: {reason.strip()}"
        notes = [escalation.notify(p, text, incident, now) for p in people]
        add_work_log(incident.id, f"Escalated to management: {reason.strip()}", actor,
                     version=version)
        return notes


def add_work_log(incident_id, text: str, actor: Actor = SYSTEM, public: bool = False,
                 minutes: int = 0, version: int | None = None) -> WorkLog:
    if not text or not text.strip():
        raise ValidationError(N_("A work log note needs some text"), field="text")
    with records.atomic():
        incident = records.get(Incident, incident_id)
        if not public:
            require(actor, "note.private")
        elif not allowed(actor, "ticket.work"):
            require(actor, "ticket.see", incident)
        return records.add_child(WorkLog, {"incident": incident.id, "author": actor.person_id,
                                           "public": public, "text": text.strip(),
                                           "time_spent_minutes": minutes}, actor, version)


def add_attachment(incident_id, path: str | Path, actor: Actor = SYSTEM,
                   settings: Settings | None = None, version: int | None = None) -> Attachment:
    from itsmdesk.services.attachment_files import read_limited

    settings = settings or Settings.from_env()
    # (size from fstat before reading, regular files only, the name made safe to show)
    name, data = read_limited(path, settings.max_attachment_bytes)
    with records.atomic():
        incident = records.get(Incident, incident_id)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return records.add_child(Attachment, {"incident": incident.id, "filename": name,
                                              "mime_type": mime, "size": len(data), "data": data,
                                              "added_by": actor.person_id}, actor, version)


def get_by_ref(ref: str) -> Incident:
    from itsmdesk.errors import NotFoundError

    row = Incident.get_or_none(Incident.ref == ref.strip().upper())
    if row is None:
        raise NotFoundError(N_("No incident or request {ref}"), ref=ref)
    return row


def work_log(incident_id, viewer: Actor | None = None) -> list[WorkLog]:  # noqa: ANN001
    """A ticket's notes, oldest first; with ``viewer``: nothing of a ticket that person may
    not see, and only the public notes for a person who may not read private ones."""
    from itsmdesk.services.visibility import sees_private_notes, tickets_visible_to

    query = WorkLog.select().where(WorkLog.incident == incident_id)
    visible = tickets_visible_to(viewer)
    if visible is not True:
        query = query.where(WorkLog.incident.in_(Incident.select(Incident.id).where(visible)))
    if not sees_private_notes(viewer):
        query = query.where(WorkLog.public == True)  # noqa: E712
    return list(query.order_by(WorkLog.created_at))


def categories(kind: str = "incident") -> list:
    from itsmdesk.models.servicedesk import Category

    return list(Category.select().where(Category.kind == kind).order_by(Category.name))


def choices(kind: str = "incident") -> dict[str, list[tuple[Any, str]]]:
    """What pickers offer: teams, agents, categories (id, label), for forms and bulk edit."""
    from itsmdesk.models.people import Person, Team

    teams = [(t.id, t.name) for t in Team.select(Team.id, Team.name).order_by(Team.name)]
    agents = [(p.id, p.name) for p in Person.select(Person.id, Person.name)
              .where((Person.is_agent == True) & (Person.active == True))  # noqa: E712
              .order_by(Person.name).limit(500)]
    cats = [(c.id, c.name) for c in categories(kind)]
    return {"team": teams, "assignee": agents, "category": cats}


def team_members_ids(team_id) -> list:  # noqa: ANN001
    from itsmdesk.models.people import TeamMember

    return [m.person_id for m in TeamMember.select(TeamMember.person).where(TeamMember.team == team_id)]


# -- the ticket form: one read model, one save ------------------------------------------------------
@dataclass(frozen=True)
class CategoryChoice:
    id: Any
    name: str
    script: tuple[dict, ...] = ()  # the category's diagnostic script (steps)


@dataclass(frozen=True)
class TicketChoices:
    """What the ticket form's pickers offer (id, name), and the priority matrix its impact x
    urgency preview reads (so the preview never asks the database)."""

    teams: tuple[tuple[Any, str], ...]
    assignees: tuple[tuple[Any, str], ...]
    categories: tuple[CategoryChoice, ...]
    matrix: dict[str, int]

    def priority(self, impact: int, urgency: int) -> int:
        from itsmdesk.services.servicedesk.priority import DEFAULT_MATRIX

        return priority_for(impact, urgency, self.matrix or dict(DEFAULT_MATRIX))

    def script(self, category_id: Any) -> tuple[dict, ...]:
        for category in self.categories:
            if category_id is not None and str(category.id) == str(category_id):
                return category.script
        return ()


def _choice_queries(kind: str) -> list:
    """The pickers' choices as four queries (teams, active agents, the categories of ``kind``
    with their scripts, the priority-matrix setting), for :func:`batch.select_many`."""
    from itsmdesk.models.base import Setting
    from itsmdesk.models.people import Person, Team
    from itsmdesk.models.servicedesk import Category
    from itsmdesk.services.servicedesk.priority import SETTING_KEY

    return [Team.select(Team.id, Team.name).order_by(Team.name),
            Person.select(Person.id, Person.name)
            .where((Person.is_agent == True) & (Person.active == True))  # noqa: E712
            .order_by(Person.name).limit(500),
            Category.select(Category.id, Category.name, Category.diagnostic_script)
            .where(Category.kind == kind).order_by(Category.name),
            Setting.select(Setting.value).where(Setting.key == SETTING_KEY)]


def _choices_from(teams: list, agents: list, cats: list, setting: list) -> TicketChoices:
    from itsmdesk.services.servicedesk.priority import DEFAULT_MATRIX

    matrix_value = setting[0][0] if setting and setting[0][0] else dict(DEFAULT_MATRIX)
    return TicketChoices(tuple(teams), tuple(agents),
                         tuple(CategoryChoice(cid, name, tuple(script or ()))
                               for cid, name, script in cats), dict(matrix_value))


def ticket_choices(kind: str = "incident") -> TicketChoices:
    """Teams, active agents, the categories of ``kind`` with their scripts, the priority matrix:
    one statement."""
    from itsmdesk.services.batch import select_many

    return _choices_from(*select_many(*_choice_queries(kind)))


@dataclass(frozen=True)
class NewTicketView:
    """What a new ticket's form starts from."""

    kind: str
    choices: TicketChoices
    channel: str = "phone"
    impact: int = 3
    urgency: int = 3
    status: str = "new"


def new_ticket(kind: str = "incident") -> NewTicketView:
    return NewTicketView(kind, ticket_choices(kind))


@dataclass(frozen=True)
class WorkLogLine:
    at: dt.datetime
    author: str
    public: bool
    text: str


@dataclass(frozen=True)
class AttachmentLine:
    id: Any
    filename: str
    size: int


@dataclass(frozen=True)
class ChildTicket:
    id: Any
    ref: str
    title: str
    status: str


@dataclass(frozen=True)
class InteractionLine:
    """A service desk contact (call, e-mail...) that became this ticket."""

    id: Any
    ref: str
    summary: str
    channel: str
    contacted_at: dt.datetime | None


@dataclass(frozen=True)
class IncidentView:
    """Everything the incident / service request form shows (names resolved, no rows)."""

    id: Any
    version: int
    ref: str
    kind: str
    title: str
    description: str | None
    channel: str
    status: str
    impact: int
    urgency: int
    priority: int
    major: bool
    caller_id: Any
    caller_name: str
    category_id: Any
    category_name: str
    ci_id: Any
    ci_name: str
    service_id: Any
    service_name: str
    team_id: Any
    team_name: str
    assignee_id: Any
    assignee_name: str
    pending_reason: str | None
    resolution_code: str | None
    solution: str | None
    problem_ref: str
    change_ref: str
    known_error_ref: str
    parent_ref: str
    opened_at: dt.datetime
    response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    sla_state: str
    allowed_statuses: tuple[str, ...]
    work_log: tuple[WorkLogLine, ...]
    attachments: tuple[AttachmentLine, ...]
    children: tuple[ChildTicket, ...]
    choices: TicketChoices
    # kept from another tool's export (shown read-only) and the contacts it came from
    caused_by_ci_id: Any = None
    caused_by_ci_name: str = ""
    reopened_at: dt.datetime | None = None
    reassignments: int | None = None
    handle_hours: float | None = None
    external_key: str | None = None
    interactions: tuple[InteractionLine, ...] = ()

    @property
    def open_children(self) -> tuple[ChildTicket, ...]:
        return tuple(c for c in self.children if c.status not in CLOSED_STATUSES)


def incident_view(incident_id: Any, viewer: Actor | None = None) -> IncidentView:
    """The ticket form's read model in ONE statement (:mod:`itsmdesk.services.batch`): the ticket
    with the names and references it points at, its work log, attachments and children, and the
    pickers' choices.  Announcements and suggestions are asked for apart.  With ``viewer``: a
    ticket that person may not see is not found, and a person who may not read private notes
    gets the public ones only."""
    import peewee as pw

    from itsmdesk.errors import NotFoundError
    from itsmdesk.models import CI, Change, Interaction, KnownError, Person, Problem
    from itsmdesk.models.people import Team
    from itsmdesk.models.servicedesk import Category
    from itsmdesk.services.batch import select_many
    from itsmdesk.services.visibility import sees_private_notes, tickets_visible_to

    caller, assignee, author = Person.alias(), Person.alias(), Person.alias()
    ci, service, parent, caused = CI.alias(), CI.alias(), Incident.alias(), CI.alias()
    kind_of_ticket = Incident.select(Incident.kind).where(Incident.id == incident_id)
    left = pw.JOIN.LEFT_OUTER
    names = ("caller_name", "assignee_name", "ci_name", "service_name", "team_name",
             "category_name", "problem_ref", "change_ref", "known_error_ref", "parent_ref",
             "caused_by_ci_name")
    own = [f for f in Incident._meta.sorted_fields]
    ticket = (Incident.select(*own, caller.name, assignee.name, ci.name, service.name, Team.name,
                              Category.name, Problem.ref, Change.ref, KnownError.ref, parent.ref,
                              caused.name)
              .join_from(Incident, caller, left, on=(Incident.caller == caller.id))
              .join_from(Incident, assignee, left, on=(Incident.assignee == assignee.id))
              .join_from(Incident, ci, left, on=(Incident.ci == ci.id))
              .join_from(Incident, service, left, on=(Incident.service == service.id))
              .join_from(Incident, Team, left, on=(Incident.team == Team.id))
              .join_from(Incident, Category, left, on=(Incident.category == Category.id))
              .join_from(Incident, Problem, left, on=(Incident.problem == Problem.id))
              .join_from(Incident, Change, left, on=(Incident.change == Change.id))
              .join_from(Incident, KnownError, left, on=(Incident.known_error == KnownError.id))
              .join_from(Incident, parent, left, on=(Incident.parent == parent.id))
              .join_from(Incident, caused, left, on=(Incident.caused_by_ci == caused.id))
              .where(Incident.id == incident_id))
    visible = tickets_visible_to(viewer)
    if visible is not True:
        ticket = ticket.where(visible)
    log_q = (WorkLog.select(WorkLog.created_at, author.name, WorkLog.public, WorkLog.text)
             .join_from(WorkLog, author, left, on=(WorkLog.author == author.id))
             .where(WorkLog.incident == incident_id).order_by(WorkLog.created_at))
    if not sees_private_notes(viewer):
        log_q = log_q.where(WorkLog.public == True)  # noqa: E712
    files_q = (Attachment.select(Attachment.id, Attachment.filename, Attachment.size)
               .where(Attachment.incident == incident_id).order_by(Attachment.added_at))
    children_q = (Incident.select(Incident.id, Incident.ref, Incident.title, Incident.status)
                  .where((Incident.parent == incident_id) & visible)
                  .order_by(Incident.opened_at).limit(200))
    contacts_q = (Interaction.select(Interaction.id, Interaction.ref, Interaction.summary,
                                     Interaction.channel, Interaction.contacted_at)
                  .where(Interaction.incident == incident_id)
                  .order_by(Interaction.contacted_at).limit(200))
    choice_qs = _choice_queries("incident")
    choice_qs[2] = (Category.select(Category.id, Category.name, Category.diagnostic_script)
                    .where(Category.kind.in_(kind_of_ticket)).order_by(Category.name))
    rows, log, files, children, contacts, *choices = select_many(
        ticket, log_q, files_q, children_q, contacts_q, *choice_qs)
    if not rows:
        raise NotFoundError(N_("No {kind} with id {id}"), kind="incident", id=incident_id)
    values = dict(zip([f.name for f in own] + list(names), rows[0], strict=True))
    row = Incident(**{f.name: values[f.name] for f in own})
    text = lambda value: value or ""  # noqa: E731
    return IncidentView(
        row.id, row.version, row.ref, row.kind, row.title, row.description, row.channel,
        row.status, row.impact, row.urgency, row.priority, bool(row.major),
        row.caller_id, text(values["caller_name"]), row.category_id, text(values["category_name"]),
        row.ci_id, text(values["ci_name"]), row.service_id, text(values["service_name"]),
        row.team_id, text(values["team_name"]), row.assignee_id, text(values["assignee_name"]),
        row.pending_reason, row.resolution_code, row.solution,
        text(values["problem_ref"]), text(values["change_ref"]), text(values["known_error_ref"]),
        text(values["parent_ref"]), row.opened_at, row.response_due, row.resolution_due,
        row.sla_state or "ok", allowed_statuses(row),
        tuple(WorkLogLine(at, name or "", bool(public), body) for at, name, public, body in log),
        tuple(AttachmentLine(*r) for r in files), tuple(ChildTicket(*r) for r in children),
        _choices_from(*choices), row.caused_by_ci_id, text(values["caused_by_ci_name"]),
        row.reopened_at, row.reassignments, row.handle_hours, row.external_key,
        tuple(InteractionLine(*r) for r in contacts))


TICKET_FIELDS = ("title", "description", "channel", "impact", "urgency", "category", "team",
                 "assignee", "caller", "ci", "service", "major", "status", "pending_reason",
                 "resolution_code", "solution")
LINK_FIELDS = ("problem", "change", "known_error", "parent")
"""Links the form edits by reference (``PRB-000001``, ``""`` to unlink)."""


def save_incident(incident_id: Any, version: int | None, edits: dict[str, Any],
                  actor: Actor = SYSTEM, new_id: Any = None,
                  now: dt.datetime | None = None) -> Incident:
    """Create (``incident_id`` None, with key ``new_id`` and ``edits["kind"]``) or update a
    ticket from the form's edits, in one transaction: its fields (a ``status`` among them runs
    the lifecycle: pending reason, resolution code and solution come with it) and its links by
    reference (``problem``, ``change``, ``known_error``, ``parent``)."""
    values = {k: v for k, v in edits.items() if k in TICKET_FIELDS}
    with records.atomic():
        for name in LINK_FIELDS:
            if name in edits:
                values[name] = resolve_ref(name, edits[name])
        if values.get("parent") is not None and incident_id is not None \
                and str(values["parent"]) == str(incident_id):
            raise ValidationError(N_("A ticket cannot be its own parent"), field="parent")
        if incident_id is None:
            values["kind"] = edits.get("kind") or "incident"
            values.setdefault("opened_at", now or utcnow())
            if new_id is not None:
                values["id"] = new_id
            return create_incident(values, actor)
        return update_incident(incident_id, version, values, actor, now=now)


def announcements_for_ticket(ci_id, service_id, now: dt.datetime | None = None) -> list[str]:  # noqa: ANN001
    from itsmdesk.services.servicedesk import announcements

    ids = [i for i in (ci_id, service_id) if i]
    return [f"{a.title} ({a.starts_at:%Y-%m-%d %H:%M}"
            + (f" – {a.ends_at:%Y-%m-%d %H:%M}" if a.ends_at else "") + " UTC)"
            for a in announcements.announcements_for(ids, at=now, include_future=True)]


def resolve_ref(kind: str, ref: str):  # noqa: ANN201
    """The id of the problem/change/known error/incident a reference names (None for "")."""
    from itsmdesk.errors import NotFoundError
    from itsmdesk.models import Change, KnownError, Problem

    ref = (ref or "").strip().upper()
    if not ref:
        return None
    model = {"problem": Problem, "change": Change, "known_error": KnownError,
             "parent": Incident}[kind]
    row = model.get_or_none(model.ref == ref)
    if row is None:
        raise NotFoundError(N_("No {kind} {ref}"), kind=kind.replace("_", " "), ref=ref)
    return row.id


def attachment_data(attachment_id) -> tuple[str, bytes]:  # noqa: ANN001
    from itsmdesk.services.attachment_files import safe_name

    att = Attachment.get_by_id(attachment_id)
    return safe_name(att.filename), bytes(att.data)  # (a name stored before names were checked)


def diagnostic_script(category_id) -> list[dict]:  # noqa: ANN001
    from itsmdesk.models.servicedesk import Category

    if category_id is None:
        return []
    cat = Category.get_or_none(Category.id == category_id)
    return list(cat.diagnostic_script or []) if cat else []


def _team_id(team):  # noqa: ANN001, ANN202
    """A script's route: a team id, or (scripts written before ids were stored) a team name."""
    import uuid as _uuid

    from itsmdesk.models.people import Team

    if not team:
        return None
    try:
        return _uuid.UUID(str(team))
    except ValueError:
        found = Team.get_or_none(Team.name == str(team))
        if found is None:
            raise ValidationError(N_("The diagnostic script routes to an unknown team: {team}"),
                                  field="team", team=team) from None
        return found.id


def record_diagnosis(incident_id, answers: list[tuple[str, str]], route_team=None,  # noqa: ANN001
                     actor: Actor = SYSTEM, version: int | None = None) -> Incident:
    """Write the answers of a diagnostic script to the work log and route the ticket.
    ``version``: the ticket's version as the agent saw it (a stale diagnosis conflicts)."""
    text = "Diagnosis:\n" + "\n".join(f"- {q}: {a}" for q, a in answers)
    with records.atomic():
        add_work_log(incident_id, text, actor, version=version)
        row = records.get(Incident, incident_id)
        route_team = _team_id(route_team)
        if route_team and str(route_team) != str(row.team_id):
            row = update_incident(row.id, None, {"team": route_team}, actor)
        return row
