"""The command line.  With no command it starts the GUI.

Each command group lives in ``itsmdesk/commands/<group>.py`` with a ``register(subparsers)``
function; handlers take ``(args, ctx)`` and return an exit code.  Errors a person can act on are
printed as one line on stderr with a non-zero exit; no traceback reaches a user.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from itsmdesk import __version__
from itsmdesk.commands.base import CommandContext
from itsmdesk.errors import ItsmError

COMMAND_MODULES = ["core", "importing", "exporting", "reports", "cmdb", "changes", "problems",
                   "servicedesk", "releases", "categories"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itsmdesk",
        description="itsmdesk: IT service support (incidents, problems, CMDB, changes, releases).",
        epilog="With no command, the desktop application starts.")
    parser.add_argument("--version", action="version", version=f"itsmdesk {__version__}")
    parser.add_argument("--db", metavar="URL",
                        help="sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/DB "
                             "(default: $ITSMDESK_DB, else a file in your data folder)")
    parser.add_argument("--demo", action="store_true",
                        help="start the GUI on a demo database (created on first use)")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = CommandContext(args.db)
    try:
        if args.command is None:
            from itsmdesk.commands.core import run_gui

            return run_gui(args, ctx)
        return int(args.func(args, ctx) or 0)
    except ItsmError as exc:
        print(f"itsmdesk: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("itsmdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if os.environ.get("ITSMDESK_DEBUG"):
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"itsmdesk: error: {type(exc).__name__}: {text} "
              "(set ITSMDESK_DEBUG=1 for details)", file=sys.stderr)
        return 3
    finally:
        ctx.close()
