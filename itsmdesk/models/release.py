"""Release Management: releases bundling changes, plan steps with waves, delivered items."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, TrackedModel
from itsmdesk.models.change import Change
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Person, Site, Team

RELEASE_TYPES = ("major", "minor", "emergency")
RELEASE_STATUSES = ("planning", "build", "test", "approved", "deploying", "deployed", "in_review",
                    "closed")
STEP_KINDS = ("phase", "build", "test", "pilot", "wave", "backout", "other")
STEP_STATUSES = ("planned", "in_progress", "done", "failed", "skipped")


class Release(TrackedModel):
    RECORD_KIND = "release"
    ref = pw.CharField(max_length=32, unique=True)
    name = pw.CharField(max_length=300)
    release_version = pw.CharField(max_length=64, null=True)
    type = pw.CharField(max_length=16, default="minor")
    status = pw.CharField(max_length=16, default="planning", index=True)
    description = pw.TextField(null=True)
    backout_plan = pw.TextField(null=True)
    manager = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")
    planned_start = pw.DateTimeField(null=True)
    planned_end = pw.DateTimeField(null=True)
    risk_level = pw.CharField(max_length=16, null=True)
    external_key = pw.CharField(max_length=200, null=True, index=True)


class ReleaseChange(BaseModel):
    PARENT = "release"
    LABEL_FIELDS = ("change",)
    release = pw.ForeignKeyField(Release, backref="change_links", on_delete="CASCADE")
    change = pw.ForeignKeyField(Change, backref="release_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("release", "change"), True),)


class ReleaseStep(TrackedModel):
    """A phase (``kind`` = phase) or a step inside one (``phase`` points at it)."""

    RECORD_KIND = "release_step"
    release = pw.ForeignKeyField(Release, backref="steps", on_delete="CASCADE")
    phase = pw.ForeignKeyField("self", null=True, backref="steps", on_delete="CASCADE")
    position = pw.IntegerField(default=0)
    name = pw.CharField(max_length=300)
    kind = pw.CharField(max_length=16, default="other")
    site = pw.ForeignKeyField(Site, null=True, on_delete="SET NULL")  # rollout wave's site
    owner_person = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    owner_team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")
    planned_start = pw.DateTimeField(null=True)
    planned_end = pw.DateTimeField(null=True)
    actual_start = pw.DateTimeField(null=True)
    actual_end = pw.DateTimeField(null=True)
    status = pw.CharField(max_length=16, default="planned")


class StepDependency(BaseModel):
    PARENT = "step"
    LABEL_FIELDS = ("depends_on",)
    step = pw.ForeignKeyField(ReleaseStep, backref="depends_on", on_delete="CASCADE")
    depends_on = pw.ForeignKeyField(ReleaseStep, backref="dependents", on_delete="CASCADE")

    class Meta:
        indexes = ((("step", "depends_on"), True),)


class ReleaseItem(BaseModel):
    """The definitive media library: a software item this release delivers."""
    PARENT = "release"
    LABEL_FIELDS = ("name", "item_version")

    release = pw.ForeignKeyField(Release, backref="items", on_delete="CASCADE")
    ci = pw.ForeignKeyField(CI, null=True, on_delete="SET NULL")  # the software CI it is
    name = pw.CharField(max_length=255)
    item_version = pw.CharField(max_length=64)
    checksum = pw.CharField(max_length=128, null=True)
