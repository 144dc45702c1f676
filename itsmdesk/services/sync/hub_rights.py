"""On a secured PostgreSQL hub (``itsmdesk admin setup-shared``) the hub's half of a sync runs
with the sync operator's own login: row-level security and the grants apply to every row it
merges, whoever wrote the row on the replica.

:mod:`.trust` checks each row's *author*; PostgreSQL then checks the *operator*.  A pushed row
the operator's roles may not write (a CI edited at the site by a CMDB owner, synced by an agent)
makes PostgreSQL refuse the statement, and with it the hub transaction: nothing of that group of
batches is applied, the push checkpoint stays, the rows wait on the replica.  :func:`refusals`
turns that refusal into one sentence naming what the operator may not write and who may sync it,
instead of the driver's error.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models import pg_security

INSUFFICIENT_PRIVILEGE = "42501"
_TABLE = re.compile(r'(?:for table|policy for table|on table) "?([A-Za-z_][A-Za-z0-9_]*)"?')

# tables pg_security writes out by hand (not in WRITERS): who may write every row
_SPECIAL_WRITERS: dict[str, tuple[str, ...]] = {
    "incident": pg_security.WORKERS,
    "work_log": pg_security.NOTES,
    "attachment": (pg_security.AGENT, pg_security.LEAD),
    "change": pg_security.STAFF,
    "change_ci": pg_security.STAFF,
    "approval": (pg_security.CM,),
}


def writers_of(table: str) -> tuple[str, ...]:
    """The roles whose PostgreSQL group may write every row of ``table`` on a secured hub."""
    if table in pg_security.WRITERS:
        return pg_security.WRITERS[table][1]
    return _SPECIAL_WRITERS.get(table, ())


def _pgcode(exc: BaseException) -> str | None:
    for candidate in (exc, *getattr(exc, "args", ())[:1], exc.__cause__, exc.__context__):
        code = getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


def refused_table(exc: BaseException) -> str | None:
    """The table PostgreSQL refused the operator (``permission denied for table ci``, ``new row
    violates row-level security policy for table "work_log"``), '' when it names none; None
    when ``exc`` is no refusal of a privilege."""
    if _pgcode(exc) != INSUFFICIENT_PRIVILEGE:
        return None
    found = _TABLE.search(str(exc))
    return found.group(1) if found else ""


def refusal_error(exc: BaseException, operator: Any) -> ValidationError | None:
    """The sentence for a refusal of the operator's privileges, or None for any other error."""
    table = refused_table(exc)
    if table is None:
        return None
    who = getattr(operator, "name", None) or "?"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    roles = writers_of(table) if table else ()
    if roles:
        return ValidationError(N_(
            "The hub refused this sync: {who} may not write {table} there ({detail}). Nothing of "
            "it was applied; the site's changes wait on the replica. Someone with one of the roles "
            "{roles} on the hub must run the sync."), who=who, table=table, detail=detail,
            roles=", ".join(roles))
    return ValidationError(N_(
        "The hub refused this sync: {who} may not write {table} there ({detail}). Nothing of it "
        "was applied; the site's changes wait on the replica. Someone whose roles allow that "
        "write on the hub must run the sync."), who=who, table=table or "?", detail=detail)


@contextlib.contextmanager
def refusals(operator: Any) -> Iterator[None]:
    """Inside: a hub write the operator's PostgreSQL login may not make is raised as a
    :class:`ValidationError` (the hub's transaction has rolled back by then)."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - peewee's errors and the driver's own (COPY, batches)
        error = refusal_error(exc, _hub_operator(operator))
        if error is None:
            raise
        raise error from None


def _hub_operator(operator: Any) -> Any:
    """Who the hub checked: the person of the session's login on a secured hub (the models are
    still bound to the hub here), else ``operator``."""
    try:
        from itsmdesk.services.accounts import session_actor

        return session_actor() or operator
    except Exception:  # noqa: BLE001 - a name for a sentence; never hides the refusal
        return operator


def hub_is_secured(url: str) -> bool:
    """Whether the hub at ``url`` is a secured shared PostgreSQL database (there the hub's
    login is the sync operator)."""
    from itsmdesk.services.sync.link import open_unbound

    if not url.startswith(("postgresql:", "postgres:")):
        return False
    hub, _info = open_unbound(url)
    try:
        return pg_security.secured_prefix(hub) is not None
    finally:
        hub.close()
