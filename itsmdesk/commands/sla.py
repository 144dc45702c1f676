"""SLA commands: the tick, targets, business calendars and their holidays, a ticket's clock.

``itsmdesk sla calendars | calendar add NAME --zone Z --hours "mon-fri 08:00-17:00" |
holiday add CAL DATE NAME | holidays import CAL FILE.ics | targets | target set PRIORITY
--response 30m --resolve 8h [--calendar CAL] | tick | refresh | show REF``: what the GUI does with
calendars and targets (docs/servicedesk.md, "The SLA clock", says the rules).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

from itsmdesk.commands.base import CommandContext, parse_date, print_json, print_table, translate


def register(sub) -> None:  # noqa: ANN001
    sla = sub.add_parser("sla", help=translate("Cli", "SLA clocks, targets and business calendars")
                         ).add_subparsers(dest="sla_cmd", required=True)
    p = sla.add_parser("tick",
                       help=translate("Cli", "flag tickets at risk and mark breaches (run every minute)"))
    p.add_argument("--now", help=translate("Cli", "pretend it is this UTC time (YYYY-MM-DD HH:MM)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tick)

    p = sla.add_parser("targets", help=translate("Cli", "show the SLA targets per priority"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_targets)

    target = sla.add_parser("target", help=translate("Cli", "set an SLA target")).add_subparsers(
        dest="target_cmd", required=True)
    p = target.add_parser("set", help=translate("Cli", "set one priority's response and resolution "
                                                       "targets (business time)"))
    p.add_argument("priority", type=int, choices=(1, 2, 3, 4, 5))
    p.add_argument("--response", required=True, help=translate("Cli", "e.g. 30m, 4h, 1h30m"))
    p.add_argument("--resolve", required=True, help=translate("Cli", "e.g. 8h, 2400m"))
    p.add_argument("--kind", choices=("incident", "request"), default="incident")
    p.add_argument("--calendar", help=translate("Cli", "count on this business calendar "
                                                       "(default: the one named Default, else 24x7)"))
    p.add_argument("--escalate-at", type=int, metavar="PCT",
                   help=translate("Cli", "flag at risk at this share of the resolution target"))
    p.add_argument("--service", help=translate("Cli", "an SLA of this service's own (a service CI's "
                                                      "name)"))
    p.add_argument("--team", help=translate("Cli", "an OLA: this team's internal target (its "
                                                   "time holding the ticket)"))
    p.set_defaults(func=cmd_target_set)

    p = sla.add_parser("calendars", help=translate("Cli", "business calendars, their hours and holidays"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_calendars)

    cal = sla.add_parser("calendar", help=translate("Cli", "add or change a business calendar")
                         ).add_subparsers(dest="calendar_cmd", required=True)
    for name, helptext in (("add", translate("Cli", "add a business calendar")),
                           ("set", translate("Cli", "change a business calendar's hours or zone"))):
        p = cal.add_parser(name, help=helptext)
        p.add_argument("name")
        p.add_argument("--zone", default=None if name == "set" else "UTC",
                       help=translate("Cli", "time zone, e.g. Europe/Stockholm"))
        p.add_argument("--hours", action="append", default=[],
                       help=translate("Cli", "working hours, e.g. \"mon-fri 08:00-12:00,13:00-17:00\" "
                                             "or \"sun 22:00-06:00\" (repeatable)"))
        p.set_defaults(func=cmd_calendar_add if name == "add" else cmd_calendar_set)

    hol = sla.add_parser("holiday", help=translate("Cli", "add a holiday to a calendar")
                         ).add_subparsers(dest="holiday_cmd", required=True)
    p = hol.add_parser("add", help=translate("Cli", "add one holiday"))
    p.add_argument("calendar")
    p.add_argument("date", help="YYYY-MM-DD")
    p.add_argument("name", nargs="+")
    p.set_defaults(func=cmd_holiday_add)

    hols = sla.add_parser("holidays", help=translate("Cli", "holidays from a file")
                          ).add_subparsers(dest="holidays_cmd", required=True)
    p = hols.add_parser("import", help=translate("Cli", "import holidays from an .ics file"))
    p.add_argument("calendar")
    p.add_argument("file", type=Path)
    p.add_argument("--years", metavar="FIRST-LAST",
                   help=translate("Cli", "expand repeating holidays over these years "
                                         "(default: this year and the next nine)"))
    p.set_defaults(func=cmd_holidays_import)

    p = sla.add_parser("report", help=translate("Cli", "the SLA breach report of a period: CSV "
                                                       "(one row per ticket) and/or PDF"))
    p.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True,
                   help=translate("Cli", "last day of the period (YYYY-MM-DD, included)"))
    p.add_argument("--csv", type=Path, help=translate("Cli", "write the tickets as CSV here"))
    p.add_argument("--pdf", type=Path, help=translate("Cli", "write the report as PDF here"))
    p.add_argument("--page-size", default="A4")
    p.set_defaults(func=cmd_report)

    p = sla.add_parser("refresh", help=translate("Cli", "store every open ticket's SLA state again "
                                                        "from its history"))
    p.set_defaults(func=cmd_refresh)

    p = sla.add_parser("show", help=translate("Cli", "a ticket's SLA clock: elapsed business time, "
                                                     "due dates, state"))
    p.add_argument("ref")
    p.add_argument("--now", help=translate("Cli", "pretend it is this UTC time (YYYY-MM-DD HH:MM)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)


DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """Minutes of "30m", "8h", "1h30m" or "90"."""
    from itsmdesk.errors import N_, ValidationError

    text = str(text).strip()
    if text.isdigit():
        return int(text)
    match = DURATION.match(text)
    if not text or not match or not any(match.groups()):
        raise ValidationError(N_("{text} is not a duration like 30m, 8h or 1h30m"), text=text)
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def _minutes(n: int) -> str:
    hours, minutes = divmod(int(n), 60)
    return f"{hours}h{minutes:02d}m" if hours and minutes else f"{hours}h" if hours else f"{minutes}m"


def cmd_tick(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import escalation

    ctx.open()
    now = parse_date(args.now) if args.now else None
    result = escalation.tick(now, ctx.writer())
    data = {"flagged": result.flagged, "breached": result.breached,
            "notifications": result.notifications}
    if args.json:
        print_json(data)
    else:
        print(translate("Cli", "{flagged} flagged at risk, {breached} breached, "
                               "{notifications} notifications").format(
            flagged=len(result.flagged), breached=len(result.breached),
            notifications=result.notifications))
    return 0


def cmd_targets(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import sla

    ctx.open()
    rows = []
    for kind in ("incident", "request"):
        settings = sla.settings_for(kind)
        for p in (1, 2, 3, 4, 5):
            t = sla.target(kind, p)
            rows.append({"kind": kind, "priority": p, "for": "", "response": _minutes(t.response_minutes),
                         "resolution": _minutes(t.resolution_minutes),
                         "escalate_pct": t.escalate_at_pct, "calendar": settings.calendars[p]})
    for row in sla.special_targets():
        rows.append({"kind": row["kind"], "priority": row["priority"], "for": row["for"],
                     "response": _minutes(row["response"]),
                     "resolution": _minutes(row["resolution"]),
                     "escalate_pct": row["escalate_pct"], "calendar": row["calendar"]})
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["kind", "priority", "for", "response", "resolution", "escalate_pct",
                           "calendar"])
    return 0


def cmd_target_set(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars, sla

    ctx.open()
    calendar_id = calendars.get_calendar(args.calendar).id if args.calendar else None
    service = team = None
    if args.service:
        from itsmdesk.services.cmdb import cis

        service = cis.get_ci_by_name(args.service).id
    if args.team:
        team = _team(args.team)
    row = sla.set_target(args.kind, args.priority, parse_duration(args.response),
                         parse_duration(args.resolve), calendar_id, args.escalate_at,
                         ctx.writer(), service=service, team=team)
    t = sla.Target(row.response_minutes, row.resolution_minutes, row.escalate_at_pct,
                   row.calendar_id)
    print(translate("Cli", "{kind} P{priority}: respond within {response}, resolve within "
                           "{resolution} (business time)").format(
        kind=args.kind, priority=args.priority, response=_minutes(t.response_minutes),
        resolution=_minutes(t.resolution_minutes)))
    return 0


def _team(name: str):  # noqa: ANN202
    from itsmdesk.errors import N_, NotFoundError
    from itsmdesk.services import people

    for team in people.list_teams():
        if team.name == name:
            return team.id
    raise NotFoundError(N_("No team {name}"), name=name)


def _hours_text(hours: dict) -> str:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    parts = []
    for d in range(7):
        spans = hours.get(str(d)) or []
        if spans:
            parts.append(f"{names[d]} " + ",".join(f"{a}-{b}" for a, b in spans))
    return "; ".join(parts)


def cmd_calendars(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    default = calendars.default_calendar()
    out = []
    for cal in calendars.list_calendars():
        out.append({"name": cal.name, "zone": cal.timezone,
                    "hours": _hours_text(cal.working_hours or {}),
                    "default": bool(default and default.id == cal.id),
                    "holidays": [(h.day.isoformat(), h.name) for h in calendars.holidays(cal.id)]})
    if args.json:
        print_json(out)
        return 0
    for cal in out:
        mark = translate("Cli", " (default)") if cal["default"] else ""
        print(f"{cal['name']}{mark} [{cal['zone']}]: {cal['hours']}")
        for day, name in cal["holidays"]:
            print(f"  {day}  {name}")
    if default is None:
        print(translate("Cli", "No calendar is named Default: targets without a calendar count 24x7."))
    return 0


def _hours_arg(values: list[str]) -> dict:
    from itsmdesk.services.servicedesk import calendars

    return calendars.parse_hours_text("; ".join(values))


def cmd_calendar_add(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    hours = _hours_arg(args.hours) if args.hours else calendars.OFFICE_HOURS
    cal = calendars.create_calendar({"name": args.name, "timezone": args.zone,
                                     "working_hours": hours}, ctx.writer())
    print(translate("Cli", "created calendar {name}: {hours}").format(
        name=cal.name, hours=_hours_text(cal.working_hours)))
    return 0


def cmd_calendar_set(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    cal = calendars.get_calendar(args.name)
    changes = {}
    if args.hours:
        changes["working_hours"] = _hours_arg(args.hours)
    if args.zone:
        changes["timezone"] = args.zone
    cal = calendars.update_calendar(cal.id, None, changes, ctx.writer())
    print(translate("Cli", "calendar {name}: {hours}").format(
        name=cal.name, hours=_hours_text(cal.working_hours)))
    return 0


def cmd_holiday_add(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.errors import N_, ValidationError
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    cal = calendars.get_calendar(args.calendar)
    try:
        day = dt.date.fromisoformat(args.date)
    except ValueError:
        raise ValidationError(N_("{text} is not a date (YYYY-MM-DD)"), text=args.date) from None
    name = " ".join(args.name)
    if calendars.add_holiday(cal.id, day, name, ctx.writer()):
        print(translate("Cli", "{day} is a holiday in {name}").format(day=day.isoformat(),
                                                                      name=cal.name))
    else:
        print(translate("Cli", "{day} already is a holiday in {name}").format(
            day=day.isoformat(), name=cal.name))
    return 0


def cmd_holidays_import(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.errors import N_, ValidationError
    from itsmdesk.services.servicedesk import calendars

    ctx.open()
    cal = calendars.get_calendar(args.calendar)
    years = None
    if args.years:
        match = re.match(r"^\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*$", args.years)
        if not match:
            raise ValidationError(N_("{text} is not years like 2026-2030"), text=args.years)
        first = int(match.group(1))
        years = range(first, int(match.group(2) or first) + 1)
    added, skipped = calendars.import_holidays(cal.id, args.file, ctx.writer(), years)
    print(translate("Cli", "{added} holidays added to {name}, {skipped} already there").format(
        added=added, name=cal.name, skipped=skipped))
    return 0


def cmd_refresh(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import sla

    ctx.open()
    changed = sla.refresh_open(actor=ctx.writer())
    print(translate("Cli", "{n} open tickets had their SLA state stored again").format(n=changed))
    return 0


def cmd_show(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.models.base import utcnow
    from itsmdesk.services.servicedesk import incidents, sla

    ctx.open()
    row = incidents.get_by_ref(args.ref)
    now = parse_date(args.now) if args.now else utcnow()
    history = sla.history_of(row)
    r = sla.reading(history, now)
    minutes = dt.timedelta(minutes=1)
    data = {"ref": row.ref, "priority": history.priority_at(now), "state": r.state,
            "escalation_level": r.escalation_level,
            "elapsed_minutes": r.elapsed / minutes, "target_minutes": r.target / minutes,
            "response_due": r.response_due.isoformat(sep=" "),
            "resolution_due": r.resolution_due.isoformat(sep=" "),
            "stored_state": row.sla_state,
            "statuses": [(a.isoformat(sep=" "), s) for a, s in history.statuses],
            "priorities": [(a.isoformat(sep=" "), p) for a, p in history.priorities]}
    if args.json:
        print_json(data)
        return 0
    out = sys.stdout
    out.write(translate("Cli", "{ref}: {state}, {elapsed} of {target} business time used; "
                               "resolution due {due} UTC, response due {response} UTC").format(
        ref=row.ref, state=r.state, elapsed=_minutes(int(r.elapsed / minutes)),
        target=_minutes(int(r.target / minutes)), due=data["resolution_due"][:16],
        response=data["response_due"][:16]) + "\n")
    for at, status in data["statuses"]:
        out.write(f"  {at[:16]}  {status}\n")
    return 0


def cmd_report(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import sla_report

    ctx.open()
    start = parse_date(args.start)
    end = parse_date(args.end, end_of_day=True)
    report = sla_report.breach_report(start, end)
    if args.csv:
        sla_report.write_csv(report, args.csv)
        print(translate("Cli", "wrote {path}").format(path=args.csv), file=sys.stderr)
    if args.pdf:
        from itsmdesk.i18n import ensure_translations
        from itsmdesk.reports import sla_report as pdf

        ensure_translations()
        pdf.build_from_report(report, args.pdf, args.page_size)
        print(translate("Cli", "wrote {path}").format(path=args.pdf), file=sys.stderr)
    met = sum(g.met for g in report.groups)
    breached = sum(g.breached for g in report.groups)
    print(translate("Cli", "{n} tickets: {met} met, {breached} breached, {open} still open").format(
        n=len(report.tickets), met=met, breached=breached,
        open=len(report.tickets) - met - breached))
    return 0
