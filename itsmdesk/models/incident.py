"""Incident Management and service requests (one table, ``kind`` tells them apart)."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, NamedIndex, TrackedModel, utcnow
from itsmdesk.models.change import Change
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Person, Team
from itsmdesk.models.problem import KnownError, Problem
from itsmdesk.models.servicedesk import Category

INCIDENT_STATUSES = ("new", "assigned", "in_progress", "pending", "resolved", "closed")
REQUEST_STATUSES = ("new", "approval", "assigned", "in_progress", "pending", "fulfilled", "closed",
                    "cancelled")
OPEN_STATUSES = ("new", "approval", "assigned", "in_progress", "pending")
# A ticket in one of these is finished: its SLA clock stopped (met or breached).
CLOSED_STATUSES = ("resolved", "closed", "fulfilled", "cancelled")
CHANNELS = ("phone", "email", "portal", "walk_in", "chat", "monitoring")
LEVELS = (1, 2, 3)  # impact and urgency: 1 high, 2 medium, 3 low
PRIORITIES = (1, 2, 3, 4, 5)  # 1 critical ... 5 planning
SLA_STATES = ("ok", "at_risk", "breached", "paused", "met")


class Incident(TrackedModel):
    RECORD_KIND = "incident"
    ref = pw.CharField(max_length=32, unique=True)
    kind = pw.CharField(max_length=16, default="incident")  # incident | request
    caller = pw.ForeignKeyField(Person, null=True, backref="incidents_called", on_delete="SET NULL")
    channel = pw.CharField(max_length=16, default="phone")
    title = pw.CharField(max_length=300)
    description = pw.TextField(null=True)
    category = pw.ForeignKeyField(Category, null=True, on_delete="SET NULL")
    ci = pw.ForeignKeyField(CI, null=True, backref="incidents", on_delete="SET NULL")
    service = pw.ForeignKeyField(CI, null=True, backref="service_incidents", on_delete="SET NULL")
    impact = pw.IntegerField(default=3)
    urgency = pw.IntegerField(default=3)
    priority = pw.IntegerField(default=5)
    status = pw.CharField(max_length=16, default="new")
    pending_reason = pw.CharField(max_length=200, null=True)
    resolution_code = pw.CharField(max_length=64, null=True)
    solution = pw.TextField(null=True)
    team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")
    assignee = pw.ForeignKeyField(Person, null=True, backref="incidents_assigned", on_delete="SET NULL")
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    major = pw.BooleanField(default=False)
    problem = pw.ForeignKeyField(Problem, null=True, backref="incidents", on_delete="SET NULL")
    change = pw.ForeignKeyField(Change, null=True, backref="incidents", on_delete="SET NULL")
    known_error = pw.ForeignKeyField(KnownError, null=True, backref="incidents", on_delete="SET NULL")
    opened_at = pw.DateTimeField(default=utcnow)
    responded_at = pw.DateTimeField(null=True)
    resolved_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)
    # SLA clocks (computed by services.sla on the business calendar)
    response_due = pw.DateTimeField(null=True)
    resolution_due = pw.DateTimeField(null=True)
    paused_seconds = pw.IntegerField(default=0)
    paused_since = pw.DateTimeField(null=True)
    sla_state = pw.CharField(max_length=16, default="ok")
    escalation_level = pw.IntegerField(default=0)  # 0 none, 1 flagged (share reached), 2 breached
    # Outage window for availability figures (defaults to opened_at .. resolved_at)
    outage_start = pw.DateTimeField(null=True)
    outage_end = pw.DateTimeField(null=True)
    external_key = pw.CharField(max_length=200, null=True, index=True)
    # schema 13 (imports from other tools): the CI that caused it, beside the one affected,
    # and figures the old tool kept (shown read-only)
    caused_by_ci = pw.ForeignKeyField(CI, null=True, backref="caused_incidents",
                                      on_delete="SET NULL")
    reopened_at = pw.DateTimeField(null=True)
    reassignments = pw.IntegerField(null=True)  # times it was handed to another team/person
    handle_hours = pw.DoubleField(null=True)  # work time the old tool counted

    class Meta:
        # Indexes follow the queue queries: open tickets by team/assignee/SLA, newest first.
        indexes = (
            (("status", "opened_at"), False),
            (("team", "status", "opened_at"), False),
            (("assignee", "status", "opened_at"), False),
            (("sla_state", "resolution_due"), False),
            (("ci", "opened_at"), False),
            (("service", "opened_at"), False),
            (("opened_at",), False),
            (("problem",), False),
            (("parent",), False),
            # trends (incidents per CI / service / category / team over a period)
            (("kind", "ci", "opened_at"), False),
            (("kind", "service", "opened_at"), False),
            (("kind", "category", "opened_at"), False),
            (("kind", "team", "opened_at"), False),
        )


def _outage_index(key: pw.Field, name: str) -> NamedIndex:
    """Availability reads outages per CI (or service) in ``opened_at`` order from this partial
    covering index: the rows arrive grouped and nearly sorted, so merging them is one pass, and
    the table's wide rows are never touched.  ``kind`` and ``impact`` are stored too so SQLite
    sees the index as covering."""
    return NamedIndex(Incident, (key, Incident.opened_at, Incident.outage_start,
                                 Incident.outage_end, Incident.resolved_at, Incident.closed_at,
                                 Incident.kind, Incident.impact),
                      where=((Incident.kind == "incident") & Incident.impact.in_(OUTAGE_IMPACTS)
                             & key.is_null(False)),
                      name=name)


OUTAGE_IMPACTS = (1, 2)  # high and medium impact incidents are outages
OUTAGE_INDEXES = {"ci_id": "incident_outage_by_ci", "service_id": "incident_outage_by_service"}
Incident.add_index(_outage_index(Incident.ci, OUTAGE_INDEXES["ci_id"]))
Incident.add_index(_outage_index(Incident.service, OUTAGE_INDEXES["service_id"]))


class Interaction(TrackedModel):
    """A contact with the service desk (a call, an e-mail, a chat): who, how, when, about what,
    and the incident it became, if it became one (schema 13)."""

    RECORD_KIND = "interaction"
    ref = pw.CharField(max_length=32, unique=True)
    summary = pw.CharField(max_length=300)
    description = pw.TextField(null=True)
    contact = pw.ForeignKeyField(Person, null=True, backref="interactions", on_delete="SET NULL")
    channel = pw.CharField(max_length=16, default="phone")
    contacted_at = pw.DateTimeField(default=utcnow, index=True)
    closed_at = pw.DateTimeField(null=True)
    ci = pw.ForeignKeyField(CI, null=True, backref="interactions", on_delete="SET NULL")
    incident = pw.ForeignKeyField(Incident, null=True, backref="interactions",
                                  on_delete="SET NULL")
    external_key = pw.CharField(max_length=200, null=True, index=True)


class WorkLog(BaseModel):
    PARENT = "incident"
    LABEL_FIELDS = ("public", "text")
    incident = pw.ForeignKeyField(Incident, backref="work_log", on_delete="CASCADE")
    author = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    public = pw.BooleanField(default=False)
    text = pw.TextField()
    time_spent_minutes = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("incident", "created_at"), False),)


class Attachment(BaseModel):
    """A file stored with the record (size-limited by the service)."""
    PARENT = "incident"
    LABEL_FIELDS = ("filename", "size")

    incident = pw.ForeignKeyField(Incident, backref="attachments", on_delete="CASCADE")
    filename = pw.CharField(max_length=255)
    mime_type = pw.CharField(max_length=128, default="application/octet-stream")
    size = pw.IntegerField()
    data = pw.BlobField()
    added_by = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    added_at = pw.DateTimeField(default=utcnow)


class ChangeIncident(BaseModel):
    """Incidents a change caused (recorded at the PIR)."""
    PARENT = "change"
    LABEL_FIELDS = ("incident",)

    change = pw.ForeignKeyField(Change, backref="caused_incidents", on_delete="CASCADE")
    incident = pw.ForeignKeyField(Incident, backref="caused_by_changes", on_delete="CASCADE")

    class Meta:
        indexes = ((("change", "incident"), True),)
