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
    # Accounts (issue 15).  ``login`` names the person when signing in; on a shared PostgreSQL
    # database it is also their own login role.  ``password_hash`` (argon2) is used only by a
    # local SQLite database; it is never journalled or synced.
    login = pw.CharField(max_length=63, null=True, unique=True)
    password_hash = pw.TextField(null=True)
    # The language of the mail sent to this person ("en", "sv"); none: the setting mail.language
    language = pw.CharField(max_length=8, null=True)


# What a person may do, granted per person (PersonRole rows).  On PostgreSQL each role is also a
# NOLOGIN group role ``itsmdesk_<role>`` that the person's login role is a member of.
ROLES = ("requester", "agent", "team_lead", "problem_manager", "change_manager", "cab_member",
         "release_manager", "cmdb_owner", "administrator")


class PersonRole(BaseModel):
    """One role held by one person (child row of the person: journalled on them)."""

    PARENT = "person"
    LABEL_FIELDS = ("role",)
    person = pw.ForeignKeyField(Person, backref="role_rows", on_delete="CASCADE")
    role = pw.CharField(max_length=32)

    class Meta:
        indexes = ((("person", "role"), True),)


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
