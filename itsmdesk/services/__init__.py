"""The rules of each process.  No Qt imports here; views, reports and the CLI call these."""

# Registers migration 12's data step (models may not import services; see unique_keys.py).
from itsmdesk.services import unique_keys as _unique_keys  # noqa: E402, F401
