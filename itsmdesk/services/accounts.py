"""Accounts: who may sign in, with which password, holding which roles.

A person with a ``login`` has an account.  Their roles are :class:`PersonRole` rows (child rows
of the person, journalled on them).  On a local SQLite database the password is kept as an
argon2id hash in ``Person.password_hash``; the hash is never journalled (the journal says
``(set)``, see ``records.SECRET_FIELDS``) and never replicated.  On a shared PostgreSQL database
the login is also the person's own PostgreSQL login role, whose password PostgreSQL keeps
(:data:`login_role_hook` creates and changes it); no hash is stored in the table there.

A database without any account is *open*: nobody signs in and every person holds every role
(the single-user database it was before accounts existed).  Creating the first account, which
must be an administrator's, turns sign-in and roles on for good.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError, PermissionDeniedError, SignInError, ValidationError
from itsmdesk.models.base import db
from itsmdesk.models.people import ROLES, Person, PersonRole
from itsmdesk.services import records
from itsmdesk.services.context import ALL_ROLES, SYSTEM, Actor
from itsmdesk.services.permissions import require

LOGIN_RE = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")
MIN_PASSWORD = 8
WRONG = N_("Wrong login or password.")

# Set by the PostgreSQL side: ``hook(op, login, password, roles)`` with op "create",
# "password", "roles" or "disable", run inside the write's transaction (CREATE ROLE ... LOGIN,
# ALTER ROLE ... PASSWORD, GRANT/REVOKE itsmdesk_<role>).  None: only the records are written.
def _shared_login_roles(op: str, login: str, password: str | None, roles: frozenset[str]) -> None:
    """On a secured shared PostgreSQL database the person's own login role follows the account
    (services/shared_setup.py; does nothing anywhere else)."""
    from itsmdesk.services import shared_setup

    shared_setup.login_role_hook(op, login, password, roles)


login_role_hook: Callable[[str, str, str | None, frozenset[str]], None] | None = _shared_login_roles


def _hasher():  # noqa: ANN202 - argon2.PasswordHasher (imported on first use: ~30 ms)
    global _HASHER
    if _HASHER is None:
        from argon2 import PasswordHasher

        _HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
    return _HASHER


_HASHER = None
# verified against when the login is unknown, so a wrong login costs as long as a wrong password
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    global _DUMMY_HASH
    if not stored:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("itsmdesk: no such login")
        stored, password = _DUMMY_HASH, password + "\x00"
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _local() -> bool:
    """Whether passwords live in this database (SQLite) rather than in PostgreSQL's roles."""
    return not isinstance(db.obj, pw.PostgresqlDatabase)


def _replica_site() -> str:
    """The site of the replica this database is ('' for a database that is not one)."""
    from itsmdesk.models import replica as storage

    return storage.read_meta(db.obj).get("site", "")


# -- reading ----------------------------------------------------------------------------------------
def has_accounts() -> bool:
    """Whether anyone can sign in to this database (then sign-in and roles are enforced)."""
    return Person.select(Person.id).where(Person.login.is_null(False)).exists()


def start_state() -> tuple[bool, bool]:
    """(whether the database has accounts, whether anyone is in it): what the window asks at
    start (sign in; create the administrator of a fresh database; neither)."""
    return has_accounts(), Person.select(Person.id).exists()


def roles_of(person_id: Any) -> frozenset[str]:
    """The roles a person holds; every role on a database without accounts."""
    if not has_accounts():
        return ALL_ROLES
    if person_id is None:
        return frozenset()
    return frozenset(r[0] for r in PersonRole.select(PersonRole.role)
                     .where(PersonRole.person == person_id).tuples())


@dataclass(frozen=True)
class AccountRow:
    person_id: Any
    version: int
    login: str | None
    name: str
    email: str | None
    active: bool
    roles: tuple[str, ...]
    has_password: bool


def list_accounts(actor: Actor, include_people: bool = False) -> list[AccountRow]:
    """Everyone with a login (and, with ``include_people``, everyone else too), with roles.
    Administrators only."""
    require(actor, "people.manage")
    query = Person.select(Person.id, Person.version, Person.login, Person.name, Person.email,
                          Person.active, Person.password_hash.is_null(False).alias("has_pw"))
    if not include_people:
        query = query.where(Person.login.is_null(False))
    roles: dict[Any, list[str]] = {}
    for pid, role in PersonRole.select(PersonRole.person, PersonRole.role).tuples():
        roles.setdefault(pid, []).append(role)
    out = []
    for pid, version, login, name, email, active, has_pw in query.order_by(Person.name).tuples():
        out.append(AccountRow(pid, version, login, name, email, bool(active),
                              tuple(r for r in ROLES if r in roles.get(pid, ())), bool(has_pw)))
    return out


