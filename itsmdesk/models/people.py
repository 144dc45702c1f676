"""People and organisation: organisations, sites, teams and the people in them."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, TrackedModel


class Organisation(TrackedModel):
    RECORD_KIND = "organisation"
    name = pw.CharField(max_length=200, unique=True)
    code = pw.CharField(max_length=32, null=True)
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")


class Site(TrackedModel):
    """A location.  ``code`` doubles as the reference prefix when the site works offline."""

    RECORD_KIND = "site"
    name = pw.CharField(max_length=200, unique=True)
    code = pw.CharField(max_length=16, unique=True)
    organisation = pw.ForeignKeyField(Organisation, null=True, backref="sites", on_delete="SET NULL")
    address = pw.TextField(null=True)
    timezone = pw.CharField(max_length=64, default="UTC")


class Person(TrackedModel):
    RECORD_KIND = "person"
    name = pw.CharField(max_length=200, index=True)
    email = pw.CharField(max_length=254, null=True, unique=True)
    phone = pw.CharField(max_length=64, null=True)
    site = pw.ForeignKeyField(Site, null=True, backref="people", on_delete="SET NULL")
    organisation = pw.ForeignKeyField(Organisation, null=True, backref="people", on_delete="SET NULL")
    manager = pw.ForeignKeyField("self", null=True, backref="reports", on_delete="SET NULL")
    job_title = pw.CharField(max_length=200, null=True)
    is_agent = pw.BooleanField(default=False)  # works tickets (vs. only reports them)
    active = pw.BooleanField(default=True)
    external_key = pw.CharField(max_length=200, null=True, index=True)


class Team(TrackedModel):
    RECORD_KIND = "team"
    name = pw.CharField(max_length=200, unique=True)
    email = pw.CharField(max_length=254, null=True)
    lead = pw.ForeignKeyField(Person, null=True, backref="teams_led", on_delete="SET NULL")
    description = pw.TextField(null=True)


class TeamMember(BaseModel):
    PARENT = "team"
    LABEL_FIELDS = ("person",)
    team = pw.ForeignKeyField(Team, backref="members", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, backref="memberships", on_delete="CASCADE")

    class Meta:
        indexes = ((("team", "person"), True),)
