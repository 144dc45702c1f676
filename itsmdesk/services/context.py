"""Who is acting: every write names a person (or the system), the site it came from and the
roles the person holds (see :mod:`itsmdesk.services.permissions`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

# The nine roles (the same tuple as ``itsmdesk.models.people.ROLES``; repeated here so that this
# module stays free of the models).
ALL_ROLES: frozenset[str] = frozenset((
    "requester", "agent", "team_lead", "problem_manager", "change_manager", "cab_member",
    "release_manager", "cmdb_owner", "administrator"))


@dataclass(frozen=True)
class Actor:
    """The person (or the system) a service call acts for.

    ``roles``: what the person may do (PersonRole rows, read when they signed in).  An actor
    made without roles may do nothing that needs one.
    """

    person_id: uuid.UUID | None = None
    name: str = "system"
    site: str = ""
    roles: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def for_person(cls, person, site: str = "",  # noqa: ANN001 - a Person row
                   roles: frozenset[str] | None = None) -> Actor:
        """The actor of ``person``; without ``roles`` they are read from the database (on a
        database without accounts every person holds every role: see
        :func:`itsmdesk.services.accounts.roles_of`)."""
        if roles is None:
            from itsmdesk.services.accounts import roles_of

            roles = roles_of(person.id)
        return cls(person.id, person.name, site, frozenset(roles))

    def with_roles(self, roles) -> Actor:  # noqa: ANN001 - any iterable of role names
        return Actor(self.person_id, self.name, self.site, frozenset(roles))

    def has(self, role: str) -> bool:
        return role in self.roles


# The no-person actor.  It holds every role, and exists for the work no person does at a
# keyboard: schema migrations, building the demo, system jobs (SLA escalation), imports and
# scripts on a database without accounts, and the tests.  The CLI and the GUI never act as
# SYSTEM on a database with accounts: the CLI refuses writes without ``--user`` and the GUI
# signs a person in (``ANONYMOUS`` until then).
SYSTEM = Actor(roles=ALL_ROLES)

# Nobody signed in yet (a database with accounts, before the sign-in): may do nothing.
ANONYMOUS = Actor(None, "(not signed in)")


_workstation_site = ""


def set_site(code: str) -> None:
    """This process's site code (``ITSMDESK_SITE``): writes by actors without a site of their
    own draw references from it (``INC-OSL-000001``) and journal it as where they came from."""
    global _workstation_site
    _workstation_site = (code or "").strip().upper()


def current_site() -> str:
    return _workstation_site
