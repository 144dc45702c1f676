"""Change Management: RFCs, templates, CAB members and meetings, votes, schedule windows."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, JSONField, TrackedModel
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Person, Team
from itsmdesk.models.problem import KnownError, Problem

CHANGE_TYPES = ("standard", "normal", "emergency")
CHANGE_STATUSES = (
    "draft", "submitted", "assessed", "awaiting_cab", "approved", "rejected", "scheduled",
    "implementing", "implemented", "in_review", "closed", "failed", "backed_out",
)
RISK_LEVELS = ("low", "medium", "high", "very_high")
VOTES = ("approve", "reject", "abstain")


class ChangeTemplate(TrackedModel):
    """A pre-approved standard change."""

    RECORD_KIND = "change_template"
    name = pw.CharField(max_length=200, unique=True)
    category = pw.CharField(max_length=200, null=True)
    description = pw.TextField(null=True)
    implementation_plan = pw.TextField(null=True)
    backout_plan = pw.TextField(null=True)
    test_plan = pw.TextField(null=True)
    default_duration_minutes = pw.IntegerField(default=60)
    outage = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)


class Change(TrackedModel):
    RECORD_KIND = "change"
    ref = pw.CharField(max_length=32, unique=True)
    title = pw.CharField(max_length=300)
    type = pw.CharField(max_length=16, default="normal")
    category = pw.CharField(max_length=200, null=True)
    status = pw.CharField(max_length=32, default="draft", index=True)
    reason = pw.TextField(null=True)
    description = pw.TextField(null=True)
    implementation_plan = pw.TextField(null=True)
    backout_plan = pw.TextField(null=True)
    test_plan = pw.TextField(null=True)
    requester = pw.ForeignKeyField(Person, null=True, backref="changes_requested", on_delete="SET NULL")
    team = pw.ForeignKeyField(Team, null=True, backref="changes", on_delete="SET NULL")
    assignee = pw.ForeignKeyField(Person, null=True, backref="changes_assigned", on_delete="SET NULL")
    template = pw.ForeignKeyField(ChangeTemplate, null=True, on_delete="SET NULL")
    problem = pw.ForeignKeyField(Problem, null=True, backref="changes", on_delete="SET NULL")
    known_error = pw.ForeignKeyField(KnownError, null=True, backref="changes", on_delete="SET NULL")
    planned_start = pw.DateTimeField(null=True)
    planned_end = pw.DateTimeField(null=True)
    downtime_start = pw.DateTimeField(null=True)
    downtime_end = pw.DateTimeField(null=True)
    actual_start = pw.DateTimeField(null=True)
    actual_end = pw.DateTimeField(null=True)
    outage = pw.BooleanField(default=False)
    risk_score = pw.IntegerField(null=True)
    risk_level = pw.CharField(max_length=16, null=True)
    risk_factors = JSONField(null=True)  # [{"factor", "value", "weight", "points", "why"}]
    risk_override = pw.CharField(max_length=16, null=True)
    risk_override_reason = pw.TextField(null=True)
    pir_outcome = pw.CharField(max_length=32, null=True)  # successful | partially | failed
    pir_lessons = pw.TextField(null=True)
    closed_at = pw.DateTimeField(null=True)
    external_key = pw.CharField(max_length=200, null=True, index=True)
    # schema 13 (imports from other tools): what the old tool kept, shown read-only
    opened_at = pw.DateTimeField(null=True)  # when the RFC was raised there
    requested_end = pw.DateTimeField(null=True)  # when the requester wanted it done
    cab_approval_needed = pw.BooleanField(null=True)

    class Meta:
        indexes = ((("planned_start", "planned_end"), False),)


class ChangeCI(BaseModel):
    PARENT = "change"
    LABEL_FIELDS = ("ci",)
    change = pw.ForeignKeyField(Change, backref="affected_cis", on_delete="CASCADE")
    ci = pw.ForeignKeyField(CI, backref="change_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("change", "ci"), True), (("ci", "change"), False))


class CABMember(BaseModel):
    """Who sits on the CAB for a change category (``category`` None: every category)."""
    RECORD_KIND = "cab_member"

    person = pw.ForeignKeyField(Person, backref="cab_memberships", on_delete="CASCADE")
    category = pw.CharField(max_length=200, null=True)
    emergency = pw.BooleanField(default=False)  # also on the ECAB


class CABMeeting(TrackedModel):
    RECORD_KIND = "cab_meeting"
    ref = pw.CharField(max_length=32, unique=True)
    title = pw.CharField(max_length=300)
    starts_at = pw.DateTimeField(index=True)
    ends_at = pw.DateTimeField(null=True)
    location = pw.CharField(max_length=200, null=True)
    emergency = pw.BooleanField(default=False)
    status = pw.CharField(max_length=32, default="planned")  # planned | held | cancelled
    chair = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    quorum = pw.IntegerField(default=3)
    notes = pw.TextField(null=True)


class CABAttendee(BaseModel):
    PARENT = "meeting"
    LABEL_FIELDS = ("person", "present")
    meeting = pw.ForeignKeyField(CABMeeting, backref="attendees", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, on_delete="CASCADE")
    present = pw.BooleanField(default=True)

    class Meta:
        indexes = ((("meeting", "person"), True),)


class CABAgendaItem(BaseModel):
    PARENT = "meeting"
    LABEL_FIELDS = ("change", "position", "decision", "conditions", "decision_reason")
    meeting = pw.ForeignKeyField(CABMeeting, backref="agenda", on_delete="CASCADE")
    change = pw.ForeignKeyField(Change, backref="agenda_items", on_delete="CASCADE")
    position = pw.IntegerField(default=0)
    decision = pw.CharField(max_length=32, null=True)  # approved | rejected | deferred
    conditions = pw.TextField(null=True)
    decision_reason = pw.TextField(null=True)  # why, when the decision differs from the votes

    class Meta:
        indexes = ((("meeting", "change"), True),)


class Approval(BaseModel):
    """One CAB member's vote on a change."""
    PARENT = "change"
    LABEL_FIELDS = ("person", "vote", "comment")

    change = pw.ForeignKeyField(Change, backref="approvals", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, on_delete="CASCADE")
    meeting = pw.ForeignKeyField(CABMeeting, null=True, backref="votes", on_delete="SET NULL")
    vote = pw.CharField(max_length=16)
    comment = pw.TextField(null=True)
    voted_at = pw.DateTimeField()

    class Meta:
        indexes = ((("change", "person"), True),)


class CABAction(BaseModel):
    PARENT = "meeting"
    LABEL_FIELDS = ("text", "owner", "due", "done")
    meeting = pw.ForeignKeyField(CABMeeting, backref="actions", on_delete="CASCADE")
    change = pw.ForeignKeyField(Change, null=True, on_delete="SET NULL")
    text = pw.TextField()
    owner = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    due = pw.DateField(null=True)
    done = pw.BooleanField(default=False)


class ScheduleWindow(TrackedModel):
    """Blackout or maintenance window; recurring ones carry an RFC 5545 RRULE."""

    RECORD_KIND = "window"
    name = pw.CharField(max_length=200)
    kind = pw.CharField(max_length=16)  # blackout | maintenance
    starts_at = pw.DateTimeField()
    ends_at = pw.DateTimeField()
    rrule = pw.TextField(null=True)
    ci = pw.ForeignKeyField(CI, null=True, backref="windows", on_delete="CASCADE")
    description = pw.TextField(null=True)
    extra = JSONField(null=True)
