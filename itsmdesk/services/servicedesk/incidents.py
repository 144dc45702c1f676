"""Incident Management and service requests: create, update, work log, attachments."""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path
from typing import Any

from itsmdesk.config import Settings
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.incident import (
    CHANNELS,
    INCIDENT_STATUSES,
    REQUEST_STATUSES,
    Attachment,
    Incident,
    WorkLog,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
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
    opened = values.setdefault("opened_at", utcnow())
    response_due, resolution_due = sla.due_dates(kind, values["priority"], opened)
    values.setdefault("response_due", response_due)
    values.setdefault("resolution_due", resolution_due)
    if values.get("assignee") and values.get("status", "new") == "new":
        values["status"] = "assigned"
    with records.atomic():
        return records.create(Incident, values, actor, ref_prefix=REF_PREFIX[kind])


def update_incident(incident_id, version: int | None, changes: dict[str, Any],
                    actor: Actor = SYSTEM, now: dt.datetime | None = None) -> Incident:  # noqa: ANN001
    """Edit fields; a status change runs the lifecycle rules (see :func:`transition_changes`)."""
    changes = dict(changes)
    with records.atomic():
        current = records.get(Incident, incident_id)
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
            changes = transition_changes(current, changes["status"], changes, now or utcnow())
        if "priority" in changes and changes["priority"] != current.priority \
                and current.status not in CLOSED_STATUSES:
            response_due, resolution_due = sla.due_dates(current.kind, changes["priority"],
                                                         current.opened_at)
            changes.setdefault("response_due", response_due)
            changes.setdefault("resolution_due", resolution_due)
        return records.update(Incident, current.id, version, changes, actor)


CLOSED_STATUSES = ("resolved", "closed", "fulfilled", "cancelled")
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
        out["sla_state"] = "paused"
    elif current.status == "pending":
        out.setdefault("pending_reason", None)
        if current.paused_since is not None:
            paused = int((now - current.paused_since).total_seconds())
            out["paused_seconds"] = (current.paused_seconds or 0) + max(0, paused)
            out["response_due"] = current.response_due if current.responded_at else sla.resume_due(
                current.kind, current.priority, current.response_due, current.paused_since, now)
            out["resolution_due"] = sla.resume_due(current.kind, current.priority,
                                                   current.resolution_due, current.paused_since, now)
        out["paused_since"] = None
        out["sla_state"] = "breached" if current.escalation_level >= 2 else "ok"
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
        due = out.get("resolution_due", current.resolution_due)
        out["sla_state"] = "breached" if (current.escalation_level >= 2 or (due and now > due)) \
            else "met"
        if current.outage_start and not current.outage_end:
            out["outage_end"] = now
    if status == "closed":
        out["closed_at"] = now
    if status == "cancelled":
        out["closed_at"] = now
        out["sla_state"] = "met"
    if current.status in CLOSED_STATUSES and status not in CLOSED_STATUSES:  # reopen
        out["resolved_at"] = None
        out["closed_at"] = None
        due = out.get("resolution_due", current.resolution_due)
        out["sla_state"] = "breached" if due and now > due else "ok"
    if current.responded_at is None and status != "new":
        out["responded_at"] = now
    return out


def transition(incident_id, version: int | None, status: str, actor: Actor = SYSTEM,
               now: dt.datetime | None = None, **fields: Any) -> Incident:  # noqa: ANN001
    """Move a ticket through its lifecycle (pending needs ``pending_reason``; resolved needs
    ``resolution_code`` and ``solution``; resolved/closed -> in_progress reopens)."""
    return update_incident(incident_id, version, {"status": status, **fields}, actor, now=now)


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
               child_version: int | None = None) -> Incident:
    """Make ``child_id`` a child ticket of ``parent_id`` (which becomes a major incident).
    ``child_version``: the child's version as the agent saw it (a stale link conflicts)."""
    with records.atomic():
        parent = records.get(Incident, parent_id)
        if str(parent.id) == str(child_id):
            raise ValidationError(N_("A ticket cannot be its own parent"), field="parent")
        if not parent.major:
            records.update(Incident, parent.id, None, {"major": True}, actor)
        return records.update(Incident, child_id, child_version, {"parent": parent.id}, actor)


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
        row = update_incident(incident_id, version, changes, actor)
        add_work_log(row.id, f"Escalated to {team.name}: {reason.strip()}", actor)
        return records.get(Incident, row.id)


