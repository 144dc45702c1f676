"""The hub does not trust a replica: every pushed row is checked against the roles its author
holds **on the hub**.

A replica is a file on a site's laptop; whoever has it can write any row into its journal.  So
the hub asks, for each row of a pushed batch, whether the person the row names (``who_id``)
exists on the hub, may sign in there (or the hub has no accounts at all) and holds a role that
:mod:`itsmdesk.services.permissions` allows for that kind of write.  A row that fails is not
applied: it becomes a ``!conflict`` note with the reason ``not permitted`` (the hub's state
stays, the replica is put back to it when it pulls, and a person sees what was refused).

The rules are coarse on purpose (per record kind and kind of write), the same ones the
services apply first; the fine ones (a requester sees only their own tickets, the chair records
others' votes) stay with the services on the workstation that made the write.
"""

from __future__ import annotations

from typing import Any

from itsmdesk.models.people import Person, PersonRole
from itsmdesk.services import permissions as p
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor

# record kind -> (action to create one or add child rows, action to change or delete it)
_ACTIONS: dict[str, tuple[str, str]] = {
    "incident": ("ticket.create", "ticket.work"),
    "notification": ("ticket.work", "ticket.work"),
    "queue": ("queue.private", "queue.private"),
    "announcement": ("announcement.manage", "announcement.manage"),
    "article": ("knowledge.edit", "knowledge.edit"),
    "problem": ("problem.manage", "problem.manage"),
    "known_error": ("problem.manage", "problem.manage"),
    "change": ("change.edit", "change.edit"),
    "change_template": ("change.windows", "change.windows"),
    "window": ("change.windows", "change.windows"),
    "cab_meeting": ("cab.manage", "cab.manage"),
    "cab_member": ("cab.manage", "cab.manage"),
    "ci": ("ci.edit", "ci.edit"),
    "ci_class": ("ci.edit", "ci.edit"),
    "relation": ("ci.edit", "ci.edit"),
    "baseline": ("ci.edit", "ci.edit"),
    "release": ("release.manage", "release.manage"),
    "release_step": ("release.manage", "release.manage"),
    "category": ("catalog.manage", "catalog.manage"),
    "calendar": ("catalog.manage", "catalog.manage"),
    "sla": ("catalog.manage", "catalog.manage"),
    "person": ("people.manage", "people.manage"),
    "organisation": ("org.edit", "org.edit"),
    "site": ("org.edit", "org.edit"),
    "team": ("org.edit", "org.edit"),
    "setting": ("settings.manage", "settings.manage"),
}
# child rows anyone who may see the record adds (notes, votes, attachments on a ticket...)
_OPEN_CHILDREN = {"work_log": "ticket.create", "attachment": "ticket.create",
                  "approval": "cab.vote"}
UNKNOWN_KIND_ACTION = "settings.manage"  # a kind this table does not know: administrators only


class Gate:
    """The hub's answer for the authors of one batch (roles read once per person)."""

    def __init__(self, operator: Actor = SYSTEM) -> None:
        """``operator``: who runs the sync (on a secured PostgreSQL hub, the login PostgreSQL
        checked); rows no person wrote (system jobs on the replica) are theirs."""
        from itsmdesk.services.accounts import has_accounts, session_actor

        self.open = not has_accounts()  # a hub nobody signs in to: every writer may write
        self.operator = session_actor() or operator
        self._roles: dict[Any, frozenset[str] | None] = {}

    def roles(self, who_id: Any) -> frozenset[str] | None:
        """The roles of ``who_id`` on the hub; None for nobody the hub knows as a login."""
        if who_id is None:
            if self.operator.person_id is None:
                return self.operator.roles or None  # SYSTEM: every role; nobody: none
            return self.roles(self.operator.person_id)
        if who_id not in self._roles:
            person = Person.get_or_none(Person.id == who_id) if who_id else None
            if person is None or not person.login or not person.active:
                self._roles[who_id] = None
            else:
                rows = PersonRole.select(PersonRole.role).where(PersonRole.person == who_id)
                self._roles[who_id] = frozenset(r.role for r in rows)
        return self._roles[who_id]

    def action_for(self, kind: str, name: str) -> str:
        create, change = _ACTIONS.get(kind, (UNKNOWN_KIND_ACTION, UNKNOWN_KIND_ACTION))
        if name == records.CREATED:
            return create
        if name[-1:] == "+" and name[:-1] in _OPEN_CHILDREN:
            return _OPEN_CHILDREN[name[:-1]]
        if name[-1:] == "+":
            return create if kind == "incident" else change
        return change

    def refusal(self, row: tuple) -> str | None:
        """None when the row's author may make it on the hub; else what was refused (an
        action of :data:`permissions.RULES`)."""
        if self.open:
            return None
        kind, _rid, ref, name = row[0], row[1], row[2], row[3]
        if kind == "setting" and ref and str(ref).startswith(("queue.", "ui.")):
            return None  # a person's own view settings
        action = self.action_for(kind, name)
        roles = self.roles(row[6])
        if roles is None:
            return action
        if action == "queue.private":
            return None if roles else action
        allowed_roles = p.RULES[action][0]
        return None if any(r in roles for r in allowed_roles) else action
