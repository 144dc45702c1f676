"""``itsmdesk categories``: list categories, show or set a category's diagnostic script."""

from __future__ import annotations

import json
from pathlib import Path

from itsmdesk.commands.base import CommandContext, print_json, print_table, translate
from itsmdesk.errors import N_, ValidationError


def register(sub) -> None:  # noqa: ANN001
    cats = sub.add_parser("categories",
                          help=translate("Cli", "ticket categories and their diagnostic scripts")
                          ).add_subparsers(dest="cat_cmd", required=True)
    p = cats.add_parser("list", help=translate("Cli", "categories with the number of script steps"))
    p.add_argument("--kind", choices=("incident", "request"), default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    script = cats.add_parser("script", help=translate("Cli", "a category's diagnostic script (JSON)")
                             ).add_subparsers(dest="script_cmd", required=True)
    p = script.add_parser("show", help=translate("Cli", "print the script as JSON"))
    p.add_argument("name")
    p.add_argument("--kind", choices=("incident", "request"), default=None)
    p.set_defaults(func=cmd_script_show)
    p = script.add_parser("set", help=translate("Cli", "replace the script from a JSON file: "
                                         '[{"question": ..., "answers": [{"label": ..., '
                                         '"route_team": ...}]}] '
                                         "(route_team: a team id or name; [] removes the script)"))
    p.add_argument("name")
    p.add_argument("file", type=Path)
    p.add_argument("--kind", choices=("incident", "request"), default=None)
    p.set_defaults(func=cmd_script_set)


def cmd_list(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import categories

    ctx.open()
    rows = [{"kind": c.kind, "name": c.name, "steps": len(c.steps), "id": str(c.id)}
            for c in categories.list_categories(args.kind)]
    print_json(rows) if args.json else print_table(rows, ["kind", "name", "steps"])
    return 0


def cmd_script_show(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import categories

    ctx.open()
    print_json(categories.find_category(args.name, args.kind).steps)
    return 0


def cmd_script_set(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.servicedesk import categories

    try:
        steps = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(N_("Cannot read {path}: {error}"), path=str(args.file),
                              error=exc.strerror or str(exc)) from None
    except ValueError as exc:
        raise ValidationError(N_("{path} is not valid JSON: {error}"), path=str(args.file),
                              error=str(exc)) from None
    ctx.open()
    cat = categories.find_category(args.name, args.kind)
    row = categories.save_script(cat.id, cat.version, steps, ctx.writer())
    print(translate("Cli", "{n} steps saved for {kind} category {name}").format(
        n=len(row.diagnostic_script or []), kind=row.kind, name=row.name))
    return 0
