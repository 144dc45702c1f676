"""``itsmdesk impact``, ``itsmdesk baseline take|list|compare``, ``itsmdesk audit``."""

from __future__ import annotations

from pathlib import Path

from itsmdesk.commands.base import CommandContext, print_json, print_table


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("impact", help="what fails if a CI fails (down) or what it needs (up)")
    p.add_argument("name", help="CI name")
    p.add_argument("--direction", choices=("down", "up"), default="down")
    p.add_argument("--depth", type=int, default=None, help="relation steps (default: no limit)")
    p.add_argument("--no-redundancy", action="store_true",
                   help="treat every relation as a single point of failure")
    p.add_argument("--services", action="store_true", help="only the business services")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_impact)

    p = sub.add_parser("baseline", help="CMDB baselines: take, list, compare with now")
    bsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = bsub.add_parser("take", help="snapshot CIs and relations under a name")
    t.add_argument("name")
    t.add_argument("--description")
    t.add_argument("--class", dest="ci_class", help="only CIs of this class")
    t.add_argument("--site", help="only CIs at this site (code)")
    t.add_argument("--service", help="a business service and everything it needs")
    t.set_defaults(func=cmd_baseline_take)
    ls = bsub.add_parser("list", help="list baselines")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_baseline_list)
    c = bsub.add_parser("compare", help="compare a baseline with the CMDB now")
    c.add_argument("name")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_baseline_compare)

    p = sub.add_parser("audit", help="compare the CMDB with a discovered list (CSV)")
    p.add_argument("file", type=Path)
    p.add_argument("--accept", action="store_true",
                   help="apply the scan: create unknown CIs and update different ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)


def cmd_impact(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.cmdb import get_ci_by_name
    from itsmdesk.services.impact import impact

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
        print(f"{len(items)} CIs ({services} business services)")
    return 0


def cmd_baseline_take(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.baselines import take

    ctx.open()
    scope = {"class": args.ci_class, "site": args.site, "service": args.service}
    baseline = take(args.name, args.description, scope)
    items = baseline.items.count()
    print(f"baseline '{baseline.name}' taken: {items} items")
    return 0


def cmd_baseline_list(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.baselines import list_baselines

    ctx.open()
    rows = [{"name": b.name, "taken_at": str(b.taken_at), "cis": b.cis, "relations": b.relations,
             "scope": ", ".join(f"{k}={v}" for k, v in (b.scope or {}).items()) or "all"}
            for b in list_baselines()]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["name", "taken_at", "cis", "relations", "scope"])
    return 0


def cmd_baseline_compare(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.baselines import compare

    ctx.open()
    result = compare(args.name)
    if args.json:
        print_json(result.as_dict())
        return 0
    print(f"baseline '{result.baseline}' ({result.taken_at} UTC) against now:")
    if result.is_same:
        print("no differences")
    for name in result.added:
        print(f"+ CI {name}")
    for name in result.removed:
        print(f"- CI {name}")
    for name, field, then, now in result.changed:
        print(f"~ CI {name}: {field} {then!r} -> {now!r}")
    for key in result.relations_added:
        print(f"+ relation {key.replace('|', ' ')}")
    for key in result.relations_removed:
        print(f"- relation {key.replace('|', ' ')}")
    for key, field, then, now in result.relations_changed:
        print(f"~ relation {key.replace('|', ' ')}: {field} {then!r} -> {now!r}")
    return 0


def cmd_audit(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.errors import N_, ItsmError
    from itsmdesk.services.cmdb_audit import accept, audit

    if not args.file.exists():
        raise ItsmError(N_("No such file: {path}"), path=str(args.file))
    ctx.open()
    result = audit(args.file)
    if args.json:
        print_json(result.as_dict())
    else:
        for error in result.errors:
            print(f"bad row: {error}")
        for name in result.unknown:
            print(f"unknown  {name}")
        for name in result.missing:
            print(f"missing  {name}")
        for name, field, was, scan in result.different:
            print(f"differs  {name}: {field} CMDB {was!r}, scan {scan!r}")
        print(f"{result.scanned} scanned: {result.matching} match, {len(result.unknown)} unknown, "
              f"{len(result.missing)} missing, {len(result.different)} differences")
    if args.accept:
        report = accept(args.file)
        print(report.summary())
        return 0 if report.applied else 1
    return 0
