"""Service desk commands: search, queues, announcements, business calendars (the SLA commands
are in commands/sla.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from itsmdesk.commands.base import (
    LIMIT,
    CommandContext,
    parse_date,
    print_json,
    print_table,
    translate,
)


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("search",
                       help=translate("Cli", "full-text search over tickets (title, description, work log)"))
    p.add_argument("words", nargs="+")
    p.add_argument("--limit", type=LIMIT, default=50)
    p.add_argument("--open", action="store_true", help=translate("Cli", "only open tickets"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("find", help=translate(
        "Cli", "quick open: any record by reference, source-system key (external key) or words"))
    p.add_argument("words", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_find)

    p = sub.add_parser("queue",
                       help=translate("Cli", "ticket queues: counts, or the first rows of one queue"))
    p.add_argument("key", nargs="?", help=translate("Cli", "queue key (all_open, unassigned, breached, ...)"))
    p.add_argument("--limit", type=LIMIT, default=25)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)

    # `sla ...` lives in commands/sla.py

    ann = sub.add_parser("announcements", help=translate("Cli", "service announcements")).add_subparsers(
        dest="ann_cmd", required=True)
    p = ann.add_parser("export", help=translate("Cli", "current announcements as text or HTML (for e-mail)"))
    p.add_argument("--format", choices=("text", "html"), default="text")
    p.add_argument("-o", "--output", type=Path)
    p.add_argument("--site", metavar="CODE",
                   help=translate("Cli", "only what concerns this site (by its code)"))
    p.add_argument("--everyone", action="store_true",
                   help=translate("Cli", "leave out the notices for IT staff only"))
    p.set_defaults(func=cmd_ann_export)
    p = ann.add_parser("add", help=translate("Cli", "add a manual announcement"))
    p.add_argument("title")
    p.add_argument("--body", default="")
    p.add_argument("--start")
    p.add_argument("--end")
    p.add_argument("--service", action="append", default=[],
                   help=translate("Cli", "service CI name (repeatable)"))
    p.add_argument("--kind", choices=("manual", "planned_outage"), default="manual")
    p.add_argument("--audience", choices=("everyone", "it_staff"), default="everyone")
    p.add_argument("--site", metavar="CODE",
                   help=translate("Cli", "for this site only (by its code); default: every site"))
    p.set_defaults(func=cmd_ann_add)

    cal = sub.add_parser("business-calendar", help=translate("Cli", "business calendars for SLA clocks (the "
                                                        "change calendar is `calendar`)")).add_subparsers(
        dest="cal_cmd", required=True)
    p = cal.add_parser("list", help=translate("Cli", "calendars and their holidays"))
    p.set_defaults(func=cmd_cal_list)
    p = cal.add_parser("create", help=translate("Cli", "create a calendar with office hours Mon-Fri 08-17"))
    p.add_argument("name")
    p.add_argument("--timezone", default="UTC")
    p.set_defaults(func=cmd_cal_create)
    hol = cal.add_parser("holidays",
                         help=translate("Cli", "holidays")).add_subparsers(dest="hol_cmd", required=True)
    p = hol.add_parser("import", help=translate("Cli", "import holidays from an .ics file"))
    p.add_argument("file", type=Path)
    p.add_argument("--calendar", default=None,
                   help=translate("Cli", "calendar name (default: the default one)"))
    p.set_defaults(func=cmd_holidays_import)


def cmd_search(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import search

    ctx.open()
    hits = search.search_incidents(" ".join(args.words), args.limit, open_only=args.open,
                                   viewer=ctx.reader())
    rows = [{"ref": h.ref, "status": h.status, "title": h.title, "id": str(h.id)} for h in hits]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["ref", "status", "title"])
    return 0


def cmd_find(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import search

    ctx.open()
    hits = search.quick_open(" ".join(args.words), viewer=ctx.reader())
    rows = [{"kind": h.kind, "ref": h.ref, "title": h.title, "status": h.status,
             "external_key": h.external_key or None} for h in hits]
    if args.json:
        print_json(rows)
    else:
        keyed = any(h.external_key for h in hits)
        print_table(rows, ["kind", "ref", "title", "status"] + (["external_key"] if keyed else []))
    return 0


def cmd_queue(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import queues

    ctx.open()
    if not args.key:
        specs = queues.queues_for(None)
        rows = [{"key": s.key, "name": s.name, "count": queues.count(s, viewer=ctx.reader())}
                for s in specs]
        print_json(rows) if args.json else print_table(rows, ["key", "name", "count"])
        return 0
    spec = queues.get_spec(args.key)
    viewer = ctx.reader()
    rows = [r.values for r in queues.page(spec, 0, args.limit, person_id=viewer and viewer.person_id,
                                          viewer=viewer).rows]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["ref", "priority", "status", "sla_state", "title"])
    return 0


def cmd_ann_export(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import announcements

    ctx.open()
    text = announcements.export(args.format, site_id=_site_id(args.site),
                                audience="everyone" if args.everyone else None)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(translate("Cli", "wrote {path}").format(path=args.output), file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _site_id(code: str | None):  # noqa: ANN202
    """The id of the site with this code (None for none); an unknown code is said."""
    if not code:
        return None
    from itsmdesk.services.people import site_by_code

    return site_by_code(code).id


def cmd_ann_add(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.cmdb import cis as cmdb
    from itsmdesk.services.servicedesk import announcements

    ctx.open()
    values = {"title": args.title, "body": args.body or None, "kind": args.kind,
              "audience": args.audience, "site": _site_id(args.site)}
    if args.start:
        values["starts_at"] = parse_date(args.start)
    if args.end:
        values["ends_at"] = parse_date(args.end)
    services = [cmdb.get_ci_by_name(name).id for name in args.service]
    row = announcements.create_announcement(values, services, ctx.writer())
    print(translate("Cli", "announced: {title}").format(title=row.title))
    return 0


def cmd_cal_list(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    for cal in calendars.list_calendars():
        days = calendars.holidays(cal.id)
        print(translate("Cli", "{name} ({timezone}): {n} holidays").format(
            name=cal.name, timezone=cal.timezone, n=len(days)))
        for h in days:
            print(f"  {h.day.isoformat()}  {h.name}")
    return 0


def cmd_cal_create(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    cal = calendars.create_calendar({"name": args.name, "timezone": args.timezone,
                                     "working_hours": calendars.OFFICE_HOURS}, ctx.writer())
    print(translate("Cli", "created calendar {name}").format(name=cal.name))
    return 0


def cmd_holidays_import(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.errors import N_, NotFoundError
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    if args.calendar:
        cal = calendars.get_calendar(args.calendar)
    else:
        cal = calendars.default_calendar()
        if cal is None:
            raise NotFoundError(N_("No default business calendar: create one named Default or "
                                   "pass --calendar NAME"))
    added, skipped = calendars.import_holidays(cal.id, args.file, ctx.writer())
    print(translate("Cli", "{added} holidays added to {name}, {skipped} already there").format(
        added=added, name=cal.name, skipped=skipped))
    return 0
