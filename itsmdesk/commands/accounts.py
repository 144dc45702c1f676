"""``itsmdesk people ...``: accounts, roles and passwords (administrators).

* ``people list [--all] [--json]``: logins, names and roles (``--all``: people without a login too)
* ``people add LOGIN --name NAME --role R [--role R] [--email E]``: a new person with an account
  (``--existing``: give a login to someone already in the directory, found by e-mail or name)
* ``people roles LOGIN [--grant R]... [--revoke R]...``
* ``people password LOGIN``: set a password (one's own, or anyone's as an administrator)
* ``people deactivate LOGIN`` / ``people activate LOGIN``

A new password comes from $ITSMDESK_NEW_PASSWORD or is asked for twice.  The first
administrator of a new database is made with ``itsmdesk init --admin LOGIN``.
"""

from __future__ import annotations

import os
import sys

from itsmdesk.commands.base import CommandContext, print_json, print_table, translate
from itsmdesk.errors import N_, ValidationError
from itsmdesk.services.accounts import ROLES


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("people", help=translate("Cli", "accounts: people, their roles and "
                                                       "passwords"))
    psub = p.add_subparsers(dest="people_command", metavar="ACTION", required=True)

    c = psub.add_parser("list", help=translate("Cli", "people with a login and their roles"))
    c.add_argument("--all", action="store_true",
                   help=translate("Cli", "people without a login too"))
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_list)

    c = psub.add_parser("add", help=translate("Cli", "a new person with a login and roles"))
    c.add_argument("login")
    c.add_argument("--name", required=True)
    c.add_argument("--email")
    c.add_argument("--role", action="append", default=[], choices=ROLES, metavar="ROLE",
                   help=translate("Cli", "a role (repeat for more): {roles}").format(
                       roles=", ".join(ROLES)))
    c.add_argument("--existing", action="store_true",
                   help=translate("Cli", "give the login to the person already in the directory "
                                         "with this e-mail (or name)"))
    c.set_defaults(func=cmd_add)

    c = psub.add_parser("roles", help=translate("Cli", "grant or revoke roles"))
    c.add_argument("login")
    c.add_argument("--grant", action="append", default=[], choices=ROLES, metavar="ROLE")
    c.add_argument("--revoke", action="append", default=[], choices=ROLES, metavar="ROLE")
    c.set_defaults(func=cmd_roles)

    c = psub.add_parser("password", help=translate("Cli", "set a person's password"))
    c.add_argument("login")
    c.set_defaults(func=cmd_password)

    for name, active in (("deactivate", False), ("activate", True)):
        c = psub.add_parser(name, help=translate("Cli", "stop a person signing in") if not active
                            else translate("Cli", "let a person sign in again"))
        c.add_argument("login")
        c.set_defaults(func=cmd_active, active=active)


def new_password(login: str) -> str:
    """The new password: $ITSMDESK_NEW_PASSWORD, else asked for twice on the terminal."""
    password = os.environ.get("ITSMDESK_NEW_PASSWORD")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise ValidationError(N_("No new password for {login}: set ITSMDESK_NEW_PASSWORD or run "
                                 "the command in a terminal"), login=login)
    import getpass

    first = getpass.getpass(translate("Cli", "New password for {login}: ").format(login=login))
    again = getpass.getpass(translate("Cli", "Again: "))
    if first != again:
        raise ValidationError(N_("The two passwords differ"), field="password")
    return first


def cmd_list(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import accounts

    rows = accounts.list_accounts(ctx.writer(), include_people=args.all)
    data = [{"login": r.login or "", "name": r.name, "active": r.active, "roles": list(r.roles)}
            for r in rows]
    if args.json:
        print_json(data)
    else:
        print_table([{**d, "roles": ", ".join(d["roles"]),
                      "active": "" if d["active"] else translate("Cli", "inactive")}
                     for d in data], ["login", "name", "roles", "active"])
    return 0


def cmd_add(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import accounts

    actor = ctx.writer()
    person_id = None
    if args.existing:
        person_id = accounts.person_in_directory(args.name, args.email)
        if person_id is None:
            raise ValidationError(N_("Nobody named {name} is in the directory"), name=args.name)
    password = new_password(args.login)
    person = accounts.create_account(args.login, args.name, password, args.role, actor,
                                     email=args.email, person_id=person_id)
    print(translate("Cli", "{login}: account of {name} ({roles})").format(
        login=person.login, name=person.name, roles=", ".join(args.role) or "-"))
    return 0


def cmd_roles(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import accounts

    held = accounts.set_roles(args.login, args.grant, args.revoke, ctx.writer())
    print(f"{args.login}: {', '.join(r for r in ROLES if r in held) or '-'}")
    return 0


def cmd_password(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import accounts

    actor = ctx.writer()
    accounts.set_password(args.login, new_password(args.login), actor)
    print(translate("Cli", "{login}: password set").format(login=args.login))
    return 0


def cmd_active(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import accounts

    accounts.set_active(args.login, args.active, ctx.writer())
    print(f"{args.login}: {'active' if args.active else 'inactive'}")
    return 0
