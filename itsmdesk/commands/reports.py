"""``itsmdesk report cab-pack|cab-minutes|release-plan ... -o FILE.pdf``."""

from __future__ import annotations

import importlib
from pathlib import Path

from itsmdesk.commands.base import CommandContext, translate
from itsmdesk.errors import N_, ItsmError

# report name -> (module in itsmdesk.reports, option naming the record)
REPORTS = {
    "cab-pack": ("cab_pack", "meeting"),
    "cab-minutes": ("cab_minutes", "meeting"),
    "release-plan": ("release_plan", "release"),
}


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("report", help=translate("Cli", "write a PDF report"))
    p.add_argument("name", choices=sorted(REPORTS))
    p.add_argument("--meeting", metavar="REF",
                   help=translate("Cli", "CAB meeting reference (cab-pack, cab-minutes)"))
    p.add_argument("--release", metavar="REF", help=translate("Cli", "release reference (release-plan)"))
    p.add_argument("--page-size", choices=("A4", "Letter"), default="A4")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.pdf")
    p.set_defaults(func=cmd_report)


def cmd_report(args, ctx: CommandContext) -> int:  # noqa: ANN001
    module_name, option = REPORTS[args.name]
    ref = getattr(args, option)
    if not ref:
        raise ItsmError(N_("{report} needs --{option} REF"), report=args.name, option=option)
    ctx.open()
    from itsmdesk.i18n import ensure_translations

    ensure_translations()  # the PDF in ITSMDESK_LANG / the system language, like the GUI
    module = importlib.import_module(f"itsmdesk.reports.{module_name}")
    pages = module.build(ref, args.output, page_size=args.page_size)
    print(translate("Cli", "{path} written ({n} pages)").format(path=args.output, n=pages))
    return 0
