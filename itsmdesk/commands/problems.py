"""Problem management and knowledge on the command line: availability, trends, KB search,
problem candidates."""

from __future__ import annotations

from pathlib import Path

from itsmdesk.commands.base import (
    LIMIT,
    CommandContext,
    decimal_number,
    parse_date,
    print_json,
    print_table,
    translate,
    whole,
)


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("availability",
                       help=translate("Cli", "failures, MTBF, MTTR and availability per CI or "
                                      "business service"))
    p.add_argument("--from", dest="start", metavar="DATE",
                   help=translate("Cli", "period start (default: a year "
                                                            "before the end)"))
    p.add_argument("--to", dest="end", metavar="DATE", help=translate("Cli", "period end, inclusive day "
                                                            "(default: now)"))
    p.add_argument("--by", choices=("ci", "service"), default="ci")
    p.add_argument("--top", type=LIMIT, default=0, help=translate("Cli", "only the N with most downtime"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", type=Path, metavar="FILE", help=translate("Cli", "write the figures as CSV"))
    p.add_argument("--pdf", type=Path, metavar="FILE", help=translate("Cli", "write the report as PDF"))
    p.set_defaults(func=cmd_availability)

    p = sub.add_parser("trends",
                       help=translate("Cli", "incidents per CI, service, category or team, top movers"))
    p.add_argument("--by", choices=("ci", "service", "category", "team"), default="ci")
    p.add_argument("--from", dest="start", metavar="DATE",
                   help=translate("Cli", "period start (default: 90 days before the end)"))
    p.add_argument("--to", dest="end", metavar="DATE", help=translate("Cli", "period end, inclusive day"))
    p.add_argument("--top", type=LIMIT, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trends)

    kb = sub.add_parser("kb", help=translate("Cli", "knowledge base"))
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION", required=True)
    p = kb_sub.add_parser("search", help=translate("Cli", "full-text search of articles, best first"))
    p.add_argument("words", nargs="+")
    p.add_argument("--limit", type=LIMIT, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_search)

    pr = sub.add_parser("problems", help=translate("Cli", "problem management"))
    pr_sub = pr.add_subparsers(dest="problems_command", metavar="ACTION", required=True)
    p = pr_sub.add_parser("candidates",
                          help=translate("Cli", "recurring incidents not yet linked to a problem"))
    p.add_argument("--days", type=whole(1, 36_500), default=30,
                   help=translate("Cli", "look at incidents of the last N days (before --to, "
                                  "default now)"))
    p.add_argument("--from", dest="start", metavar="DATE",
                   help=translate("Cli", "look at incidents opened on or after this day "
                                  "(instead of --days)"))
    p.add_argument("--to", dest="end", metavar="DATE",
                   help=translate("Cli", "look at incidents opened up to this day, inclusive "
                                  "(default: now)"))
    p.add_argument("--window", type=decimal_number(0.001, 3650), default=7.0,
                   help=translate("Cli", "incidents within N days of each other belong together"))
    p.add_argument("--min", dest="min_size", type=LIMIT, default=3)
    p.add_argument("--limit", type=whole(1, 100_000), default=100,
                   help=translate("Cli", "show at most N groups, the biggest first (default 100)"))
    p.add_argument("--per-ci", type=whole(2, 100_000), default=400,
                   help=translate("Cli", "cluster at most the newest N incidents of each CI or "
                                  "service (default 400)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_candidates)


def cmd_availability(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.problem.availability import availability, write_csv

    ctx.open()
    report = availability(args.by, parse_date(args.start), parse_date(args.end, end_of_day=True),
                          limit=args.top or None)
    if args.csv:
        n = write_csv(report, args.csv)
        print(translate("Cli", "{n} rows written to {path}").format(n=n, path=args.csv))
    if args.pdf:
        from itsmdesk.i18n import ensure_translations
        from itsmdesk.reports.availability_report import build_from_report

        ensure_translations()  # the PDF in ITSMDESK_LANG / the system language, like the GUI
        pages = build_from_report(report, args.pdf)
        print(translate("Cli", "{n} page(s) written to {path}").format(n=pages, path=args.pdf))
    if args.csv or args.pdf:
        return 0
    rows = [r.as_dict() for r in report.rows]
    if args.json:
        print_json(rows)
    else:
        if report.by == "service":
            heading = translate("Cli", "service availability {start} .. {end} UTC ({hours} h)")
        else:
            heading = translate("Cli", "ci availability {start} .. {end} UTC ({hours} h)")
        print(heading.format(start=f"{report.period.start:%Y-%m-%d %H:%M}",
                             end=f"{report.period.end:%Y-%m-%d %H:%M}",
                             hours=f"{report.period.hours:,.0f}"))
        print_table(rows, ["name", "failures", "downtime_h", "mttr_h", "mtbf_h",
                           "availability_pct"])
    return 0


def cmd_trends(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.problem.trends import trends

    ctx.open()
    report = trends(args.by, parse_date(args.start), parse_date(args.end, end_of_day=True),
                    top=max(1, args.top))
    if args.json:
        print_json(report.as_dict())
        return 0
    by = {"ci": translate("Cli", "ci"), "service": translate("Cli", "service"),
          "category": translate("Cli", "category"), "team": translate("Cli", "team")}[args.by]
    print(translate("Cli", "incidents by {by}, {start} .. {end}: {total} (previous period "
                           "{previous})").format(
        by=by, start=f"{report.period.start:%Y-%m-%d}", end=f"{report.period.end:%Y-%m-%d}",
        total=report.total, previous=report.previous_total))
    print_table([r.as_dict() for r in report.top], ["name", "count", "previous", "delta"])
    print("\n" + translate("Cli", "top movers:"))
    print_table([r.as_dict() for r in report.movers], ["name", "count", "previous", "delta",
                                                       "change_pct"])
    return 0


def cmd_kb_search(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.knowledge.articles import search

    ctx.open()
    hits = search(" ".join(args.words), limit=max(1, args.limit))
    rows = [{"ref": h.ref, "title": h.title, "category": h.category, "tags": h.tags,
             "status": h.status, "rank": round(h.rank, 4), "snippet": h.snippet} for h in hits]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["ref", "title", "category", "rank"])
    return 0


def cmd_candidates(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.problem.recurring import find_candidates

    start = parse_date(args.start)
    end = parse_date(args.end, end_of_day=True)
    ctx.open()
    report = find_candidates(days=args.days, window_days=args.window,
                             min_size=max(2, args.min_size), start=start, end=end,
                             limit=args.limit, max_group=args.per_ci)
    if args.json:
        print_json(report.as_dict())
        return 0
    for line in candidate_limits_text(report):
        print(line)
    rows = [c.as_dict() for c in report.candidates]
    print_table([{**r, "refs": ", ".join(r["refs"][:6]) + (" …" if len(r["refs"]) > 6 else "")}
                 for r in rows], ["on", "name", "incidents", "refs", "suggested_title"])
    return 0


def candidate_limits_text(report) -> list[str]:  # noqa: ANN001 - a CandidateReport
    """The period and limits of a candidates run, and what they left out, in sentences."""
    lines = [translate("Cli", "Incidents opened {start} to {end} (UTC); at most the newest {per_ci} "
                              "per CI or service are clustered (--per-ci), at most {limit} groups "
                              "shown (--limit).").format(
        start=f"{report.start:%Y-%m-%d %H:%M}", end=f"{report.end:%Y-%m-%d %H:%M}",
        per_ci=report.max_group, limit=report.limit)]
    if report.capped_keys:
        lines.append(translate("Cli", "{cis} CI(s) or service(s) had more: {n} older incident(s) "
                                      "were not clustered.").format(
            cis=report.capped_keys, n=report.incidents_left_out))
    if report.truncated:
        lines.append(translate("Cli", "Showing {shown} of {found} groups.").format(
            shown=len(report.candidates), found=report.groups_found))
    return lines
