"""``itsmdesk impact``, ``itsmdesk baseline take|list|compare``, ``itsmdesk audit``."""

from __future__ import annotations

from pathlib import Path

from itsmdesk.commands.base import (
    CommandContext,
    import_summary,
    print_json,
    print_table,
    row_error_text,
    translate,
    whole,
)


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("impact",
                       help=translate("Cli", "what fails if a CI fails (down) or what it needs (up)"))
    p.add_argument("name", help=translate("Cli", "CI name"))
    p.add_argument("--direction", choices=("down", "up"), default="down")
    p.add_argument("--depth", type=whole(0, 10_000), default=None,
                   help=translate("Cli", "relation steps (default: no limit)"))
    p.add_argument("--no-redundancy", action="store_true",
                   help=translate("Cli", "treat every relation as a single point of failure"))
    p.add_argument("--services", action="store_true", help=translate("Cli", "only the business services"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_impact)

    p = sub.add_parser("baseline", help=translate("Cli", "CMDB baselines: take, list, compare with now"))
    bsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = bsub.add_parser("take", help=translate("Cli", "snapshot CIs and relations under a name"))
    t.add_argument("name")
    t.add_argument("--description")
    t.add_argument("--class", dest="ci_class", help=translate("Cli", "only CIs of this class"))
    t.add_argument("--site", help=translate("Cli", "only CIs at this site (code)"))
    t.add_argument("--service", help=translate("Cli", "a business service and everything it needs"))
    t.set_defaults(func=cmd_baseline_take)
    ls = bsub.add_parser("list", help=translate("Cli", "list baselines"))
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_baseline_list)
    c = bsub.add_parser("compare", help=translate("Cli", "compare a baseline with the CMDB now"))
    c.add_argument("name")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_baseline_compare)

    p = sub.add_parser("audit", help=translate("Cli", "compare the CMDB with a discovered list (CSV)"))
    p.add_argument("file", type=Path)
    p.add_argument("--accept", action="store_true",
                   help=translate("Cli", "apply the scan: create unknown CIs and update different ones"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)


def cmd_impact(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.cmdb.cis import get_ci_by_name
    from itsmdesk.services.cmdb.impact import impact

    ctx.open()
    ci = get_ci_by_name(args.name)
    items = impact([ci.id], args.direction, args.depth, redundancy=not args.no_redundancy)
    names = {i.ci_id: i.name for i in items}
    if args.services:
        items = [i for i in items if i.is_service]
    rows = []
    for i in items:
        row = i.as_dict()
        row["via"] = names.get(i.via)
        rows.append(row)
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["depth", "name", "class_label", "criticality", "status", "via",
                           "relation"])
        services = sum(1 for i in items if i.is_service)
        print(translate("Cli", "{n} CIs ({services} business services)").format(
            n=len(items), services=services))
    return 0


def cmd_baseline_take(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.cmdb.baselines import take

    ctx.open()
    scope = {"class": args.ci_class, "site": args.site, "service": args.service}
    baseline = take(args.name, args.description, scope, ctx.writer())
    items = baseline.items.count()
    print(translate("Cli", "baseline '{name}' taken: {n} items").format(name=baseline.name, n=items))
    return 0


def cmd_baseline_list(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.cmdb.baselines import list_baselines

    ctx.open()
    rows = [{"name": b.name, "taken_at": str(b.taken_at), "cis": b.cis, "relations": b.relations,
             "scope": (", ".join(f"{k}={v}" for k, v in (b.scope or {}).items())
                       or translate("Cli", "all"))}
            for b in list_baselines()]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["name", "taken_at", "cis", "relations", "scope"])
    return 0


def cmd_baseline_compare(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.cmdb.baselines import compare

    ctx.open()
    result = compare(args.name)
    if args.json:
        print_json(result.as_dict())
        return 0
    print(translate("Cli", "baseline '{name}' ({at} UTC) against now:").format(
        name=result.baseline, at=result.taken_at))
    if result.is_same:
        print(translate("Cli", "no differences"))
    for name in result.added:
        print(translate("Cli", "+ CI {name}").format(name=name))
    for name in result.removed:
        print(translate("Cli", "- CI {name}").format(name=name))
    for name, field, then, now in result.changed:
        print(translate("Cli", "~ CI {name}: {field} {old} -> {new}").format(
            name=name, field=field, old=repr(then), new=repr(now)))
    for key in result.relations_added:
        print(translate("Cli", "+ relation {name}").format(name=key.replace("|", " ")))
    for key in result.relations_removed:
        print(translate("Cli", "- relation {name}").format(name=key.replace("|", " ")))
    for key, field, then, now in result.relations_changed:
        print(translate("Cli", "~ relation {name}: {field} {old} -> {new}").format(
            name=key.replace("|", " "), field=field, old=repr(then), new=repr(now)))
    return 0


def cmd_audit(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.errors import N_, ItsmError
    from itsmdesk.services.cmdb.audit import accept, audit

    if not args.file.exists():
        raise ItsmError(N_("No such file: {path}"), path=str(args.file))
    ctx.open()
    result = audit(args.file)
    if args.json:
        print_json(result.as_dict())
    else:
        for error in result.errors:
            print(translate("Cli", "bad row: {error}").format(error=row_error_text(error)))
        for name in result.unknown:
            print(translate("Cli", "unknown  {name}").format(name=name))
        for name in result.missing:
            print(translate("Cli", "missing  {name}").format(name=name))
        for name, field, was, scan in result.different:
            print(translate("Cli", "differs  {name}: {field} CMDB {cmdb}, scan {scan}").format(
                name=name, field=field, cmdb=repr(was), scan=repr(scan)))
        print(translate("Cli", "{scanned} scanned: {matching} match, {unknown} unknown, "
                               "{missing} missing, {different} differences").format(
            scanned=result.scanned, matching=result.matching, unknown=len(result.unknown),
            missing=len(result.missing), different=len(result.different)))
    if args.accept:
        report = accept(args.file, ctx.writer())
        print(import_summary(report))
        return 0 if report.applied else 1
    return 0
