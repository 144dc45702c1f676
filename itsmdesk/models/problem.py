"""Problem Management: problems and the known error database (KEDB)."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, JSONField, TrackedModel
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Person, Team

PROBLEM_STATUSES = ("new", "investigating", "root_cause_known", "resolved", "closed")
KE_SOLUTION_STATUSES = ("workaround_only", "fix_planned", "fix_in_progress", "fixed", "wont_fix")


class Problem(TrackedModel):
    RECORD_KIND = "problem"
    ref = pw.CharField(max_length=32, unique=True)
    title = pw.CharField(max_length=300)
    description = pw.TextField(null=True)
    status = pw.CharField(max_length=32, default="new", index=True)
    priority = pw.IntegerField(default=3)
    category = pw.CharField(max_length=200, null=True)
    ci = pw.ForeignKeyField(CI, null=True, backref="problems", on_delete="SET NULL")
    service = pw.ForeignKeyField(CI, null=True, backref="service_problems", on_delete="SET NULL")
    team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")
    assignee = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    # Root cause analysis: structured notes {"symptoms", "hypotheses", "evidence", "cause"}.
    rca = JSONField(default=dict)
    root_cause = pw.TextField(null=True)
    workaround = pw.TextField(null=True)
    solution = pw.TextField(null=True)
    resolved_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)
    external_key = pw.CharField(max_length=200, null=True, index=True)


class ProblemCI(BaseModel):
    PARENT = "problem"
    LABEL_FIELDS = ("ci",)
    problem = pw.ForeignKeyField(Problem, backref="affected_cis", on_delete="CASCADE")
    ci = pw.ForeignKeyField(CI, backref="problem_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("problem", "ci"), True),)


class KnownError(TrackedModel):
    RECORD_KIND = "known_error"
    ref = pw.CharField(max_length=32, unique=True)
    title = pw.CharField(max_length=300)
    symptom = pw.TextField(null=True)
    root_cause = pw.TextField(null=True)
    workaround = pw.TextField(null=True)
    solution_status = pw.CharField(max_length=32, default="workaround_only")
    error_code = pw.CharField(max_length=100, null=True, index=True)
    problem = pw.ForeignKeyField(Problem, null=True, backref="known_errors", on_delete="SET NULL")
    status = pw.CharField(max_length=32, default="open")  # open | retired
    external_key = pw.CharField(max_length=200, null=True, index=True)


class KnownErrorCI(BaseModel):
    PARENT = "known_error"
    LABEL_FIELDS = ("ci",)
    known_error = pw.ForeignKeyField(KnownError, backref="affected_cis", on_delete="CASCADE")
    ci = pw.ForeignKeyField(CI, backref="known_error_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("known_error", "ci"), True),)
