"""``itsmdesk import KIND FILE``.

Without ``--map``: our own CSV format for CIs and relations (``services.cmdb_csv``).
With ``--map MAPPING.toml``: other tools' exports, incl. event logs (``services.mapped_import``).
Both return an :class:`~itsmdesk.services.import_report.ImportReport`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from itsmdesk.commands.base import CommandContext, print_json
from itsmdesk.errors import N_, ItsmError

KINDS = ("incidents", "changes", "problems", "cis", "relations")


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("import", help="import records from a CSV file")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("file", type=Path)
    p.add_argument("--map", type=Path, metavar="MAPPING.toml",
                   help="mapping for another tool's export (see README)")
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument("--skip-invalid", metavar="REJECTS.csv", type=Path,
                   help="import the good rows and write the bad ones to this file")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true",
                   help="print the report (counts, bad rows, dry-run changes) as JSON")
    p.set_defaults(func=cmd_import)


def _progress(quiet: bool):
    if quiet:
        return None

    def report(done: int, total: int | None = None, text: str = "") -> None:
        if total:
            print(f"\r{text} {done}/{total} ({100 * done // max(total, 1)} %)", end="",
                  file=sys.stderr, flush=True)
        else:
            print(f"\r{text} {done}", end="", file=sys.stderr, flush=True)

    return report


def _value(text: str | None) -> str:
    return "(empty)" if text is None else text.replace("\r", " ").replace("\n", " ")


def print_diff(report) -> None:  # noqa: ANN001
    """A dry run's changes: one line per CI or relation, its fields indented below."""
    noun = "CI" if report.kind == "cis" else "relation"
    for entry in report.diff:
        verb = ("add" if noun == "relation" else "create") if entry.action == "create" else "update"
        print(f"{verb} {noun} {entry.name}" + (f" ({entry.ci_class})" if entry.ci_class else ""))
        for change in entry.changes:
            if entry.action == "create":
                print(f"    {change.field}: {_value(change.new)}")
            else:
                print(f"    {change.field}: {_value(change.old)} -> {_value(change.new)}")
    if report.diff_more:
        print(f"... and {report.diff_more} more {noun}s to create or update (not listed)")
    if noun == "relation":
        print("relations not in the file are kept (the import never removes relations)")


def cmd_import(args, ctx: CommandContext) -> int:  # noqa: ANN001
    if not args.file.exists():
        raise ItsmError(N_("No such file: {path}"), path=str(args.file))
    ctx.open()
    if args.map is not None:
        module = importlib.import_module("itsmdesk.services.mapped_import")
        report = module.run_import(args.kind, args.file, args.map, dry_run=args.dry_run,
                                   skip_invalid=args.skip_invalid, progress=_progress(args.quiet))
    elif args.kind in ("cis", "relations"):
        module = importlib.import_module("itsmdesk.services.cmdb_csv")
        report = module.import_csv(args.kind, args.file, dry_run=args.dry_run,
                                   skip_invalid=args.skip_invalid, progress=_progress(args.quiet))
    else:
        raise ItsmError(N_("Importing {kind} needs a mapping: add --map MAPPING.toml "
                           "(ready ones are in resources/import-maps/)"), kind=args.kind)
    if not args.quiet:
        print(file=sys.stderr)
    status = 1 if report.errors and not report.applied and not report.dry_run else 0
    if args.json:
        print_json(report.as_dict())
        return status
    if report.dry_run and args.map is None:
        print_diff(report)
    for error in report.errors[:200]:
        print(str(error), file=sys.stderr)
    if len(report.errors) > 200:
        print(f"... and {len(report.errors) - 200} more bad rows", file=sys.stderr)
    print(report.summary())
    if report.rejects_file:
        print(f"rejected rows written to {report.rejects_file}")
    return status
