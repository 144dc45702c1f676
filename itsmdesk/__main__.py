"""``python -m itsmdesk`` runs the command line (which starts the GUI when no command is given)."""

import sys

from itsmdesk.entry import main

if __name__ == "__main__":
    sys.exit(main())