def person_by_login(login: str) -> Person:
    person = Person.get_or_none(Person.login == (login or "").strip().lower())
    if person is None:
        raise NotFoundError(N_("No account with login {login}"), login=login)
    return person


# -- checks -----------------------------------------------------------------------------------------
def _check_login(login: str) -> str:
    login = (login or "").strip().lower()
    if not LOGIN_RE.match(login):
        raise ValidationError(N_("A login is 1 to 63 lowercase letters, digits, '.', '_' or '-', "
                                 "starting with a letter ('{login}' is not)"),
                              field="login", login=login)
    return login


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(N_("A password needs at least {n} characters"), field="password",
                              n=MIN_PASSWORD)


def _check_roles(roles: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(r.strip().lower() for r in roles)
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise ValidationError(N_("Unknown role(s): {roles} (roles: {known})"), field="roles",
                              roles=", ".join(unknown), known=", ".join(ROLES))
    return wanted


# -- writing ----------------------------------------------------------------------------------------
def create_account(login: str, name: str, password: str | None, roles: Iterable[str],
                   actor: Actor = SYSTEM, email: str | None = None, person_id: Any = None,
                   password_hash: str | None = None, values: dict | None = None) -> Person:
    """A new person with a login, a password and roles (or, with ``person_id``, a login for
    someone already in the directory).  Administrators only; the very first account of a
    database must be an administrator's (see :func:`create_first_administrator`).
    ``password_hash``: an argon2 hash made earlier (the demo hashes its one password once)."""
    from itsmdesk.services import people

    login = _check_login(login)
    wanted = _check_roles(roles)
    if password_hash is None:
        _check_password(password or "")
    with records.atomic():
        first = not has_accounts()
        if first and "administrator" not in wanted:
            raise ValidationError(N_("The first account must be an administrator's"),
                                  field="roles")
        if not first:
            require(actor, "people.manage")
        if Person.select().where(Person.login == login).exists():
            raise ValidationError(N_("{label} '{value}' is already taken"), field="login",
                                  label="Login", value=login)
        secret = None
        if _local():
            secret = password_hash or hash_password(password or "")
        if person_id is None:
            data = dict(values or {})
            data.update(name=name, login=login)
            if email:
                data["email"] = email
            if secret:
                data["password_hash"] = secret
            person = people.create_person(data, actor)
        else:
            person = records.get(Person, person_id)
            changes = {"login": login, **({"password_hash": secret} if secret else {})}
            person = records.update(Person, person.id, None, changes, actor)
        if wanted:
            records.add_children(PersonRole, [{"person": person.id, "role": r}
                                              for r in ROLES if r in wanted], actor)
        if login_role_hook is not None:
            login_role_hook("create", login, password, wanted)
        return person


def create_first_administrator(login: str, name: str, password: str,
                               email: str | None = None) -> Person:
    """The administrator of a fresh database (the first-run wizard, ``init --admin``): allowed
    only while the database has no account at all."""
    with records.atomic():
        if has_accounts():
            raise PermissionDeniedError(
                N_("This database has accounts already: an administrator adds people."),
                action="people.manage", role="administrator")
        return create_account(login, name, password, ("administrator",), SYSTEM, email=email)


def set_password(login: str, new_password: str, actor: Actor,
                 old_password: str | None = None) -> None:
    """Change a password: one's own (with the old password) or anyone's as an administrator."""
    _check_password(new_password)
    with records.atomic():
        person = person_by_login(login)
        own = actor.person_id == person.id
        if own and old_password is not None:
            if not verify_password(person.password_hash, old_password):
                raise SignInError(N_("The old password is wrong."))
        elif not own or old_password is None:
            require(actor, "people.manage")
        site = _replica_site() if _local() else ""
        if site:
            # A replica's passwords are its own (the hub keeps its own, or PostgreSQL does):
            # set here only, no change for the sync to carry.  An administrator setting
            # someone's leaves a note in the person's history (it syncs as a note); one's own
            # leaves none (the hub would take a note on a person from an administrator only).
            from itsmdesk.models import replica as storage

            storage.set_local_password(db.obj, person.login or "", hash_password(new_password),
                                       replace=True)
            if not own:
                records.note(Person, person.id, "password",
                             f"(set on replica {site})", actor)
        elif _local():
            records.update(Person, person.id, None, {"password_hash": hash_password(new_password)},
                           actor)
        else:
            records.note(Person, person.id, "password", "(set)", actor)
        if login_role_hook is not None:
            login_role_hook("password", person.login, new_password, roles_of(person.id))


def set_roles(login: str, grant: Iterable[str] = (), revoke: Iterable[str] = (),
              actor: Actor = SYSTEM) -> frozenset[str]:
    """Grant and revoke roles (administrators only); returns the roles held afterwards.  The
    last administrator cannot give the role up (nobody could manage people after)."""
    grant, revoke = _check_roles(grant), _check_roles(revoke)
    with records.atomic():
        require(actor, "people.manage")
        person = person_by_login(login)
        rows = {r.role: r for r in PersonRole.select().where(PersonRole.person == person.id)}
        if "administrator" in revoke and "administrator" in rows and _administrators() <= 1:
            raise ValidationError(N_("{login} is the last administrator: make someone else an "
                                     "administrator first"), field="roles", login=person.login)
        for role in ROLES:
            if role in grant and role not in rows:
                records.add_child(PersonRole, {"person": person.id, "role": role}, actor)
            elif role in revoke and role in rows and role not in grant:
                records.remove_child(PersonRole, rows[role].id, actor)
        held = roles_of(person.id)
        if login_role_hook is not None:
            login_role_hook("roles", person.login, None, held)
        return held


def set_active(login: str, active: bool, actor: Actor) -> Person:
    """Let a person sign in again, or not (administrators only; one cannot lock oneself out)."""
    with records.atomic():
        require(actor, "people.manage")
        person = person_by_login(login)
        if not active and person.id == actor.person_id:
            raise ValidationError(N_("You cannot deactivate your own account"), field="active")
        person = records.update(Person, person.id, None, {"active": bool(active)}, actor)
        if login_role_hook is not None:
            login_role_hook("enable" if active else "disable", person.login, None, frozenset())
        return person


def _administrators() -> int:
    return (PersonRole.select().join(Person)
            .where((PersonRole.role == "administrator") & (Person.active == True)  # noqa: E712
                   & Person.login.is_null(False)).count())


# -- signing in -------------------------------------------------------------------------------------
def sign_in(login: str, password: str, site: str = "") -> Actor:
    """The actor of the person with this login and password.  Every failure (unknown login,
    wrong password, no password set, inactive person) says the same sentence and takes about
    the same time, so a stranger learns nothing about which logins exist."""
    person = Person.get_or_none(Person.login == (login or "").strip().lower())
    stored = person.password_hash if person is not None else None
    good = verify_password(stored, password or "")
    if not (good and person is not None and person.active):
        raise SignInError(WRONG)
    return Actor.for_person(person, site, roles_of(person.id))


def set_own_password(actor: Actor, old_password: str, new_password: str) -> None:
    """The person signed in changes their password (the old one checked)."""
    person = records.get(Person, actor.person_id)
    set_password(person.login or "", new_password, actor, old_password=old_password)


def restore_person(person_id: Any) -> tuple | None:
    """(id, name, roles) of the person who last worked at this desk, to sign them in again
    without asking: only on a database without accounts (with accounts, they sign in)."""
    if has_accounts():
        return None
    row = Person.select(Person.id, Person.name).where(Person.id == person_id).tuples().first()
    return None if row is None else (row[0], row[1], ALL_ROLES)


def person_in_directory(name: str | None, email: str | None = None) -> Any:
    """The id of the person with this e-mail address, else with this name; None if nobody."""
    found = Person.get_or_none(Person.email == email) if email else None
    found = found or (Person.get_or_none(Person.name == name) if name else None)
    return None if found is None else found.id


def session_actor(site: str = "") -> Actor | None:
    """On a secured shared PostgreSQL database, the person whose own login role this connection
    is (PostgreSQL checked the password when it connected: signing in *is* connecting); None on
    any other database, where people sign in with :func:`sign_in`."""
    from itsmdesk.models import pg_security

    database = db.obj
    if pg_security.secured_prefix(database) is None:
        return None
    login = database.execute_sql("SELECT session_user").fetchone()[0]
    return actor_for_login(login, site)


def actor_for_login(login: str, site: str = "") -> Actor:
    """The actor of an already authenticated login: on PostgreSQL the session's own role
    (``current_user``), which PostgreSQL checked the password of when it connected."""
    person = Person.get_or_none(Person.login == (login or "").strip().lower())
    if person is None or not person.active:
        raise SignInError(WRONG)
    return Actor.for_person(person, site, roles_of(person.id))
