"""init, demo, stats, backup, restore, check, list, and starting the GUI."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from itsmdesk.commands.base import LIMIT, CommandContext, print_json, print_table, translate
from itsmdesk.errors import N_, ItsmError


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("init", help=translate("Cli", "create the database or upgrade its schema"))
    p.add_argument("--admin", metavar="LOGIN", help=translate(
        "Cli", "create the first administrator (a database without accounts only); the password "
               "from $ITSMDESK_NEW_PASSWORD or asked for"))
    p.add_argument("--name", help=translate("Cli", "the administrator's name (default: LOGIN)"))
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help=translate("Cli", "fill the database with deterministic demo data"))
    p.add_argument("--size", choices=("small", "large"), default="small")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--force", action="store_true",
                   help=translate("Cli", "add demo data even though the database already holds records"))
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("stats", help=translate("Cli", "print counts per record kind as JSON"))
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("backup", help=translate("Cli", "write a consistent copy of the database to FILE"))
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help=translate(
        "Cli", "replace the database with the backup FILE (SQLite; the current file is saved "
               "beside it first)"))
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("check", help=translate(
        "Cli", "check the file, the references between records, external keys, stored values "
               "and the CMDB graph index"))
    p.add_argument("--repair", action="store_true",
                   help=translate("Cli", "first put the CMDB graph index right (it is derived "
                                         "from the CIs and relations; nothing else changes)"))
    p.set_defaults(func=cmd_check)

    from itsmdesk.services.listing import KINDS

    p = sub.add_parser("list", help=translate("Cli", "list records of one kind"))
    p.add_argument("kind", choices=sorted(KINDS), metavar="KIND",
                   help=translate("Cli", "one of: {kinds}").format(kinds=", ".join(sorted(KINDS))))
    p.add_argument("--limit", type=LIMIT, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("history",
                       help=translate("Cli", "who changed what on a record (by reference or CI name)"))
    p.add_argument("ref")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("settings", help=translate("Cli", "every setting: where it lives, its default "
                                                          "and its value here"))
    p.add_argument("--json", action="store_true", help=translate("Cli", "print JSON"))
    p.set_defaults(func=cmd_settings)


def cmd_init(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.models.database import connect
    from itsmdesk.models.migrations import LATEST_VERSION, ensure_schema
    from itsmdesk.services.cmdb.cis import ensure_standard_classes

    database, info = connect(ctx.url)
    ctx.database, ctx.info = database, info
    before, after = ensure_schema(database, info.path, progress=lambda m: print(m, file=sys.stderr))
    ensure_standard_classes()
    if before is None:
        print(translate("Cli", "created {db} at schema {version}").format(db=info.display,
                                                                          version=after))
    elif before == after:
        print(translate("Cli", "{db} is up to date (schema {version})").format(
            db=info.display, version=LATEST_VERSION))
    else:
        print(translate("Cli", "upgraded {db} from schema {old} to {new}").format(
            db=info.display, old=before, new=after))
    if args.admin:
        from itsmdesk.commands.accounts import new_password
        from itsmdesk.services import accounts

        person = accounts.create_first_administrator(args.admin, args.name or args.admin,
                                                     new_password(args.admin))
        print(translate("Cli", "{login}: administrator {name} created; sign in with --user "
                               "{login}").format(login=person.login, name=person.name))
    return 0


def cmd_demo(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.demo import builder as demo
    from itsmdesk.services.stats import counts

    ctx.open(create=True)
    if not args.force and counts()["incidents"] > 0:
        raise ItsmError(N_("{db} already holds records; use another --db, or --force to add demo "
                           "data anyway"), db=ctx.info.display)
    started = time.perf_counter()
    demo.generate(args.size, args.seed, progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(translate("Cli", "demo data ({size}, seed {seed}) written to {db} in {seconds} s").format(
        size=args.size, seed=args.seed, db=ctx.info.display,
        seconds=f"{time.perf_counter() - started:.1f}"))
    return 0


def cmd_stats(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.stats import counts

    ctx.open()
    print_json(counts())
    return 0


def cmd_backup(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.maintenance import backup

    info = ctx.open(upgrade=False)
    target = backup(info, args.file)
    print(translate("Cli", "backup of {db} written to {path}").format(db=info.display, path=target))
    return 0


def cmd_restore(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.models.database import parse_url
    from itsmdesk.services import backup as backups

    info = parse_url(ctx.url)
    if info.backend != "sqlite" or info.path is None:
        raise backups.refuse_postgresql()
    ctx.close()  # (restore needs the file to itself)
    done = backups.restore(args.file, info.path)
    if done.safety_backup is not None:
        print(translate("Cli", "the previous database was saved as {path}").format(
            path=done.safety_backup))
    ctx.open()  # an older backup's schema is upgraded as when any older file is opened
    print(translate("Cli", "{db} restored from {path}").format(db=info.display, path=args.file))
    return 0


def cmd_check(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.i18n import template_text
    from itsmdesk.services.maintenance import check

    info = ctx.open()
    if args.repair:
        from itsmdesk.services.maintenance import repair_graph_index

        left = repair_graph_index()
        print(translate("Cli", "CMDB graph index repaired ({cis} CI(s), {relations} relation(s) "
                               "still wrong)").format(cis=left["cis_without_gid"],
                                                      relations=left["relations_with_stale_gids"]))
    problems = check(info)
    for problem in problems:
        print(template_text(problem.template, problem.params, str(problem)))
    if problems:
        print(translate("Cli", "{n} problem(s) found in {db}").format(n=len(problems),
                                                                     db=info.display),
              file=sys.stderr)
        return 1
    print(translate("Cli", "{db}: OK").format(db=info.display))
    return 0


def cmd_list(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.listing import KINDS, list_records

    ctx.open()
    rows = list_records(args.kind, limit=max(1, args.limit), viewer=ctx.reader())
    if args.json:
        print_json(rows)
    elif KINDS[args.kind].columns:
        print_table(rows, list(KINDS[args.kind].columns))
    else:
        title = "title" if rows and "title" in rows[0] else "name"
        print_table(rows, ["ref", title, "status"])
    return 0


def cmd_history(args, ctx: CommandContext) -> int:  # noqa: ANN001
    """Who changed what on a record, newest first, people, teams and CIs named."""
    from itsmdesk.services.history import named_history
    from itsmdesk.services.lookup import find_by_reference
    from itsmdesk.words import action_word, field_label, word

    ctx.open()
    kind, record = find_by_reference(args.ref)
    entries = named_history(kind, record.id)
    if args.json:
        print_json([{"at": e.at.isoformat(sep=" "), "who": e.who, "site": e.site,
                     "action": e.action, "field": e.field, "old": e.old, "new": e.new,
                     "version": e.version} for e in entries])
        return 0
    rows = [{"at": e.at.isoformat(sep=" "), "who": e.who, "action": action_word(e.action),
             "field": field_label(e.field), "old": word(e.old) if e.action == "set" else e.old,
             "new": word(e.new) if e.action == "set" else e.new} for e in entries]
    print_table(rows, ["at", "who", "action", "field", "old", "new"])
    return 0


def cmd_settings(args, ctx: CommandContext) -> int:  # noqa: ANN001
    """The settings registry (itsmdesk/config.py) with the values in force here."""
    from PySide6.QtCore import QSettings

    from itsmdesk import config
    from itsmdesk.errors import NotFoundError
    from itsmdesk.services.records import get_setting

    try:
        ctx.open()
        have_db = True
    except NotFoundError as exc:  # the environment and this desk's settings still apply
        print(translate("Cli", "{reason} Organisation settings show their defaults.").format(
            reason=str(exc)), file=sys.stderr)
        have_db = False
    desk = QSettings("itsmdesk", "itsmdesk")
    rows = []
    for opt in config.OPTIONS.values():
        if opt.scope == config.ENVIRONMENT:
            current = config.value(opt)
        elif opt.scope == config.WORKSTATION:
            current = desk.value(opt.key)
            if isinstance(current, (bytes, bytearray)) or type(current).__name__ == "QByteArray":
                current = f"({len(bytes(current))} bytes)"
        else:
            current = get_setting(opt.key, opt.default) if have_db else opt.default
        rows.append({"name": opt.name, "scope": opt.scope, "key": opt.key,
                     "default": opt.default, "value": current, "doc": opt.doc})
    if args.json:
        print_json(rows)
    else:
        print_table([{**r, "value": "" if r["value"] is None else str(r["value"])[:40],
                      "default": "" if r["default"] is None else str(r["default"])[:40]}
                     for r in rows], ["name", "scope", "key", "default", "value"])
    return 0


def run_gui(args, ctx: CommandContext) -> int:  # noqa: ANN001
    """The desktop app: its window shows at once and opens the database (building the small
    demo on first start with --demo) on its writer thread."""
    from itsmdesk import config
    from itsmdesk.app import run
    from itsmdesk.config import demo_db_url

    if args.demo and not args.db:
        ctx.url = demo_db_url()
    return run(ctx.url, demo=args.demo,
               use_saved=not (args.db or args.demo or config.value(config.DB_URL)))