def escalate_to_manager(incident_id, reason: str, actor: Actor = SYSTEM,  # noqa: ANN001
                        now: dt.datetime | None = None) -> list:
    """Hierarchical escalation: notify the team lead (and the assignee's manager)."""
    from itsmdesk.services.servicedesk import escalation

    if not (reason or "").strip():
        raise ValidationError(N_("Say why the ticket is escalated"), field="reason")
    with records.atomic():
        incident = records.get(Incident, incident_id)
        people = escalation.leads_for(incident)
        text = f"{incident.ref} escalated by {actor.name}: {reason.strip()}"
        notes = [escalation.notify(p, text, incident, now) for p in people]
        add_work_log(incident.id, f"Escalated to management: {reason.strip()}", actor)
        return notes


def add_work_log(incident_id, text: str, actor: Actor = SYSTEM, public: bool = False,
                 minutes: int = 0, version: int | None = None) -> WorkLog:
    if not text or not text.strip():
        raise ValidationError(N_("A work log note needs some text"), field="text")
    with records.atomic():
        incident = records.get(Incident, incident_id)
        return records.add_child(WorkLog, {"incident": incident.id, "author": actor.person_id,
                                           "public": public, "text": text.strip(),
                                           "time_spent_minutes": minutes}, actor, version)


def add_attachment(incident_id, path: str | Path, actor: Actor = SYSTEM,
                   settings: Settings | None = None, version: int | None = None) -> Attachment:
    settings = settings or Settings.from_env()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(N_("Cannot read {path}: {reason}"), path=str(path),
                              reason=exc.strerror or str(exc)) from None
    if len(data) > settings.max_attachment_bytes:
        raise ValidationError(N_("{name} is {size} bytes; attachments may be at most {max} bytes"),
                              name=path.name, size=len(data), max=settings.max_attachment_bytes)
    with records.atomic():
        incident = records.get(Incident, incident_id)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return records.add_child(Attachment, {"incident": incident.id, "filename": path.name,
                                              "mime_type": mime, "size": len(data), "data": data,
                                              "added_by": actor.person_id}, actor, version)


def get_by_ref(ref: str) -> Incident:
    from itsmdesk.errors import NotFoundError

    row = Incident.get_or_none(Incident.ref == ref.strip().upper())
    if row is None:
        raise NotFoundError(N_("No incident or request {ref}"), ref=ref)
    return row


def work_log(incident_id) -> list[WorkLog]:  # noqa: ANN001
    return list(WorkLog.select().where(WorkLog.incident == incident_id).order_by(WorkLog.created_at))


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


def form_data(incident_id, now: dt.datetime | None = None) -> dict[str, Any]:  # noqa: ANN001
    """Everything the ticket form shows, in one call: the record's fields plus display names of
    the records it points at, its work log, attachments, children and announcements."""
    from itsmdesk.models import CI, Change, KnownError, Person, Problem

    row = records.get(Incident, incident_id)
    data = records.snapshot(row)

    def name(model, value, attr="name"):  # noqa: ANN001, ANN202
        if value is None:
            return ""
        found = model.get_or_none(model.id == value)
        return getattr(found, attr) if found else ""

    data["caller_name"] = name(Person, row.caller_id)
    data["ci_name"] = name(CI, row.ci_id)
    data["service_name"] = name(CI, row.service_id)
    data["problem_ref"] = name(Problem, row.problem_id, "ref")
    data["change_ref"] = name(Change, row.change_id, "ref")
    data["known_error_ref"] = name(KnownError, row.known_error_id, "ref")
    data["parent_ref"] = name(Incident, row.parent_id, "ref")
    data["work_log"] = [{"at": w.created_at, "author": name(Person, w.author_id), "public": w.public,
                         "text": w.text} for w in work_log(row.id)]
    data["attachments"] = [{"id": a.id, "filename": a.filename, "size": a.size}
                           for a in Attachment.select(Attachment.id, Attachment.filename,
                                                      Attachment.size)
                           .where(Attachment.incident == row.id).order_by(Attachment.added_at)]
    data["children"] = [{"id": c.id, "ref": c.ref, "title": c.title, "status": c.status}
                        for c in Incident.select().where(Incident.parent == row.id)
                        .order_by(Incident.opened_at).limit(200)]
    data["announcements"] = announcements_for_ticket(row.ci_id, row.service_id, now)
    data["allowed_statuses"] = list(allowed_statuses(row))
    return data


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
    att = Attachment.get_by_id(attachment_id)
    return att.filename, bytes(att.data)


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
