"""``itsmdesk releases show|transition|deploy-wave``."""

from __future__ import annotations

from itsmdesk.commands.base import CommandContext, print_json, print_table, translate
from itsmdesk.i18n import reason_text


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("releases",
                       help=translate("Cli", "release management: show, move status, deploy waves"))
    rsub = p.add_subparsers(dest="releases_cmd", required=True, metavar="ACTION")

    s = rsub.add_parser("show", help=translate("Cli", "a release with its changes, risk, plan and DML items"))
    s.add_argument("ref", metavar="REF")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)

    s = rsub.add_parser("transition",
                        help=translate("Cli", "move a release to STATUS (checks the change roll-up)"))
    s.add_argument("ref", metavar="REF")
    s.add_argument("status", metavar="STATUS")
    s.set_defaults(func=cmd_transition)

    s = rsub.add_parser("deploy-wave",
                        help=translate("Cli", "deploy one rollout wave: update the site's CI versions"))
    s.add_argument("ref", metavar="REF")
    s.add_argument("step", metavar="STEP",
                   help=translate("Cli", "the wave's name (or a unique prefix) or id"))
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_deploy_wave)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def cmd_show(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.release import releases

    ctx.open()
    detail = releases.release_detail(args.ref)
    if args.json:
        print_json(releases.detail_as_dict(detail))
        return 0
    r = detail.release
    print(f"{r.ref}  {r.name}  {r.release_version or ''}")
    print(translate("Cli", "type {type} · status {status} · risk {risk} · window {start} – {end} UTC"
                    ).format(type=r.type, status=r.status, risk=detail.risk.level,
                             start=_when(r.planned_start), end=_when(r.planned_end)))
    print(translate("Cli", "manager {manager} · team {team} · next: {next}").format(
        manager=detail.manager or "-", team=detail.team or "-",
        next=", ".join(detail.allowed) or "-"))
    for factor in detail.risk.factors:
        print(translate("Cli", "  risk {level} {why}").format(level=f"{factor.level:<9}",
                                                               why=reason_text(factor)))
    print("\n" + translate("Cli", "Changes") + ("" if detail.rollup.can_deploy else
                                                translate("Cli", "  (NOT all approved: cannot deploy)")))
    yes, no = translate("Cli", "yes"), translate("Cli", "NO")
    print_table([{"ref": c.ref, "status": c.status, "approved": yes if c.approved else no,
                  "risk": c.risk, "title": c.title} for c in detail.rollup.changes],
                ["ref", "status", "approved", "risk", "title"])
    print("\n" + translate("Cli", "Affected services: {names}").format(
        names=", ".join(s.name for s in detail.services) or "-"))
    print("\n" + translate("Cli", "Plan"))
    print_table([{"step": ("  " * p.level) + p.name, "kind": p.kind, "owner": p.owner,
                  "site": p.site, "start": _when(p.planned_start), "end": _when(p.planned_end),
                  "status": p.status, "after": ", ".join(p.depends_on_names)}
                 for p in detail.plan],
                ["step", "kind", "owner", "site", "start", "end", "status", "after"])
    print("\n" + translate("Cli", "Definitive media library"))
    print_table([{"item": i.name, "version": i.version, "checksum": i.checksum, "ci": i.ci_name}
                 for i in detail.items], ["item", "version", "checksum", "ci"])
    for problem in detail.problems:
        print(translate("Cli", "warning: {problem}").format(problem=problem))
    return 0


def _actor(ctx):  # noqa: ANN001, ANN202
    return ctx.writer()


def cmd_transition(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.release import lifecycle as release_lifecycle
    from itsmdesk.services.release import releases

    ctx.open()
    release = releases.find_release(args.ref)
    old = release.status
    release = release_lifecycle.transition(release.id, None, args.status.strip().lower(), _actor(ctx))
    print(translate("Cli", "{ref}: {old} -> {new} (risk {risk})").format(
        ref=release.ref, old=old, new=release.status, risk=release.risk_level))
    return 0


def cmd_deploy_wave(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.release import dml, releases

    ctx.open()
    release = releases.find_release(args.ref)
    step = releases.find_step(release.id, args.step)
    result = dml.deploy_wave(step.id, _actor(ctx))
    if args.json:
        print_json({"release": release.ref, "step": result.step_name, "site": result.site,
                    "release_status": result.release_status, "unchanged": result.unchanged,
                    "updated": [{"ci": u.name, "old": u.old_version, "new": u.new_version}
                                for u in result.updated]})
        return 0
    print(translate("Cli", "{ref} {step} at {site}: {n} CI(s) updated, {unchanged} already "
                           "current; release is {status}").format(
        ref=release.ref, step=result.step_name, site=result.site, n=len(result.updated),
        unchanged=result.unchanged, status=result.release_status))
    print_table([{"ci": u.name, "old": u.old_version, "new": u.new_version}
                 for u in result.updated], ["ci", "old", "new"])
    return 0
