"""Setting up a shared PostgreSQL database: roles, grants, row-level security, the first
administrator's login; and the login-role hook the accounts service calls on such a database.

``itsmdesk admin setup-shared URL --admin LOGIN`` runs :func:`setup_shared` connected as a
superuser (or a role with CREATEROLE that owns the database), in one transaction:

1. the NOLOGIN roles (``P_owner``, ``P_rolemaker``, ``P_user``, one group per role), see
   :mod:`itsmdesk.models.pg_security`;
2. the schema ``public`` and whatever is in it already handed to ``P_owner``;
3. the normal migrations run as ``P_owner`` (``SET ROLE``), so every table, sequence and
   function they create is the owner's;
4. grants, row-level security, policies, functions and triggers installed;
5. the first administrator: a person with that login, the role ``administrator``, and a
   PostgreSQL login role of the same name whose password is hashed here (SCRAM-SHA-256)
   before it is sent.

Running it again is safe (an upgrade: migrations, then everything put back as the module
says); an administrator that exists is left as it is.

Passwords are never command-line arguments: the connecting role's comes from
ITSMDESK_PASSWORD, a prompt, or libpq's own PGPASSFILE (~/.pgpass); the new login's from
ITSMDESK_NEW_PASSWORD or a prompt.  Neither is printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import peewee as pw

from itsmdesk.errors import N_, DatabaseUnavailableError, ItsmError, PermissionDeniedError
from itsmdesk.models import pg_security
from itsmdesk.models.base import db
from itsmdesk.models.database import DbInfo, describe_failure, make_database, parse_url
from itsmdesk.models.pg_security import Names


@dataclass(frozen=True)
class SetupReport:
    database: str
    prefix: str
    schema_before: int | None
    schema_after: int
    admin_login: str
    admin_created: bool


def connect(url: str, password: str | None = None) -> tuple[pw.Database, DbInfo]:
    """Open ``url`` with ``password`` (None: the URL's, else libpq finds one: PGPASSFILE,
    ~/.pgpass, PGPASSWORD) and bind the one database proxy to it."""
    info = parse_url(url)
    if info.backend != "postgresql":
        raise ItsmError(N_("A shared database is a PostgreSQL database (postgresql://...)"))
    if password is not None:
        info = dataclasses.replace(info, password=password)
    database = make_database(info)
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1").fetchone()
    except Exception as exc:
        try:
            database.close()
        except Exception:  # noqa: BLE001 - reporting the first failure
            pass
        if isinstance(exc, pw.DatabaseError) or type(exc).__module__.startswith("psycopg"):
            raise describe_failure(info, exc) from None
        raise
    db.initialize(database)
    return database, info


def needs_password(error: BaseException) -> bool:
    """Whether a failed connection asked for a password (then the command prompts)."""
    text = str(error).lower()
    return "password" in text and ("no password" in text or "authentication failed" in text
                                   or "supplied" in text)


def _me(database: pw.Database) -> tuple[str, bool, bool]:
    name, superuser, createrole = database.execute_sql(
        "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    return name, superuser, createrole


def setup_shared(database: pw.Database, info: DbInfo, admin_login: str, admin_name: str,
                 admin_password: str | None, prefix: str = pg_security.DEFAULT_PREFIX,
                 progress: Callable[[str], None] | None = None) -> SetupReport:
    """Make the database a shared, secured itsmdesk database (see the module's docstring)."""
    from itsmdesk.models.migrations import ensure_schema
    from itsmdesk.models.people import Person
    from itsmdesk.services import accounts
    from itsmdesk.services.cmdb.cis import ensure_standard_classes
    from itsmdesk.services.context import SYSTEM

    say = progress or (lambda _m: None)
    if not isinstance(database, pw.PostgresqlDatabase):
        raise ItsmError(N_("A shared database is a PostgreSQL database (postgresql://...)"))
    try:
        names = Names(prefix)
    except ValueError:
        raise ItsmError(N_("A role prefix is 1 to 31 lowercase letters, digits or '_', starting "
                           "with a letter ('{prefix}' is not)"), prefix=prefix) from None
    me, superuser, createrole = _me(database)
    if not (superuser or createrole):
        raise PermissionDeniedError(
            N_("Setting up a shared database needs a superuser, or a role with CREATEROLE that "
               "owns the database ({login} is neither)"), action="setup", login=me)
    with database.atomic():
        pg_security.create_roles(database, names)
        if not superuser:  # (SET ROLE needs membership; a superuser needs none)
            database.execute_sql(f'GRANT "{names.owner}" TO "{me}"')
        pg_security.take_ownership(database, names)
        say(f"roles and ownership: {names.owner}")
        database.execute_sql(f'SET LOCAL ROLE "{names.owner}"')
        before, after = ensure_schema(database, progress=say)
        database.execute_sql("RESET ROLE")
        pg_security.take_ownership(database, names)
        pg_security.install(database, names, info.dbname or "")
        say(f"grants, row-level security and policies installed (schema {after})")
        ensure_standard_classes()
        enable_login_hook(names.prefix)
        created = False
        login = (admin_login or "").strip().lower()
        exists = database.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                      (login,)).fetchone() is not None
        person = Person.get_or_none(Person.login == login)
        if person is None:
            if admin_password is None:
                raise ItsmError(N_("A password for the administrator {login} is needed"),
                                login=login)
            if exists:
                raise ItsmError(N_("A PostgreSQL role named {login} exists already; choose "
                                   "another login for the administrator"), login=login)
            accounts.create_account(login, admin_name or login, admin_password,
                                    ("administrator",), SYSTEM)
            created = True
        elif not exists:
            if admin_password is None:
                raise ItsmError(N_("A password for the administrator {login} is needed"),
                                login=login)
            held = accounts.roles_of(person.id)
            pg_security.create_login(database, login, admin_password, held | {"administrator"})
            if "administrator" not in held:  # (the login role exists now: the hook may run)
                accounts.set_roles(login, grant=("administrator",), actor=SYSTEM)
            created = True
    return SetupReport(info.dbname or "", names.prefix, before, after, login, created)


