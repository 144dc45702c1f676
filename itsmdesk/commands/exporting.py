"""``itsmdesk export cis|relations FILE.csv`` (the format ``import`` reads back)."""

from __future__ import annotations

import importlib
from pathlib import Path

from itsmdesk.commands.base import CommandContext, translate


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("export", help=translate("Cli", "export CIs or relations as CSV"))
    p.add_argument("kind", choices=("cis", "relations"))
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_export)


def cmd_export(args, ctx: CommandContext) -> int:  # noqa: ANN001
    ctx.open()
    module = importlib.import_module("itsmdesk.services.cmdb.csv_io")
    count = module.export_csv(args.kind, args.file)
    if args.kind == "cis":
        text = translate("Cli", "{n} cis written to {path}")
    else:
        text = translate("Cli", "{n} relations written to {path}")
    print(text.format(n=count, path=args.file))
    return 0
