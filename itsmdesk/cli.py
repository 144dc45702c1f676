"""The command line.  With no command it starts the GUI.

Each command group lives in ``itsmdesk/commands/<group>.py`` with a ``register(subparsers)``
function; handlers take ``(args, ctx)`` and return an exit code.  Errors a person can act on are
printed as one line on stderr with a non-zero exit; no traceback reaches a user.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from itsmdesk import __version__
from itsmdesk.catalog import QT_TRANSLATE_NOOP, translate
from itsmdesk.commands.base import CommandContext, one_line
from itsmdesk.errors import ItsmError
from itsmdesk.i18n import error_text

COMMAND_MODULES = ["core", "importing", "exporting", "reports", "cmdb", "changes", "problems",
                   "servicedesk", "sla", "releases", "categories", "accounts", "admin", "sync",
                   "mail", "mail_out"]


# argparse's own texts (it looks them up through ``argparse._`` when it prints): listed here so
# lupdate collects them; :func:`translate_argparse` routes them through Qt's translators
ARGPARSE_TEXTS = (
    QT_TRANSLATE_NOOP("argparse", "usage: "),
    QT_TRANSLATE_NOOP("argparse", "positional arguments"),
    QT_TRANSLATE_NOOP("argparse", "options"),
    QT_TRANSLATE_NOOP("argparse", "show this help message and exit"),
    QT_TRANSLATE_NOOP("argparse", "show program's version number and exit"),
    QT_TRANSLATE_NOOP("argparse", "%(prog)s: error: %(message)s\n"),
    QT_TRANSLATE_NOOP("argparse", "argument %(argument_name)s: %(message)s"),
    QT_TRANSLATE_NOOP("argparse", "invalid choice: %(value)r (choose from %(choices)s)"),
    QT_TRANSLATE_NOOP("argparse", "invalid %(type)s value: %(value)r"),
    QT_TRANSLATE_NOOP("argparse", "the following arguments are required: %s"),
    QT_TRANSLATE_NOOP("argparse", "unrecognized arguments: %s"),
    QT_TRANSLATE_NOOP("argparse", "expected one argument"),
    QT_TRANSLATE_NOOP("argparse", "expected at least one argument"),
    QT_TRANSLATE_NOOP("argparse", "expected at most one argument"),
    QT_TRANSLATE_NOOP("argparse", "ambiguous option: %(option)s could match %(matches)s"),
    QT_TRANSLATE_NOOP("argparse", "not allowed with argument %s"),
    QT_TRANSLATE_NOOP("argparse", "one of the arguments %s is required"),
    QT_TRANSLATE_NOOP("argparse", "can't open '%(filename)s': %(error)s"),
)


def translate_argparse() -> None:
    """Let argparse's usage/error texts follow the installed translators (English unchanged)."""
    if getattr(argparse, "_itsmdesk_translated", False):
        return
    # plural forms (ngettext: "expected %s arguments") stay English
    argparse._ = lambda text: translate("argparse", text)  # type: ignore[attr-defined]
    argparse._itsmdesk_translated = True  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itsmdesk",
        description=translate("Cli", "itsmdesk: IT service support (incidents, problems, CMDB, "
                                     "changes, releases)."),
        epilog=translate("Cli", "With no command, the desktop application starts."))
    parser.add_argument("--version", action="version", version=f"itsmdesk {__version__}")
    parser.add_argument("--db", metavar="URL",
                        help=translate("Cli", "sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/DB "
                                       "(default: $ITSMDESK_DB, else a file in your data folder)"))
    parser.add_argument("--user", metavar="LOGIN",
                        help=translate("Cli", "sign in as LOGIN (default: $ITSMDESK_USER); the "
                                              "password comes from $ITSMDESK_PASSWORD or is "
                                              "asked for"))
    parser.add_argument("--demo", action="store_true",
                        help=translate("Cli", "work on the demo database (built on first use): "
                                              "the GUI, or any command"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module_name = f"itsmdesk.commands.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(sub)
    return parser


def starts_gui(argv: Sequence[str]) -> bool:
    """True when these arguments start the desktop application (no command, no help/version):
    the GUI creates its own QApplication and translators, so none may exist before it."""
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word in ("--db", "--user"):
            if rest:
                rest.pop(0)
        elif not (word.startswith(("--db=", "--user=")) or word == "--demo"):
            return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not starts_gui(argv):
        translate_argparse()  # help, messages and errors in ITSMDESK_LANG / the system language
        if "PySide6.QtCore" in sys.modules:  # run inside a Qt process: its translators decide
            from itsmdesk.i18n import ensure_translations

            ensure_translations()
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = CommandContext(args.db, demo=args.demo, user=args.user)
    try:
        from itsmdesk import config
        from itsmdesk.services.context import set_site

        set_site(config.value(config.SITE))  # references drawn from this site's block
        from itsmdesk.models.write_lock import set_program

        # who this process is, for another one kept waiting for an SQLite file it writes
        set_program(f"itsmdesk {args.command or 'desktop'}")
        if args.command is None:
            from itsmdesk.commands.core import run_gui

            return run_gui(args, ctx)
        from itsmdesk.services.session import run_retrying

        # a command that lost a deadlock on PostgreSQL before committing anything runs again
        return int(run_retrying(lambda: args.func(args, ctx)) or 0)
    except ItsmError as exc:
        print(translate("Cli", "itsmdesk: error: {message}").format(
            message=one_line(error_text(exc))), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(translate("Cli", "itsmdesk: interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        from itsmdesk import config
        from itsmdesk.services.session import as_domain_error

        known = as_domain_error(exc)
        if isinstance(known, ItsmError):  # a lost connection, a refusal by the shared database
            print(translate("Cli", "itsmdesk: error: {message}").format(
                message=one_line(error_text(known))), file=sys.stderr)
            return 2

        try:
            debug = config.value(config.DEBUG)
        except ItsmError:
            debug = False
        if debug:
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(translate("Cli", "itsmdesk: error: {message}").format(
            message=f"{type(exc).__name__}: {one_line(text)} "
                    + translate("Cli", "(set ITSMDESK_DEBUG=1 for details)")), file=sys.stderr)
        return 3
    finally:
        ctx.close()
