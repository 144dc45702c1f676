"""URLs, bad files, schema versions and migrations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itsmdesk.errors import DatabaseUnavailableError, SchemaTooNewError
from itsmdesk.models import Incident, db
from itsmdesk.models.database import connect, parse_url
from itsmdesk.models.migrations import LATEST_VERSION, current_version, ensure_schema
from itsmdesk.services.session import open_database


def test_parse_urls():
    info = parse_url("sqlite:////tmp/a/b.db")
    assert info.backend == "sqlite" and info.path == Path("/tmp/a/b.db")
    assert parse_url("sqlite:///rel.db").path == Path("rel.db")
    pg = parse_url("postgresql://u:p%40ss@db.example:6543/itsm")
    assert (pg.host, pg.port, pg.user, pg.password, pg.dbname) == ("db.example", 6543, "u", "p@ss", "itsm")
    assert "p@ss" not in pg.display
    for bad in ("mysql://x/y", "sqlite:/x.db", "postgresql://host-only", "", "postgresql://h:port/d"):
        with pytest.raises(DatabaseUnavailableError):
            parse_url(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_url_text_gives_a_clean_error_or_a_parse(text):
    try:
        parse_url(text)
    except DatabaseUnavailableError as exc:
        assert exc.message and "\n" not in exc.message


def test_corrupt_file_is_refused_and_untouched(tmp_path):
    bad = tmp_path / "bad.db"
    payload = b"this is not sqlite" * 100
    bad.write_bytes(payload)
    with pytest.raises(DatabaseUnavailableError, match="not an itsmdesk database or is corrupt"):
        open_database(f"sqlite:///{bad}")
    assert bad.read_bytes() == payload


def test_unwritable_folder(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/itsmdesk/x.db"  # even root cannot create folders in /proc
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = str(locked / "sub" / "x.db")
    with pytest.raises(DatabaseUnavailableError, match="Cannot"):
        open_database(f"sqlite:///{target}")


def test_unreachable_server_is_one_clear_line():
    with pytest.raises(DatabaseUnavailableError) as err:
        connect("postgresql://nobody@127.0.0.1:1/nothing")
    assert "127.0.0.1:1" in err.value.message and "\n" not in err.value.message


def test_schema_too_new_is_refused_untouched(tmp_path):
    path = tmp_path / "future.db"
    database, _info = open_database(f"sqlite:///{path}")
    database.execute_sql("UPDATE schema_info SET value = '999' WHERE key = 'schema_version'")
    database.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNewError, match="schema version 999"):
        open_database(f"sqlite:///{path}")
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.bak"))


def _fts_hits(word: str) -> int:
    return db.obj.execute_sql("SELECT count(*) FROM incident_fts WHERE incident_fts MATCH ?",
                              (word,)).fetchone()[0]


def test_upgrade_from_version_1(tmp_path):
    from itsmdesk.services.servicedesk import incidents

    path = tmp_path / "old.db"
    database, info = connect(f"sqlite:///{path}")
    ensure_schema(database, info.path, target=1)
    assert current_version(database) == 1
    assert not database.table_exists("incident_fts")
    old = incidents.create_incident({"title": "Scanner gateway unreachable"})
    database.close()

    database, info = connect(f"sqlite:///{path}")
    before, after = ensure_schema(database, info.path)
    assert (before, after) == (1, LATEST_VERSION)
    assert Incident.get_by_id(old.id).title == "Scanner gateway unreachable"
    assert _fts_hits("scanner") == 1  # the migration indexed the existing rows
    backups = list(tmp_path.glob("old.db.v1-*.bak"))
    assert len(backups) == 1
    copy = sqlite3.connect(backups[0])
    assert copy.execute("SELECT value FROM schema_info").fetchone() == ("1",)
    assert copy.execute("SELECT count(*) FROM incident").fetchone() == (1,)
    copy.close()
    database.close()


def test_pragmas_wal_and_foreign_keys(sqlite_db):
    assert db.obj.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.obj.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def test_same_schema_on_both_backends(db):
    from itsmdesk.models import ALL_MODELS

    for model in ALL_MODELS:
        assert db_table_exists(model._meta.table_name), model


def db_table_exists(name: str) -> bool:
    from itsmdesk.models import db as proxy

    return proxy.obj.table_exists(name)
