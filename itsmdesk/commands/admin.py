"""``itsmdesk admin ...``: setting up a shared PostgreSQL database (see README, "Shared database").

* ``admin setup-shared URL --admin LOGIN [--name NAME] [--prefix P]``: as a superuser (URL
  without a password: it comes from $ITSMDESK_PASSWORD, libpq's PGPASSFILE/~/.pgpass, or is
  asked for), create the roles, migrate the schema as the owner role, install grants and
  row-level security, and create the first administrator's login role (password from
  $ITSMDESK_NEW_PASSWORD or asked for twice).  Safe to run again (upgrades).
* ``admin add-login LOGIN --role R [--role R]... [--name NAME]``: as an administrator
  (``--db postgresql://ADMINLOGIN@HOST/DB``), a new person with their own login role.

Passwords are never arguments (the process list shows arguments to every local user).
"""

from __future__ import annotations

import os
import sys

from itsmdesk.commands.accounts import new_password
from itsmdesk.commands.base import CommandContext, translate
from itsmdesk.errors import N_, ItsmError, SignInError
from itsmdesk.services.accounts import ROLES


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("admin", help=translate("Cli", "set up a shared PostgreSQL database and "
                                                      "its logins"))
    asub = p.add_subparsers(dest="admin_command", metavar="ACTION", required=True)

    c = asub.add_parser("setup-shared", help=translate(
        "Cli", "make a PostgreSQL database a shared itsmdesk database: roles, row-level "
               "security, the first administrator (run as a superuser)"))
    c.add_argument("url", metavar="URL", help=translate(
        "Cli", "postgresql://SUPERUSER@HOST:PORT/DB, without the password (it comes from "
               "ITSMDESK_PASSWORD, PGPASSFILE or is asked for)"))
    c.add_argument("--admin", required=True, metavar="LOGIN",
                   help=translate("Cli", "the first administrator's login"))
    c.add_argument("--name", help=translate("Cli", "the administrator's name"))
    c.add_argument("--prefix", default="itsmdesk", help=translate(
        "Cli", "prefix of the PostgreSQL role names (default itsmdesk; another one for a "
               "second itsmdesk database on the same server)"))
    c.set_defaults(func=cmd_setup_shared)

    c = asub.add_parser("add-login", help=translate(
        "Cli", "a new person with their own PostgreSQL login and roles (as an administrator)"))
    c.add_argument("login")
    c.add_argument("--name", help=translate("Cli", "the person's name (default: the login)"))
    c.add_argument("--role", action="append", default=[], choices=ROLES, metavar="ROLE",
                   required=True, help=translate("Cli", "a role (repeat for more): {roles}")
                   .format(roles=", ".join(ROLES)))
    c.set_defaults(func=cmd_add_login)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def connection_password(url: str) -> str | None:
    """The password to connect with: $ITSMDESK_PASSWORD; else None (libpq looks in PGPASSFILE,
    ~/.pgpass; the command asks when the server wants one)."""
    from itsmdesk.models.database import parse_url

    if parse_url(url).password:
        _err(translate("Cli", "itsmdesk: warning: a password in the URL is visible to every "
                              "user of this computer in the process list; use "
                              "ITSMDESK_PASSWORD or a PGPASSFILE instead"))
        return None
    return os.environ.get("ITSMDESK_PASSWORD")


def open_shared(url: str):  # noqa: ANN201 - (database, info)
    """Connect to a PostgreSQL URL, asking for the password on a terminal when the server
    wants one that neither the environment nor libpq's password file gave."""
    from itsmdesk.errors import DatabaseUnavailableError
    from itsmdesk.models.database import parse_url
    from itsmdesk.services import shared_setup

    password = connection_password(url)
    try:
        return shared_setup.connect(url, password)
    except DatabaseUnavailableError as exc:
        if password is not None or not shared_setup.needs_password(exc) or not sys.stdin.isatty():
            raise
    import getpass

    user = parse_url(url).user or os.environ.get("USER", "")
    password = getpass.getpass(translate("Cli", "Password for {login}: ").format(login=user))
    return shared_setup.connect(url, password)


def cmd_setup_shared(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import shared_setup
    from itsmdesk.services.accounts import _check_password

    database, info = open_shared(args.url)
    ctx.database, ctx.info = database, info  # (closed by the CLI at the end)
    login = (args.admin or "").strip().lower()
    have = database.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
    password = None
    if have is None:
        password = new_password(login)
        _check_password(password)
    report = shared_setup.setup_shared(database, info, login, args.name or login, password,
                                       prefix=args.prefix, progress=_err)
    print(translate("Cli", "{db}: shared database ready (schema {schema}, roles {prefix}_*).")
          .format(db=report.database, schema=report.schema_after, prefix=report.prefix))
    if report.admin_created:
        print(translate("Cli", "Administrator {login} created: connect as "
                               "postgresql://{login}@HOST:PORT/{db}").format(
            login=report.admin_login, db=report.database))
    else:
        print(translate("Cli", "Administrator {login} was there already (left as it was).")
              .format(login=report.admin_login))
    return 0


def cmd_add_login(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import shared_setup
    from itsmdesk.services.accounts import session_actor

    database, info = open_shared(ctx.url)
    ctx.database, ctx.info = database, info
    if not shared_setup.enable_login_hook():
        raise ItsmError(N_("This is not a shared database set up with 'itsmdesk admin "
                           "setup-shared'"))
    me = database.execute_sql("SELECT session_user").fetchone()[0]
    try:
        actor = session_actor()  # the administrator is whoever this login role is
    except SignInError:
        raise SignInError(N_("The login {login} is not a person of this database"),
                          login=me) from None
    login = (args.login or "").strip().lower()
    shared_setup.add_login(login, args.name or login, new_password(login), args.role,
                                    actor)
    print(translate("Cli", "{login} can now connect as postgresql://{login}@HOST:PORT/{db} "
                           "(roles: {roles})").format(login=login, db=info.dbname,
                                                      roles=", ".join(sorted(set(args.role)))))
    return 0
