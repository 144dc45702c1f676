"""The command line translates without Qt: :mod:`itsmdesk.catalog` reads the compiled .qm
catalogue itself.  It must agree with Qt's own reader on every message, and a headless command
must not load Qt at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from itsmdesk import catalog

ROOT = Path(__file__).resolve().parent.parent


def test_the_reader_agrees_with_qt_on_every_message():
    from PySide6.QtCore import QTranslator

    path = catalog.qm_file("sv_SE")
    ours = catalog.read_qm(path.read_bytes())
    assert len(ours) > 1500
    qt = QTranslator()
    assert qt.load(str(path))
    differ = [(ctx, src) for (ctx, src), text in ours.items() if qt.translate(ctx, src) != text]
    assert differ == []
    assert ours[("argparse", "usage: ")] == "användning: "


def test_a_file_that_is_not_a_catalogue_is_refused(tmp_path):
    with pytest.raises(ValueError):
        catalog.read_qm(b"not a qm file at all")
    assert catalog.messages("en_GB") == {}


def _run(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("ITSMDESK_LANG",)}
    environment.update(PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", **env)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_headless_commands_do_not_load_qt(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code = f"""
import contextlib, io, sys
from itsmdesk.entry import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    assert main(["--db", "{db}", "init"]) == 0
    assert main(["--db", "{db}", "stats"]) == 0
    assert main(["--db", "{db}", "list", "incidents"]) == 0
    assert main(["--db", "{db}", "history", "NOPE-1"]) == 2
    try:
        main(["--help"])
    except SystemExit:
        pass
print(sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken"))))
print("användning" in out.getvalue())
"""
    modules, swedish = _run(code, ITSMDESK_LANG="sv_SE").splitlines()
    assert modules == "[]" and swedish == "True"
