"""The ``itsmdesk`` command's entry point: answers ``--version`` before anything heavy is
imported (the command line proper loads Qt for its translations, about 200 ms), then hands over
to :func:`itsmdesk.cli.main`."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from itsmdesk import __version__

        print(f"itsmdesk {__version__}")
        return 0
    from itsmdesk.cli import main as cli_main

    return cli_main(args)
