"""Test fixtures: one fresh database per test, on SQLite and on PostgreSQL.

``db`` is parametrised over both back ends, so every data-layer test runs twice.  PostgreSQL gets
one fresh database per test session (dropped afterwards) and its tables are emptied between
tests.  Without a server the PostgreSQL half is skipped with a reason, except under CI
(``CI=true``), where a missing server fails the run.

GUI tests use ``gui_db`` (SQLite) and ``ctx`` (an AppContext whose worker runs synchronously).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ITSMDESK_LANG", "en")

PG_CANDIDATES = [u for u in (
    os.environ.get("ITSMDESK_TEST_PG"),
    "postgresql://itsmdesk:itsmdesk@127.0.0.1:5432/postgres",
    "postgresql://postgres@127.0.0.1:5432/postgres",
) if u]

FIXTURES = Path(__file__).parent / "fixtures"


def _admin_connection():
    import psycopg2

    errors = []
    for url in PG_CANDIDATES:
        try:
            conn = psycopg2.connect(url, connect_timeout=3)
            conn.autocommit = True
            return conn, url
        except psycopg2.Error as exc:
            errors.append(f"{url.split('@')[-1]}: {str(exc).strip().splitlines()[0]}")
    return None, "; ".join(errors)


@pytest.fixture(scope="session")
def pg_url():
    conn, detail = _admin_connection()
    if conn is None:
        message = f"PostgreSQL not reachable ({detail})"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    admin_url = detail
    name = f"itsmdesk_test_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from itsmdesk.models import db

    try:
        if db.obj is not None:
            db.obj.close()
    except Exception:  # noqa: BLE001
        pass
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()


_pg_schema_ready: dict[str, bool] = {}


def _empty_pg(database) -> None:
    """Delete every row, children first (much faster than TRUNCATE for the few rows a test
    writes; TRUNCATE rewrites each table's files)."""
    import peewee as pw

    from itsmdesk.models import ALL_MODELS
    from itsmdesk.models.base import SchemaInfo

    with database.atomic():
        for model in reversed(pw.sort_models(ALL_MODELS)):
            if model is not SchemaInfo:
                database.execute_sql(f'DELETE FROM "{model._meta.table_name}"')


def open_test_db(url: str):
    from itsmdesk.services.session import open_database

    return open_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    """An empty, current-schema database on each back end; yields its DbInfo."""
    if request.param == "sqlite":
        database, info = open_test_db(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        url = request.getfixturevalue("pg_url")
        from itsmdesk.models.database import connect

        if not _pg_schema_ready.get(url):
            database, info = open_test_db(url)
            _pg_schema_ready[url] = True
        else:
            database, info = connect(url)
        _empty_pg(database)
        from itsmdesk.services.cmdb.cis import ensure_standard_classes

        ensure_standard_classes()
    yield info
    database.close()


@pytest.fixture
def swedish(qapp):
    """The Swedish translators on the test application, removed again afterwards."""
    from PySide6.QtCore import QCoreApplication

    from itsmdesk.i18n import install_translators, remove_translators

    translators = install_translators(qapp, "sv_SE")
    assert translators
    try:
        yield qapp
    finally:
        remove_translators(qapp, translators)
    assert QCoreApplication.translate("QueuePanel", "New ticket") == "New ticket"


@pytest.fixture
def sqlite_db(tmp_path):
    database, info = open_test_db(f"sqlite:///{tmp_path / 'test.db'}")
    yield info
    database.close()


_demo_template: dict[str, Path] = {}


@pytest.fixture
def demo_db(tmp_path, tmp_path_factory):
    """A copy of the small demo database (built once per session) on SQLite."""
    if "small" not in _demo_template:
        folder = tmp_path_factory.mktemp("demo-template")
        database, _info = open_test_db(f"sqlite:///{folder / 'demo.db'}")
        from itsmdesk.demo import builder as demo

        demo.generate("small", 42)
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        _demo_template["small"] = folder / "demo.db"
    target = tmp_path / "demo.db"
    shutil.copy(_demo_template["small"], target)
    database, info = open_test_db(f"sqlite:///{target}")
    yield info
    database.close()


@pytest.fixture
def ctx(qapp, sqlite_db):
    """An AppContext on an empty SQLite database, background work made synchronous."""
    from itsmdesk.views.context import AppContext

    context = AppContext(sqlite_db, synchronous=True)
    yield context


@pytest.fixture
def demo_ctx(qapp, demo_db):
    from itsmdesk.views.context import AppContext

    context = AppContext(demo_db, synchronous=True)
    yield context


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item) -> None:  # noqa: ANN001
    """Once a GUI test started worker threads, cyclic garbage is collected on the GUI thread
    by a timer (itsmdesk.views.gui_gc); tests that run no event loop get that collection here,
    between tests, so the garbage of a long run does not pile up."""
    import sys

    gui_gc = sys.modules.get("itsmdesk.views.gui_gc")
    if gui_gc is not None:
        gui_gc.collect_due()
