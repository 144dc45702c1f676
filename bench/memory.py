"""``python -m bench.memory [--db URL]``: the desktop app's memory with a queue showing.

Prints one JSON line ``{"name": "app_memory", "ours_mb", "baseline_mb", "ratio"}``.  *Ours* is
the resident memory of a fresh process that opens the database (default: the cached large
demo), builds the main window with every panel and shows "All tickets"; the *baseline* is a
fresh process with the same database open and an empty QMainWindow.  Target: ours < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r'''
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from itsmdesk.app import make_application
app = make_application()
from itsmdesk.models.database import use_low_memory
from itsmdesk.services.session import open_database
database, info = open_database(sys.argv[1])
use_low_memory()
from PySide6.QtCore import QSettings
if sys.argv[2] == "ours":
    import tempfile
    from itsmdesk.views.context import AppContext
    from itsmdesk.views.main_window import MainWindow
    ctx = AppContext(info, synchronous=True)
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(ctx, settings)
    window.show()
    for _ in range(30):
        app.processEvents()
    panel = window.panels.get("queuesDock")
    if panel is not None and hasattr(panel, "select_queue"):
        panel.select_queue("all")
else:
    from PySide6.QtWidgets import QMainWindow
    window = QMainWindow()
    window.resize(1400, 900)
    window.show()
for _ in range(30):
    app.processEvents()
for line in open("/proc/self/status"):
    if line.startswith("VmRSS"):
        print(int(line.split()[1]) / 1024)
'''


def measure(url: str, which: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, url, which], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()
    return float(out[-1])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.db:
        url = args.db
    else:
        from bench.runner import large_db_url

        url = large_db_url()
    ours, base = measure(url, "ours"), measure(url, "baseline")
    print(json.dumps({"name": "app_memory", "ours_mb": round(ours, 1), "baseline_mb": round(base, 1),
                      "ratio": round(ours / base, 3), "note": "resident memory, large database, "
                      "main window with every panel and 'All tickets' showing; target < 300 MB"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
