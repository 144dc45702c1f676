"""A PostgreSQL database secured with ``itsmdesk admin setup-shared``, made and dropped for a
test module (tests/test_pg_security.py, tests/test_sync_secured.py), and the CLI run as a
person would run it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HOST, PORT = "127.0.0.1", 5432
SUPER = f"postgresql://postgres@{HOST}:{PORT}"
ROOT = Path(__file__).resolve().parents[1]


def superuser():  # noqa: ANN201 - a psycopg2 connection
    """The server's superuser (autocommit); the test is skipped when there is none."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        conn = psycopg2.connect(f"{SUPER}/postgres", connect_timeout=3)
    except psycopg2.Error as exc:
        pytest.skip(f"no PostgreSQL superuser at {HOST}:{PORT}: {str(exc).strip()}")
    conn.autocommit = True
    return conn


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``itsmdesk ARGS`` in English, with only the database, login and password ``env`` gives."""
    full = dict(os.environ, ITSMDESK_LANG="en", **(env or {}))
    for name in ("ITSMDESK_DB", "ITSMDESK_USER", "ITSMDESK_PASSWORD"):
        if name not in (env or {}):
            full.pop(name, None)
    full["PYTHONPATH"] = os.pathsep.join([str(ROOT), full.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "itsmdesk", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=180, check=False)


@contextlib.contextmanager
def secured_database(dbname: str, prefix: str, tag: str, admin_login: str,
                     password: str) -> Iterator[None]:
    """Create ``dbname``, run setup-shared on it as the superuser (roles named ``prefix_*``,
    the administrator ``admin_login`` with ``password`` from the environment), and drop the
    database and every role ending in ``_tag`` or starting with ``prefix_`` afterwards."""
    from itsmdesk.models import db

    su = superuser()
    with su.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{dbname}"')
    saved = db.obj
    try:
        done = cli("admin", "setup-shared", f"{SUPER}/{dbname}", "--admin", admin_login,
                   "--name", "Ada Admin", "--prefix", prefix,
                   env={"ITSMDESK_NEW_PASSWORD": password})
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr
        yield
    finally:
        try:
            if db.obj is not None and db.obj is not saved:
                db.obj.close()
        except Exception:  # noqa: BLE001
            pass
        db.initialize(saved)
        with su.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
            cur.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            cur.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s OR rolname LIKE %s "
                        "ORDER BY rolname LIKE %s", (f"%\\_{tag}", f"{prefix}\\_%",
                                                      f"{prefix}\\_%"))
            for (role,) in cur.fetchall():
                cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        su.close()
