"""The command line follows ITSMDESK_LANG: help, messages, table headers and errors in Swedish;
machine output (--json) identical in every language; English output unchanged.

Swedish runs happen in a fresh process (``python -m itsmdesk``) so no translator leaks into other
tests; the in-process checks remove what they installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from itsmdesk.cli import main, starts_gui
from itsmdesk.errors import NotFoundError
from itsmdesk.i18n import error_text, install_translators, reason_text, remove_translators


def run(lang: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "ITSMDESK_DB")}
    env["ITSMDESK_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "itsmdesk", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_main_help_in_swedish_and_english():
    sv = run("sv_SE", "--help")
    assert sv.returncode == 0, sv.stderr
    assert sv.stdout.startswith("användning: itsmdesk")
    out = " ".join(sv.stdout.split())  # argparse wraps lines
    for text in ("itsmdesk: IT-servicestöd (incidenter, problem, CMDB, ändringar, releaser).",
                 "positionsargument", "skapa databasen eller uppgradera dess schema",
                 "visa detta hjälpmeddelande och avsluta",
                 "Utan kommando startar skrivbordsprogrammet."):
        assert text in out, text
    assert "usage:" not in sv.stdout and "create the database" not in sv.stdout
    en = run("en_US", "--help")
    assert en.returncode == 0
    assert en.stdout.startswith("usage: itsmdesk")
    assert "create the database or upgrade its schema" in en.stdout
    assert "användning" not in en.stdout


def test_subcommand_help_in_swedish():
    done = run("sv_SE", "import", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    assert "torrkörning: visa vad som skulle ändras; skriv inget" in text
    assert "importera de korrekta raderna och skriv de felaktiga till denna fil" in text
    assert "flaggor:" in text
    # option and command names stay as they are
    assert "--dry-run" in text and "--skip-invalid" in text
    assert "show what would change" not in text


def test_unknown_reference_error_in_swedish(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("sv_SE", "--db", url, "init").returncode == 0
    sv = run("sv_SE", "--db", url, "history", "NOPE-1")
    assert sv.returncode == 2
    assert "itsmdesk: fel: Inget har referensen eller namnet 'NOPE-1'" in sv.stderr
    assert "Nothing has" not in sv.stderr and "Traceback" not in sv.stderr
    en = run("en_US", "--db", url, "history", "NOPE-1")
    assert en.returncode == 2
    assert "itsmdesk: error: Nothing has the reference or name 'NOPE-1'" in en.stderr


def test_bad_database_url_in_swedish():
    done = run("sv_SE", "--db", "bogus://nowhere", "stats")
    assert done.returncode == 2
    assert done.stderr.startswith("itsmdesk: fel: Databas-URL:en 'bogus://nowhere' stöds inte")
    assert done.stdout == ""


def test_argparse_errors_in_swedish():
    done = run("sv_SE", "list", "bogus")
    assert done.returncode == 2
    assert "itsmdesk list: fel: argument KIND: ogiltigt val: 'bogus'" in done.stderr
    assert done.stderr.startswith("användning: itsmdesk list")


def test_list_json_is_the_same_in_every_language_and_the_table_is_translated(demo_db):
    url = f"sqlite:///{demo_db.path}"
    sv = run("sv_SE", "--db", url, "list", "changes", "--limit", "5", "--json")
    en = run("en_US", "--db", url, "list", "changes", "--limit", "5", "--json")
    assert sv.returncode == en.returncode == 0, sv.stderr + en.stderr
    assert sv.stdout == en.stdout
    rows = json.loads(sv.stdout)
    assert len(rows) == 5 and {"ref", "title", "status"} <= set(rows[0])

    table = run("sv_SE", "--db", url, "list", "changes", "--limit", "5")
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0].split()
    assert header == ["REF", "RUBRIK", "STATUS"]
    # record data (references, stored statuses) is not translated
    assert rows[0]["ref"] in table.stdout and rows[0]["status"] in table.stdout


def test_change_risk_in_swedish(demo_db):
    from itsmdesk.models.change import Change

    # a change not yet approved: the command assesses it and shows the factors
    change = Change.select().where(Change.status.in_(("submitted", "assessed", "awaiting_cab"))) \
        .order_by(Change.ref).first()
    url = f"sqlite:///{demo_db.path}"
    done = run("sv_SE", "--db", url, "changes", "risk", change.ref)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{change.ref}: risk ") and "(poäng " in lines[0]
    assert lines[1].split()[:4] == ["FAKTOR", "POÄNG", "VIKT", "VARFÖR"]


def test_english_output_unchanged_in_process(demo_db, capsys):
    url = f"sqlite:///{demo_db.path}"
    assert main(["--db", url, "list", "changes", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["REF", "TITLE", "STATUS"]
    assert main(["--db", url, "history", "NOPE-9"]) == 2
    assert capsys.readouterr().err == "itsmdesk: error: Nothing has the reference or name 'NOPE-9'\n"


def test_in_process_error_follows_installed_translator(demo_db, qapp, capsys, monkeypatch):
    monkeypatch.setenv("ITSMDESK_LANG", "sv_SE")
    before = set(qapp.findChildren(QTranslator))
    url = f"sqlite:///{demo_db.path}"
    try:
        assert main(["--db", url, "history", "NOPE-9"]) == 2
        err = capsys.readouterr().err
        assert err == "itsmdesk: fel: Inget har referensen eller namnet 'NOPE-9'\n"
        assert error_text(NotFoundError("Nothing has the reference or name '{ref}'", ref="X")) \
            == "Inget har referensen eller namnet 'X'"
    finally:
        remove_translators(qapp, [t for t in qapp.findChildren(QTranslator) if t not in before])
    assert QCoreApplication.translate("Cli", "itsmdesk: error: {message}") == \
        "itsmdesk: error: {message}"


def test_reason_text_falls_back_to_the_stored_english(qapp):
    old_row = {"factor": "x", "why": "emergency change"}  # assessed before templates existed
    assert reason_text(old_row) == "emergency change"
    translators = install_translators(qapp, "sv_SE")
    try:
        assert reason_text(old_row) == "emergency change"
        broken = {"why": "fallback", "why_template": "{missing}", "why_params": {}}
        assert reason_text(broken) == "fallback"
    finally:
        remove_translators(qapp, translators)


@pytest.mark.parametrize("argv, gui", [
    ([], True), (["--demo"], True), (["--db", "sqlite:///x.db"], True),
    (["--db=sqlite:///x.db", "--demo"], True), (["--help"], False), (["--version"], False),
    (["list", "incidents"], False), (["--db", "sqlite:///x.db", "stats"], False),
])
def test_starts_gui_leaves_the_application_to_the_gui(argv, gui):
    # the GUI creates its own QApplication: the CLI must not create a QCoreApplication first
    assert starts_gui(argv) is gui


def test_check_findings_in_swedish(demo_db):
    import sqlite3

    conn = sqlite3.connect(demo_db.path)
    conn.execute("UPDATE ci SET gid = NULL WHERE rowid <= 2")
    conn.commit()
    conn.close()
    sv = run("sv_SE", "--db", demo_db.url, "check")
    assert sv.returncode == 1
    assert "ci: 2 CI utan post i grafindexet; konsekvensanalysen ser dem inte" in sv.stdout
    assert "without a graph index entry" not in sv.stdout
    repaired = run("sv_SE", "--db", demo_db.url, "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "CMDB:ns grafindex reparerat (0 CI, 0 relation(er) fortfarande fel)" in repaired.stdout
