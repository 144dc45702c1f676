"""``itsmdesk changes ...`` and ``itsmdesk calendar export``.

* ``changes conflicts [--from DATE] [--to DATE] [--status S,...|--include-closed] [--no-impact]
  [--json]``: conflicting pairs and window violations, preceded by what was compared (which
  statuses, which period, how long a change without an end counts, how many pairs that made)
* ``changes conflict-stretch [MINUTES]``: show or set how long a change without an end counts
* ``changes transition REF STATUS [--reason TEXT]``
* ``changes success-rate [--by type|team|month] [--from] [--to] [--json]``
* ``changes risk REF [--reason TEXT] [--json]``: (re)assess and show the factors; an approved
  change shows its stored risk unless a reason is given (a new level sends it back for approval)
* ``changes calendar-export`` / ``calendar export --from DATE --to DATE -o FILE.ics``

This module owns the ``calendar`` command group; other modules add to it with
:func:`add_calendar_subcommand` (called after this module registered).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from itsmdesk.commands.base import CommandContext, parse_date, print_json, print_table, translate
from itsmdesk.i18n import reason_text

_calendar_sub = None


def add_calendar_subcommand(name: str, help: str):  # noqa: A002, ANN201
    """A new ``itsmdesk calendar NAME`` parser (None when the calendar group is not registered)."""
    if _calendar_sub is None:
        return None
    return _calendar_sub.add_parser(name, help=help)


def register(sub) -> None:  # noqa: ANN001
    global _calendar_sub
    p = sub.add_parser("changes",
                       help=translate("Cli", "change management: conflicts, transitions, success rate"))
    csub = p.add_subparsers(dest="changes_command", metavar="ACTION", required=True)

    c = csub.add_parser("conflicts", help=translate("Cli", "conflicting changes and window violations"))
    c.add_argument("--from", dest="start", metavar="DATE",
                   help=translate("Cli", "compare changes planned to run on or after this day"))
    c.add_argument("--to", dest="end", metavar="DATE",
                   help=translate("Cli", "compare changes planned to start up to this day, "
                                  "inclusive"))
    which = c.add_mutually_exclusive_group()
    which.add_argument("--status", metavar="S,...",
                       help=translate("Cli", "compare changes with these statuses (default: the "
                                      "ones still on the calendar, draft to implementing)"))
    which.add_argument("--include-closed", action="store_true",
                       help=translate("Cli", "compare every change, whatever its status"))
    c.add_argument("--no-impact", action="store_true", help=translate("Cli", "skip impact-path conflicts"))
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_conflicts)

    st = csub.add_parser("conflict-stretch", help=translate(
        "Cli", "show or set how long a change without an end counts in conflict checks"))
    st.add_argument("minutes", nargs="?", type=int, metavar="MINUTES")
    st.set_defaults(func=cmd_conflict_stretch)

    t = csub.add_parser("transition", help=translate("Cli", "move a change to another status"))
    t.add_argument("ref")
    t.add_argument("status")
    t.add_argument("--reason", help=translate(
        "Cli", "why (needed to reject a change the CAB did not reject)"))
    t.set_defaults(func=cmd_transition)

    s = csub.add_parser("success-rate", help=translate("Cli", "change success rate per type, team or month"))
    s.add_argument("--by", choices=("type", "team", "month"), default="month")
    s.add_argument("--from", dest="start", metavar="DATE")
    s.add_argument("--to", dest="end", metavar="DATE")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_success)

    r = csub.add_parser("risk", help=translate("Cli", "assess a change's risk and show its factors"))
    r.add_argument("ref")
    r.add_argument("--reason", help=translate(
        "Cli", "re-assess an approved change for this reason (a new level sends it back for "
        "approval)"))
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_risk)

    e = csub.add_parser("calendar-export", help=translate("Cli", "forward schedule of change as .ics"))
    _export_args(e)

    cal = sub.add_parser("calendar", help=translate("Cli", "change calendar: export"))
    _calendar_sub = cal.add_subparsers(dest="calendar_command", metavar="ACTION", required=True)
    _export_args(_calendar_sub.add_parser("export",
                                          help=translate("Cli", "forward schedule of change as .ics")))


def _export_args(p) -> None:  # noqa: ANN001
    p.add_argument("--from", dest="start", metavar="DATE", required=True)
    p.add_argument("--to", dest="end", metavar="DATE", required=True)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.ics")
    p.set_defaults(func=cmd_export)


def _statuses(text: str | None) -> tuple[str, ...] | None:
    from itsmdesk.errors import N_, ValidationError
    from itsmdesk.services.change.lifecycle import RULES

    if not text:
        return None
    known = {r.source for r in RULES} | {r.target for r in RULES}
    wanted = tuple(dict.fromkeys(t.strip().lower().replace(" ", "_")
                                 for t in text.split(",") if t.strip()))
    unknown = [t for t in wanted if t not in known]
    if unknown or not wanted:
        raise ValidationError(N_("Unknown change status {status}; the statuses are {known}."),
                              status=", ".join(unknown) or text,
                              known=", ".join(sorted(known)))
    return wanted


def compared_text(report) -> list[str]:  # noqa: ANN001 - a ConflictReport
    """What a conflict run compared, in sentences (the CLI prints them above the table)."""
    if report.statuses is None:
        which = translate("Cli", "every status")
    else:
        which = ", ".join(report.statuses)
    lines = [translate("Cli", "Compared {n} change(s) with status: {statuses}.").format(
        n=report.compared, statuses=which)]
    period = translate("Cli", "Period: {start} to {end}.").format(
        start=f"{report.start:%Y-%m-%d %H:%M}" if report.start else translate("Cli", "any start"),
        end=f"{report.end:%Y-%m-%d %H:%M}" if report.end else translate("Cli", "any end"))
    lines.append(period)
    lines.append(translate(
        "Cli", "A change without an end counts as {minutes} minute(s) (setting {setting}; "
        "'changes conflict-stretch' changes it): {changes} change(s) stretched, {stretched} of "
        "{pairs} conflicting pair(s) involve one.").format(
            minutes=report.stretch_minutes, setting="change_conflict_stretch_minutes",
            changes=report.stretched_changes, stretched=report.stretched_pairs,
            pairs=report.pairs))
    return lines


def cmd_conflicts(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.change.conflicts import analyse
    from itsmdesk.services.change.lifecycle import PLANNED

    start = parse_date(args.start)
    end = parse_date(args.end, end_of_day=True)
    statuses = None if args.include_closed else (_statuses(args.status) or PLANNED)
    ctx.open()
    report = analyse(start, end, impact=not args.no_impact, statuses=statuses)
    found = report.conflicts
    if args.json:
        print_json(report.as_dict())
    else:
        for line in compared_text(report):
            print(line)
        print_table([{"kind": c.kind, "change": c.change_ref, "other": c.other_ref or "",
                      "from": c.start.strftime("%Y-%m-%d %H:%M"),
                      "to": c.end.strftime("%Y-%m-%d %H:%M"),
                      "detail": c.window_name or ", ".join(c.ci_names)} for c in found],
                    ["kind", "change", "other", "from", "to", "detail"])
    return 0


def cmd_conflict_stretch(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.change import conflicts

    ctx.open()
    if args.minutes is not None:
        conflicts.set_stretch_minutes(args.minutes, ctx.writer())
    print(translate("Cli", "A change without an end counts as {minutes} minute(s) in conflict "
                           "checks.").format(minutes=conflicts.stretch_minutes()))
    return 0


def cmd_transition(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.change.changes import get_change, transition

    ctx.open()
    change = get_change(args.ref)
    change = transition(change.id, None, args.status.lower().replace(" ", "_"), ctx.writer(),
                        reason=args.reason)
    print(f"{change.ref}: {change.status}")  # record data: scripts read it
    return 0


def cmd_success(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.change.success import success_rate

    start, end = parse_date(args.start), parse_date(args.end, end_of_day=True)
    ctx.open()
    rows = [r.as_dict() for r in success_rate(args.by, start, end)]
    if args.json:
        print_json({"by": args.by, "rows": rows})
    else:
        for r in rows:
            r["rate"] = f"{r['rate'] * 100:.1f}%"
        print_table(rows, ["key", "finished", "successful", "failed", "caused_incidents", "rate"])
    return 0


def cmd_risk(args, ctx: CommandContext) -> int:  # noqa: ANN001
    """Assess and show; an approved change (or one started) shows its stored risk, and is
    re-assessed only with ``--reason`` (approved or scheduled)."""
    from itsmdesk.services.change import risk
    from itsmdesk.services.change.changes import get_change

    ctx.open()
    change = get_change(args.ref)
    done = None
    if change.status not in risk.FROZEN_STATUSES and (
            change.status not in risk.REAPPROVAL_STATUSES or args.reason):
        from itsmdesk.services.accounts import has_accounts

        if args.reason or ctx.actor.person_id is not None or not has_accounts():
            done = risk.reassess(change.id, ctx.writer(), reason=args.reason)
            change, result = done.change, done.assessment
        else:  # nobody signed in: the assessment is shown, not stored
            result = risk.compute(change)
    else:
        result = risk.stored(change) or risk.RiskAssessment(0, "not_assessed")
    if args.json:
        print_json({"ref": change.ref, "score": result.score, "level": result.level,
                    "override": result.override, "factors": result.factors,
                    "services": [{"name": s["name"], "criticality": s["criticality"]}
                                 for s in result.services],
                    "assessed": done is not None, "status": change.status,
                    "sent_back_to": done.sent_back_to if done else None})
        return 0
    print(translate("Cli", "{ref}: risk {level} (score {score})").format(
        ref=change.ref, level=risk.shown_level(change), score=result.score))
    print_table([{**f, "why": reason_text(f)} for f in result.factors],
                ["factor", "points", "weight", "why"])
    if done is not None and done.sent_back_to:
        print(translate("Cli", "{ref}: risk level {old} -> {new}; sent back for approval "
                        "(now {status})").format(ref=change.ref, old=done.level_before or "-",
                                                 new=done.level_after, status=change.status))
    elif done is not None and args.reason:
        print(translate("Cli", "{ref}: risk level unchanged ({level}); the approval stands")
              .format(ref=change.ref, level=done.level_after))
    elif change.status in risk.REAPPROVAL_STATUSES:
        print(translate("Cli", "{ref} is {status}: this is the risk it was approved with; give "
                        "--reason to re-assess it (a new level sends it back for approval)")
              .format(ref=change.ref, status=change.status))
    elif change.status in risk.FROZEN_STATUSES:
        print(translate("Cli", "{ref} is {status}: its stored risk is shown; it is no longer "
                        "re-assessed").format(ref=change.ref, status=change.status))
    return 0


def cmd_export(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.reports.ical import export

    start = parse_date(args.start)
    end = parse_date(args.end, end_of_day=True)
    if start and end and end <= start:
        end = start + dt.timedelta(days=1)
    ctx.open()
    from itsmdesk.i18n import ensure_translations

    ensure_translations()  # event texts in ITSMDESK_LANG / the system language
    count = export(start, end, args.output)
    print(translate("Cli", "{path} written ({n} changes)").format(path=args.output, n=count))
    return 0
