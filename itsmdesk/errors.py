"""Domain errors: raised by models and services, shown to a person by the CLI and the views.

Services must not import Qt, yet every message a person reads has to be translatable.  So an
error carries an English *template* plus its parameters.  The CLI prints ``str(error)``; the
views pass ``error.template`` through ``QCoreApplication.translate("errors", ...)`` and then
format it with ``error.params`` (see ``itsmdesk.views.messages``).  Templates are marked with
:func:`N_` so the translation tooling can collect them.
"""

from __future__ import annotations

from typing import Any


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional name for a no-op marker
    """Mark a string for translation without translating it here (gettext's ``N_``)."""
    return text


class Phrase(str):
    """A parameter of an error that is itself an N_() text (an action, a role's name): it reads
    as plain English in ``str(error)``, and :func:`itsmdesk.i18n.error_text` translates it in
    the "errors" context along with the template, so the whole sentence is in one language."""

    __slots__ = ()


class ItsmError(Exception):
    """Base of every error fit to show a person."""

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        try:
            return self.template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return self.template


class ValidationError(ItsmError):
    """Input that breaks a rule; ``field`` names the offending field when there is one."""

    def __init__(self, template: str, field: str | None = None, **params: Any) -> None:
        self.field = field
        # A template's {field} is filled from ``field_`` when given (``field`` then names the
        # offending form field), else from ``field`` itself: never left unfilled.
        if "field_" in params:
            params["field"] = params.pop("field_")
        elif field is not None:
            params.setdefault("field", field)
        super().__init__(template, **params)


class NotFoundError(ItsmError):
    pass


class ConflictError(ItsmError):
    """A stale edit: the record changed since the caller read it.

    ``current`` holds the record as it is now (field -> value) and ``changed_fields`` the fields
    that differ from what the caller had read, so a form can offer a merge.
    """

    def __init__(self, template: str, current: dict[str, Any] | None = None,
                 changed_fields: list[str] | None = None, shown: dict[str, str] | None = None,
                 **params: Any) -> None:
        self.current = current or {}
        self.changed_fields = changed_fields or []
        self.shown = shown or {}  # display text of current values that are ids (names)
        super().__init__(template, **params)


class TransitionError(ValidationError):
    """A lifecycle step that is not allowed from the record's current state."""


class DatabaseUnavailableError(ItsmError):
    """Bad database URL, unreachable server, unwritable path, corrupt file."""


class DatabaseBusyError(ItsmError):
    """Another writer holds the database longer than we wait for it."""


class SchemaTooNewError(ItsmError):
    """The database was written by a newer itsmdesk; we refuse to touch it."""


class PermissionDeniedError(ItsmError):
    """The person acting may not do this (``action``: what was refused; ``role``: a role that
    would allow it, when one would)."""

    def __init__(self, template: str, action: str = "", role: str = "", **params: Any) -> None:
        self.action = action
        self.role = role
        super().__init__(template, **params)


class SignInError(ItsmError):
    """Signing in failed (one sentence for every reason a stranger may not learn)."""
