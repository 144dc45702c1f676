"""``itsmdesk import KIND FILE``.

Without ``--map``: our own CSV format for CIs and relations (``services.cmdb_csv``).
With ``--map MAPPING.toml``: other tools' exports, incl. event logs (``services.mapped_import``).
Both return an :class:`~itsmdesk.services.importing.report.ImportReport`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from itsmdesk.catalog import QT_TRANSLATE_NOOP
from itsmdesk.commands.base import CommandContext, import_summary, print_json, row_error_text, translate
from itsmdesk.errors import N_, ItsmError

KINDS = ("incidents", "changes", "problems", "cis", "relations", "interactions")


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("import", help=translate("Cli", "import records from a CSV file"))
    p.add_argument("kind", choices=KINDS)
    p.add_argument("file", type=Path)
    p.add_argument("--map", type=Path, metavar="MAPPING.toml",
                   help=translate("Cli", "mapping for another tool's export: a file, or the name "
                                         "of a ready one (itsmdesk mappings lists them)"))
    p.add_argument("--dry-run", action="store_true",
                   help=translate("Cli", "show what would change; write nothing"))
    p.add_argument("--skip-invalid", metavar="REJECTS.csv", type=Path,
                   help=translate("Cli", "import the good rows and write the bad ones to this file"))
    p.add_argument("--quiet", action="store_true", help=translate("Cli", "no progress on stderr"))
    p.add_argument("--json", action="store_true",
                   help=translate("Cli", "print the report (counts, bad rows, dry-run changes) as JSON"))
    p.set_defaults(func=cmd_import)
    m = sub.add_parser("mappings", help=translate("Cli", "the ready import mappings for other "
                                                         "tools' exports"))
    m.add_argument("--json", action="store_true", help=translate("Cli", "as JSON"))
    m.set_defaults(func=cmd_mappings)


def cmd_mappings(args, ctx: CommandContext) -> int:  # noqa: ANN001, ARG001 - no database
    from itsmdesk.services.importing.spec import ready_mappings

    maps = ready_mappings()
    if args.json:
        print_json([{"name": Path(m.path).stem, "title": m.name, "kind": m.kind, "path": m.path}
                    for m in maps])
        return 0
    if not maps:
        print(translate("Cli", "No ready mappings are installed."))
        return 1
    for m in maps:
        print(f"{Path(m.path).stem:<24} {m.kind or '-':<10} {m.name}")
    print(translate("Cli", "Use one with: itsmdesk import KIND FILE --map NAME"))
    return 0


# the import services' progress phases (English words) -> shown translated
PHASES = {
    "reading": QT_TRANSLATE_NOOP("Cli", "reading"),
    "checking": QT_TRANSLATE_NOOP("Cli", "checking"),
    "checking rows": QT_TRANSLATE_NOOP("Cli", "checking rows"),
    "writing": QT_TRANSLATE_NOOP("Cli", "writing"),
    "writing records": QT_TRANSLATE_NOOP("Cli", "writing records"),
    "writing history": QT_TRANSLATE_NOOP("Cli", "writing history"),
    "exporting": QT_TRANSLATE_NOOP("Cli", "exporting"),
}


class _Line:
    """Whether a progress line is open on stderr (ended before anything else is printed)."""

    open = False

    @classmethod
    def end(cls) -> None:
        if cls.open:
            print(file=sys.stderr, flush=True)
            cls.open = False


def _progress(quiet: bool):
    if quiet:
        return None

    def report(done: int, total: int | None = None, text: str = "") -> None:
        text = translate("Cli", PHASES[text]) if text in PHASES else text
        _Line.open = True
        if total:
            print(f"\r{text} {done}/{total} ({100 * done // max(total, 1)} %)", end="",
                  file=sys.stderr, flush=True)
        else:
            print(f"\r{text} {done}", end="", file=sys.stderr, flush=True)

    return report


def _value(text: str | None) -> str:
    return translate("Cli", "(empty)") if text is None else text.replace("\r", " ").replace("\n", " ")


def print_diff(report) -> None:  # noqa: ANN001
    """A dry run's changes: one line per CI or relation, its fields indented below."""
    cis = report.kind == "cis"
    for entry in report.diff:
        if entry.action == "create":
            line = translate("Cli", "create CI {name}") if cis else translate("Cli", "add relation {name}")
        else:
            line = translate("Cli", "update CI {name}") if cis else translate("Cli", "update relation {name}")
        print(line.format(name=entry.name) + (f" ({entry.ci_class})" if entry.ci_class else ""))
        for change in entry.changes:
            if entry.action == "create":
                print(f"    {change.field}: {_value(change.new)}")
            else:
                print(f"    {change.field}: {_value(change.old)} -> {_value(change.new)}")
    if report.diff_more:
        if cis:
            more = translate("Cli", "... and {n} more CIs to create or update (not listed)")
        else:
            more = translate("Cli", "... and {n} more relations to create or update (not listed)")
        print(more.format(n=report.diff_more))
    if not cis:
        print(translate("Cli", "relations not in the file are kept (the import never removes "
                               "relations)"))


def cmd_import(args, ctx: CommandContext) -> int:  # noqa: ANN001
    if not args.file.exists():
        raise ItsmError(N_("No such file: {path}"), path=str(args.file))
    ctx.open(create=True)
    actor = ctx.actor if args.dry_run else ctx.writer()
    try:
        if args.map is not None:
            module = importlib.import_module("itsmdesk.services.importing.mapped")
            report = module.run_import(args.kind, args.file, args.map, dry_run=args.dry_run,
                                       skip_invalid=args.skip_invalid,
                                       progress=_progress(args.quiet), actor=actor)
        elif args.kind in ("cis", "relations"):
            module = importlib.import_module("itsmdesk.services.cmdb.csv_io")
            report = module.import_csv(args.kind, args.file, dry_run=args.dry_run,
                                       skip_invalid=args.skip_invalid,
                                       progress=_progress(args.quiet), actor=actor)
    except BaseException:
        _Line.end()  # the error starts a line of its own, not after the progress
        raise
    if args.map is None and args.kind not in ("cis", "relations"):
        raise ItsmError(N_("Importing {kind} needs a mapping: add --map MAPPING.toml or the "
                           "name of a ready one (itsmdesk mappings lists them)"), kind=args.kind)
    _Line.end()
    status = 1 if report.errors and not report.applied and not report.dry_run else 0
    if args.json:
        print_json(report.as_dict())
        return status
    if report.dry_run and args.map is None:
        print_diff(report)
    shown = report.errors[:200]
    for error in shown:
        print(row_error_text(error), file=sys.stderr)
    if len(report.errors) > len(shown):
        # rows, not cells: a row with three bad cells is one bad row
        more = len({e.line for e in report.errors} - {e.line for e in shown})
        if more:
            print(translate("Cli", "... and {n} more bad rows").format(n=more), file=sys.stderr)
        else:
            print(translate("Cli", "... and {n} more errors in the rows above").format(
                n=len(report.errors) - len(shown)), file=sys.stderr)
    print(import_summary(report))
    if report.rejects_file:
        print(translate("Cli", "rejected rows written to {path}").format(path=report.rejects_file))
    return status
