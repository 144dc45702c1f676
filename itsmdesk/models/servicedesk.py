"""Service Desk: categories (with diagnostic scripts), SLA, calendars, queues, announcements."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, JSONField, TrackedModel
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Person, Site, Team

TICKET_KINDS = ("incident", "request")


class Category(TrackedModel):
    """Incident or request category.  ``diagnostic_script`` is a list of steps
    ``{"question", "answers": [{"label", "route_team"?}]}`` the form walks the agent through."""

    RECORD_KIND = "category"
    name = pw.CharField(max_length=200)
    kind = pw.CharField(max_length=16, default="incident")
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    default_team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")
    diagnostic_script = JSONField(null=True)

    class Meta:
        indexes = ((("kind", "name"), True),)


class BusinessCalendar(TrackedModel):
    """Working hours per weekday: ``{"0": [["08:00","17:00"]], ...}`` (0 = Monday)."""

    RECORD_KIND = "calendar"
    name = pw.CharField(max_length=200, unique=True)
    timezone = pw.CharField(max_length=64, default="UTC")
    working_hours = JSONField(default=dict)


class Holiday(BaseModel):
    PARENT = "calendar"
    LABEL_FIELDS = ("day", "name")
    calendar = pw.ForeignKeyField(BusinessCalendar, backref="holidays", on_delete="CASCADE")
    day = pw.DateField()
    name = pw.CharField(max_length=200)

    class Meta:
        indexes = ((("calendar", "day"), True),)


class SLADefinition(TrackedModel):
    """Targets per priority (1 = critical ... 5 = planning), in business minutes: the general
    SLA (no service, no team), a service's own SLA (``service``), or a team's OLA (``team``).
    One row per kind, priority, service and team (services/servicedesk/sla.py keeps it so)."""

    RECORD_KIND = "sla"
    name = pw.CharField(max_length=200)
    ticket_kind = pw.CharField(max_length=16, default="incident")
    priority = pw.IntegerField()
    response_minutes = pw.IntegerField()
    resolution_minutes = pw.IntegerField()
    calendar = pw.ForeignKeyField(BusinessCalendar, null=True, on_delete="SET NULL")
    escalate_at_pct = pw.IntegerField(default=75)
    service = pw.ForeignKeyField(CI, null=True, on_delete="CASCADE")
    team = pw.ForeignKeyField(Team, null=True, on_delete="CASCADE")

    class Meta:
        indexes = ((("ticket_kind", "priority", "service", "team"), False),)


class SavedQueue(TrackedModel):
    """A custom queue: ``definition`` = {"filters": [...], "sort": [...], "columns": [...]}."""

    RECORD_KIND = "queue"
    name = pw.CharField(max_length=200)
    owner = pw.ForeignKeyField(Person, null=True, on_delete="CASCADE")
    shared = pw.BooleanField(default=False)
    definition = JSONField(default=dict)


class Announcement(TrackedModel):
    """What the desk tells the organisation: planned outages, changes, manual notices."""

    RECORD_KIND = "announcement"
    title = pw.CharField(max_length=300)
    body = pw.TextField(null=True)
    kind = pw.CharField(max_length=32, default="manual")  # manual | planned_outage | change
    starts_at = pw.DateTimeField(index=True)
    ends_at = pw.DateTimeField(null=True, index=True)
    change_id = pw.UUIDField(null=True, index=True)  # the change it announces, if any
    source_ref = pw.CharField(max_length=64, null=True)  # e.g. the CHG reference it came from
    active = pw.BooleanField(default=True)
    audience = pw.CharField(max_length=16, default="everyone")  # everyone | it_staff
    site = pw.ForeignKeyField(Site, null=True, backref="announcements", on_delete="SET NULL")
    # (site: the one site it is for; none: every site)


class AnnouncementService(BaseModel):
    PARENT = "announcement"
    LABEL_FIELDS = ("ci",)
    announcement = pw.ForeignKeyField(Announcement, backref="services", on_delete="CASCADE")
    ci = pw.ForeignKeyField(CI, backref="announcements", on_delete="CASCADE")

    class Meta:
        indexes = ((("announcement", "ci"), True),)


class Notification(BaseModel):
    """An in-app notice for a person (escalations, approvals wanted, ...)."""
    RECORD_KIND = "notification"

    person = pw.ForeignKeyField(Person, backref="notifications", on_delete="CASCADE")
    created_at = pw.DateTimeField(index=True)
    text = pw.TextField()
    record_kind = pw.CharField(max_length=32, null=True)
    record_id = pw.UUIDField(null=True)
    read = pw.BooleanField(default=False)
