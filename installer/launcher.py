"""The bundle's entry point (PyInstaller freezes this script): the same as the ``itsmdesk``
command of a pip install."""

import sys

from itsmdesk.entry import main

if __name__ == "__main__":
    sys.exit(main())