# -- the accounts service's hook ------------------------------------------------------------------
def login_role_hook(op: str, login: str, password: str | None, roles: Iterable[str]) -> None:
    """``services.accounts.login_role_hook`` on a secured PostgreSQL database: the person's own
    login role follows their account (through the SECURITY DEFINER login functions, which
    refuse unless the session's login is an administrator's, or the person's own for a
    password).  Runs inside the account write's transaction.  Does nothing on a database that
    is not a secured shared one (so it may be installed unconditionally)."""
    database = db.obj
    if pg_security.secured_prefix(database) is None:
        return
    try:
        if op == "create":
            pg_security.create_login(database, login, password or "", roles)
        elif op == "password":
            pg_security.set_login_password(database, login, password or "")
        elif op == "roles":
            pg_security.set_login_roles(database, login, roles)
        elif op == "disable":
            pg_security.enable_login(database, login, False)
        elif op == "enable":
            pg_security.enable_login(database, login, True)
    except pw.DatabaseError as exc:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PermissionDeniedError(N_("PostgreSQL refused to change the login {login}: "
                                       "{reason}"), action="people.manage", login=login,
                                    reason=text) from None


def enable_login_hook(prefix: str | None = None) -> bool:
    """Whether the bound database is a secured shared one (``prefix`` given, or found in
    ``schema_info``), whose account changes go to PostgreSQL login roles.  The accounts service
    routes them there by itself (``accounts.login_role_hook`` calls :func:`login_role_hook`,
    which does nothing elsewhere), so nothing is switched here."""
    if prefix is None:
        prefix = pg_security.secured_prefix(db.obj)
    return prefix is not None


def add_login(login: str, name: str, password: str, roles: Iterable[str], actor) -> object:  # noqa: ANN001
    """A new person with a login role (``admin add-login``), as the administrator signed in."""
    from itsmdesk.services import accounts

    if not enable_login_hook():
        raise DatabaseUnavailableError(
            N_("This is not a shared database set up with 'itsmdesk admin setup-shared'"))
    return accounts.create_account(login, name or login, password, roles, actor)
