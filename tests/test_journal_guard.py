"""The journal of a local SQLite database cannot be changed afterwards (models/journal_guard.py):
triggers refuse UPDATE and DELETE, and ``check`` finds a row edited or removed by hand once the
triggers are gone (the hash chain)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import peewee as pw
import pytest

from itsmdesk.models import ALL_MODELS, journal_guard
from itsmdesk.models.base import SchemaInfo
from itsmdesk.models.base import db as proxy
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.people import Person
from itsmdesk.services import bulk, maintenance, records, replay
from itsmdesk.services.context import SYSTEM

ROOT = Path(__file__).resolve().parents[1]


def _some_history() -> None:
    with records.atomic():
        for n in range(5):
            person = records.create(Person, {"name": f"Person {n}"}, SYSTEM)
            records.update(Person, person.id, None, {"phone": f"555-{n}"}, SYSTEM)


def _problems(info) -> list[str]:
    return [str(p) for p in maintenance.check(info)]


def test_every_journal_row_is_chained_and_check_says_ok(sqlite_db):
    _some_history()
    rows = list(JournalEntry.select().order_by(JournalEntry.id))
    assert len(rows) >= 10 and all(r.chain and len(r.chain) == 64 for r in rows)
    assert len({r.chain for r in rows}) == len(rows)
    assert journal_guard.first_broken(proxy.obj) is None
    assert _problems(sqlite_db) == []


def test_update_and_delete_are_refused_by_triggers(sqlite_db):
    _some_history()
    before = [(r.id, r.who_name, r.new) for r in JournalEntry.select().order_by(JournalEntry.id)]
    with pytest.raises(pw.IntegrityError, match="append-only: its rows cannot be changed"):
        JournalEntry.update(who_name="Forged Person").execute()
    with pytest.raises(pw.IntegrityError, match="append-only: its rows cannot be removed"):
        JournalEntry.delete().execute()
    # the same from the sqlite3 shell's point of view (another connection, no app code)
    raw = sqlite3.connect(str(sqlite_db.path))
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("UPDATE journal SET new = 'x' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("DELETE FROM journal")
    finally:
        raw.close()
    after = [(r.id, r.who_name, r.new) for r in JournalEntry.select().order_by(JournalEntry.id)]
    assert after == before


def _by_hand(path: Path, *statements: str) -> None:
    """Someone opens the file with sqlite3, drops the triggers and edits."""
    raw = sqlite3.connect(str(path))
    try:
        raw.execute("DROP TRIGGER journal_no_update")
        raw.execute("DROP TRIGGER journal_no_delete")
        for sql in statements:
            raw.execute(sql)
        raw.commit()
    finally:
        raw.close()


def test_a_row_edited_by_hand_is_found_by_check(sqlite_db):
    _some_history()
    target = JournalEntry.select().order_by(JournalEntry.id).offset(4).first().id
    _by_hand(sqlite_db.path, f"UPDATE journal SET who_name = 'Forged Person' WHERE id = {target}")
    problems = _problems(sqlite_db)
    assert f"journal row {target} was changed or removed after it was written" in problems[0]
    assert "the triggers that keep it append-only were removed" in problems[1]


def test_a_row_removed_by_hand_is_found_by_check(sqlite_db):
    _some_history()
    ids = [r.id for r in JournalEntry.select(JournalEntry.id).order_by(JournalEntry.id)]
    _by_hand(sqlite_db.path, f"DELETE FROM journal WHERE id = {ids[3]}")
    assert journal_guard.first_broken(proxy.obj) == ids[4]  # the row after the gap no longer fits


def test_recomputing_only_the_edited_row_is_not_enough(sqlite_db):
    _some_history()
    rows = list(JournalEntry.select().order_by(JournalEntry.id))
    target = rows[2]
    # the forger fixes the edited row's own chain value, but the next row still follows the old one
    values = [getattr(target, c) for c in journal_guard.CHAINED]
    raw = proxy.obj.execute_sql(
        f"SELECT {', '.join(journal_guard.CHAINED)} FROM journal WHERE id = ?", (target.id,)
    ).fetchone()
    assert len(raw) == len(values)
    forged = list(raw)
    forged[journal_guard.CHAINED.index("who_name")] = "Forged Person"
    new_chain = journal_guard.link(rows[1].chain, forged)
    _by_hand(sqlite_db.path, f"UPDATE journal SET who_name = 'Forged Person', chain = '{new_chain}' "
                             f"WHERE id = {target.id}")
    assert journal_guard.first_broken(proxy.obj) == rows[3].id


def test_bulk_writes_are_chained_too(sqlite_db):
    _some_history()
    person = Person.select().first()
    rows = [("person", person.id, "P", "!note", None, f"bulk {n}", None, "system",
             records.utcnow(), "", None, None) for n in range(1200)]
    with records.atomic():
        bulk.insert_journal(rows)
    assert JournalEntry.select().where(JournalEntry.chain.is_null()).count() == 0
    assert journal_guard.first_broken(proxy.obj) is None


def test_migration_10_chains_an_older_journal_and_installs_the_triggers(tmp_path):
    from itsmdesk.services.session import open_database

    path = tmp_path / "old.db"
    database, info = open_database(f"sqlite:///{path}")
    _some_history()
    # make it look like schema 9: no triggers, no chain values
    journal_guard.remove_triggers(database)
    database.execute_sql("UPDATE journal SET chain = NULL")
    database.execute_sql("UPDATE schema_info SET value = '9' WHERE key = 'schema_version'")
    database.close()
    database, info = open_database(f"sqlite:///{path}")
    try:
        assert JournalEntry.select().where(JournalEntry.chain.is_null()).count() == 0
        assert journal_guard.triggers_missing(database) == []
        assert _problems(info) == []
        assert list(tmp_path.glob("old.db.v9-*.bak"))  # (a backup was taken first)
    finally:
        database.close()


def test_a_replayed_database_has_a_sound_chain(sqlite_db):
    _some_history()
    rows = replay.read_journal(proxy.obj)
    database = proxy.obj
    database.execute_sql("PRAGMA foreign_keys = OFF")
    with database.atomic():
        journal_guard.remove_triggers(database)
        for model in reversed(pw.sort_models(ALL_MODELS)):
            if model is not SchemaInfo:
                database.execute_sql(f'DELETE FROM "{model._meta.table_name}"')
        journal_guard.install(database)
    database.execute_sql("PRAGMA foreign_keys = ON")
    replay.apply(rows)
    assert Person.select().count() == 5
    assert _problems(sqlite_db) == []


def test_the_check_command_names_the_changed_row(tmp_path):
    path = tmp_path / "cli.db"
    url = f"sqlite:///{path}"
    env = dict(os.environ, ITSMDESK_LANG="en")
    env.pop("ITSMDESK_DB", None)
    done = subprocess.run([sys.executable, "-m", "itsmdesk", "--db", url, "init"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    _by_hand(path, "UPDATE journal SET new = 'tampered' WHERE id = 3")
    done = subprocess.run([sys.executable, "-m", "itsmdesk", "--db", url, "check"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "journal row 3 was changed or removed after it was written" in done.stdout
