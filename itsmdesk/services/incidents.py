"""Incident Management and service requests: create, update, work log, attachments."""

from __future__ import annotations

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
from itsmdesk.services import records, sla
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.priority import priority_for
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
                    actor: Actor = SYSTEM) -> Incident:
    changes = dict(changes)
    with records.atomic():
        current = records.get(Incident, incident_id)
        _validate(changes, False, current.kind)
        impact = changes.get("impact", current.impact)
        urgency = changes.get("urgency", current.urgency)
        if "impact" in changes or "urgency" in changes:
            changes.setdefault("priority", priority_for(impact, urgency))
        return records.update(Incident, current.id, version, changes, actor)


def add_work_log(incident_id, text: str, actor: Actor = SYSTEM, public: bool = False,
                 minutes: int = 0) -> WorkLog:
    if not text or not text.strip():
        raise ValidationError(N_("A work log note needs some text"), field="text")
    with records.atomic():
        incident = records.get(Incident, incident_id)
        entry = WorkLog.create(incident=incident.id, author=actor.person_id, public=public,
                               text=text.strip(), time_spent_minutes=minutes)
        records.write_journal("incident", incident.id, incident.ref,
                              [("work_log+", None, ("public: " if public else "private: ")
                                + text.strip()[:200])], actor)
        return entry


def add_attachment(incident_id, path: str | Path, actor: Actor = SYSTEM,
                   settings: Settings | None = None) -> Attachment:
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
        att = Attachment.create(incident=incident.id, filename=path.name, mime_type=mime,
                                size=len(data), data=data, added_by=actor.person_id)
        records.write_journal("incident", incident.id, incident.ref,
                              [("attachment+", None, path.name)], actor)
        return att


def get_by_ref(ref: str) -> Incident:
    from itsmdesk.errors import NotFoundError

    row = Incident.get_or_none(Incident.ref == ref.strip().upper())
    if row is None:
        raise NotFoundError(N_("No incident or request {ref}"), ref=ref)
    return row


def work_log(incident_id) -> list[WorkLog]:  # noqa: ANN001
    return list(WorkLog.select().where(WorkLog.incident == incident_id).order_by(WorkLog.created_at))
