"""What a person may *see*: the read side of :mod:`itsmdesk.services.permissions`.

A requester sees only the tickets they raised or reported (``caller`` or ``created_by`` is
them) and only the public notes of those tickets; everyone with a staff role sees every ticket.
The queue pages and counts, full-text search, quick open, ``itsmdesk list`` and the ticket
form's read model all ask here, so the rule lives once.

``viewer`` None means "no person's view" (system work, reports built for the whole desk, the
tests): everything is visible.  A viewer without roles on a database without accounts sees
everything too (the open, single-user database).  On a shared PostgreSQL database the same
rule is enforced again by row-level security.
"""

from __future__ import annotations

from typing import Any

from itsmdesk.services import permissions
from itsmdesk.services.context import Actor

NOBODY = "nobody"  # the scope of a viewer who may see no ticket at all (not signed in)


def ticket_scope(viewer: Actor | None) -> Any:
    """None: every ticket; a person id: only that person's tickets; :data:`NOBODY`: none."""
    if viewer is None or permissions.allowed(viewer, "ticket.see_all") \
            or permissions.holds_every_role(viewer):
        return None
    if viewer.person_id is None:
        return NOBODY
    return viewer.person_id


def ticket_condition(scope: Any, model: Any = None) -> Any:
    """The peewee condition on ``model`` (default :class:`Incident`) for a :func:`ticket_scope`
    (``True`` when every ticket is visible)."""
    if model is None:
        from itsmdesk.models.incident import Incident as model  # noqa: N813
    if scope is None:
        return True
    if scope == NOBODY:
        return model.id.is_null()
    return (model.caller == scope) | (model.created_by == scope)


def tickets_visible_to(viewer: Actor | None, model: Any = None) -> Any:
    return ticket_condition(ticket_scope(viewer), model)


def sees_private_notes(viewer: Actor | None) -> bool:
    """Whether the viewer reads the private (internal) notes of a ticket's work log."""
    return viewer is None or permissions.allowed(viewer, "note.private") \
        or permissions.holds_every_role(viewer)
