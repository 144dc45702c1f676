"""Backup finishes under writers and never leaves a half-written or temporary file counted as a
backup; restore takes only a sound itsmdesk database, saves the current one first, and swaps
the copy in only while nobody else has the file open."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from itsmdesk.cli import main
from itsmdesk.models import db as proxy
from itsmdesk.services import backup as backups
from itsmdesk.services.servicedesk import incidents


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def titles(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in con.execute("SELECT title FROM incident"))
    finally:
        con.close()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_backup_is_private_atomic_and_clears_a_killed_runs_leftovers(capsys, sqlite_db, tmp_path):
    incidents.create_incident({"title": "kept"})
    target = tmp_path / "copies" / "nightly.db"
    target.parent.mkdir()
    dead = target.parent / f".nightly.db{backups.TEMP_MARK}{_dead_pid()}-abcd1234"
    dead.write_bytes(b"SQLite format 3\x00 half of a killed backup")
    live = target.parent / f".nightly.db{backups.TEMP_MARK}{os.getpid()}-0000beef"
    live.write_bytes(b"a backup running right now in this process")
    legacy = target.parent / "nightly.db.partial"
    legacy.write_bytes(b"older versions' leftover")
    target.write_bytes(b"yesterday's backup")

    code, out, err = run(capsys, "--db", sqlite_db.url, "backup", str(target))

    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert titles(target) == ["kept"]
    assert not dead.exists() and not legacy.exists()
    assert live.exists()  # (its process is alive: not ours to remove)
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(["nightly.db", live.name])
    con = sqlite3.connect(target)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    code, _out, err = run(capsys, "--db", sqlite_db.url, "restore", str(live))
    assert code == 2 and "unfinished copy of an interrupted backup" in err


def test_backup_finishes_while_two_writers_keep_writing(sqlite_db, tmp_path):
    """The online backup API restarted on every write and never finished; VACUUM INTO reads one
    snapshot.  Two threads write continuously until the backup is done."""
    from itsmdesk.services.maintenance import backup

    for n in range(200):
        incidents.create_incident({"title": f"before {n}"})
    stop = threading.Event()
    written = [0, 0]

    def writer(slot: int) -> None:
        database = proxy.obj  # (peewee: a connection of its own per thread)
        database.connect(reuse_if_open=True)
        try:
            while not stop.is_set():
                incidents.create_incident({"title": f"during {slot}"})
                written[slot] += 1
        finally:
            database.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        while sum(written) < 20:
            stop.wait(0.01)
        target = backup(sqlite_db, tmp_path / "busy.db")
        during = sum(written)
    finally:
        stop.set()
        for t in threads:
            t.join()
    copied = titles(target)
    assert sum(written) > 20 and len(copied) >= 220
    assert len(copied) <= 200 + during  # one snapshot, not a mixture
    con = sqlite3.connect(target)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


@pytest.fixture
def saved(sqlite_db, tmp_path):
    """A database holding 'old' with a backup of it, then 'new' added; connections closed."""
    from itsmdesk.services.maintenance import backup

    incidents.create_incident({"title": "old"})
    copy = backup(sqlite_db, tmp_path / "monday.db")
    incidents.create_incident({"title": "new"})
    proxy.obj.close()
    return sqlite_db, copy


def test_restore_swaps_the_backup_in_and_keeps_the_current_file(capsys, saved, tmp_path):
    info, copy = saved
    code, out, err = run(capsys, "--db", info.url, "restore", str(copy))
    assert code == 0, err
    assert titles(info.path) == ["old"]
    kept = next(tmp_path.glob("test.db.before-restore-*.bak"))
    assert f"saved as {kept}" in out and titles(kept) == ["new", "old"]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not any(backups.is_temp_name(p) for p in tmp_path.iterdir())
    code, out, err = run(capsys, "--db", info.url, "check")
    assert code == 0 and out.strip().endswith("OK"), out + err
    # the restored database is in use again: a write lands and survives reopening
    from itsmdesk.services.session import open_database

    database, _info = open_database(info.url)
    incidents.create_incident({"title": "after"})
    database.close()
    assert titles(info.path) == ["after", "old"]


def test_restore_is_refused_while_another_program_has_the_database_open(capsys, saved):
    info, copy = saved
    other = sqlite3.connect(info.path)  # an itsmdesk window elsewhere
    other.execute("SELECT count(*) FROM incident").fetchone()
    try:
        code, _out, err = run(capsys, "--db", info.url, "restore", str(copy))
    finally:
        other.close()
    assert code == 2
    assert f"{info.path} is open in another program" in err and "Nothing was replaced" in err
    assert titles(info.path) == ["new", "old"]


@pytest.mark.parametrize("damage, needle", [
    ("text", "is not an SQLite database"),
    ("foreign", "is not an itsmdesk database"),
    ("newer", "newer than this itsmdesk understands"),
    ("journal", "was changed or removed after it was written"),
    ("bad schema", "cannot be read as a database"),
    ("torn", "is damaged|cannot be read as a database"),
])
def test_restore_refuses_what_is_not_a_sound_itsmdesk_database(capsys, saved, tmp_path, damage,
                                                               needle):
    info, copy = saved
    bad = tmp_path / "bad.db"
    if damage == "text":
        bad.write_text("incident,title\n1,old\n")
    elif damage == "foreign":
        con = sqlite3.connect(bad)
        con.execute("CREATE TABLE photos (id INTEGER)")
        con.commit()
        con.close()
    else:
        shutil.copy(copy, bad)
        con = sqlite3.connect(bad)
        if damage == "newer":
            con.execute("UPDATE schema_info SET value = '999' WHERE key = 'schema_version'")
        elif damage == "journal":
            con.execute("DROP TRIGGER journal_no_update")
            con.execute("UPDATE journal SET new = 'forged' WHERE id = (SELECT min(id) FROM journal)")
        elif damage == "bad schema":
            con.execute("PRAGMA writable_schema = ON")
            con.execute("UPDATE sqlite_master SET rootpage = 99999 WHERE name = 'incident'")
        con.commit()
        con.close()
        if damage == "torn":  # a copy cut short (a full disk, a killed copy)
            data = bad.read_bytes()
            bad.write_bytes(data[:len(data) * 2 // 3])
    before = info.path.read_bytes()
    code, _out, err = run(capsys, "--db", info.url, "restore", str(bad))
    assert code == 2 and re.search(needle, err) and "nothing was restored" in err.lower(), err
    assert info.path.read_bytes() == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_restore_on_postgresql_says_to_use_pg_restore(capsys, db):
    if db.backend != "postgresql":
        pytest.skip("SQLite restores itself (tests above)")
    code, _out, err = run(capsys, "--db", db.url, "restore", "any.dump")
    assert code == 2 and "pg_restore" in err


def test_backup_on_postgresql_leaves_no_temporary_file(capsys, db, tmp_path):
    if db.backend == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump not installed")
    incidents.create_incident({"title": "kept"})
    target = tmp_path / "nightly.dump"
    code, _out, err = run(capsys, "--db", db.url, "backup", str(target))
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
