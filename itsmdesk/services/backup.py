"""Backing up and restoring an SQLite database file safely, even while others write to it.

Backup: ``VACUUM INTO`` a temporary file in the target's folder.  It reads one snapshot of the
database in one step (a read transaction: writers go on, and it never restarts as the online
backup API does on every write to the source, which under two busy writers never finished
while the WAL grew past a gigabyte).  The copy is then fsynced and renamed over the target
name atomically, so the target is always either the previous backup or the whole new one.
The temporary file is created 0600 (a copy of every record) and named
``.TARGET.itsmdesk-tmp-PID-RANDOM``: a later backup removes one left by a killed run, and
restore refuses it by name.

Restore: the file must be an itsmdesk database (SQLite integrity check, a schema version this
program understands, the journal's hash chain sound).  A safety backup of the current database
is taken first; the restored copy is written beside the database, fsynced and renamed over it
while this process holds the database alone.  "Alone" is proven by switching the database out
of WAL mode (SQLite refuses while any other connection has it open) and holding an EXCLUSIVE
lock across the rename, which also removes the old file's -wal and -shm so they can never be
replayed onto the restored one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import peewee as pw

from itsmdesk.errors import N_, ItsmError
from itsmdesk.models.database import create_private

TEMP_MARK = ".itsmdesk-tmp-"
# (with SQLite's own -journal/-wal/-shm of such a file, which VACUUM INTO may leave too)
_TEMP_NAME = re.compile(r"^\..+\.itsmdesk-tmp-(\d+)-[0-9a-f]+(-journal|-wal|-shm)?$")
_HEADER = b"SQLite format 3\x00"


class BackupError(ItsmError):
    """A backup or restore refused or failed; nothing was replaced."""


# -- files ------------------------------------------------------------------------------------------
def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    try:
        _fsync(folder)
    except OSError:  # (Windows cannot open a folder; its rename is durable enough)
        pass


def is_temp_name(path: Path) -> bool:
    """A temporary file of a backup or restore in progress (or killed): never a backup."""
    return bool(_TEMP_NAME.match(path.name)) or path.name.endswith(".partial")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (exists, another user's)
        return True
    return True


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove what a killed backup to ``target`` left: its temporary files whose process is
    gone, and the ``.partial`` file older versions wrote."""
    removed = []
    legacy = target.with_name(target.name + ".partial")
    candidates = list(target.parent.glob(f".{glob_escape(target.name)}{TEMP_MARK}*"))
    candidates += [legacy] if legacy.exists() else []
    for path in candidates:
        match = _TEMP_NAME.match(path.name)
        if match and _alive(int(match.group(1))):
            continue
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def snapshot(source: Path, target: Path) -> Path:
    """A consistent copy of the SQLite file ``source`` at ``target`` (0600), written to a
    temporary file in the same folder and renamed into place: readers and writers of
    ``source`` go on meanwhile, and the target is never half written."""
    remove_stale_temps(target)
    tmp = _temp_beside(target)
    try:
        create_private(tmp)
        con = sqlite3.connect(str(source), timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute("VACUUM INTO ?", (str(tmp),))
        finally:
            con.close()
        os.chmod(tmp, 0o600)
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


# -- what a file holds ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verified:
    """A file found to be an itsmdesk database: its schema version and journal length."""

    path: Path
    schema_version: int
    journal_rows: int


def verify(path: Path) -> Verified:
    """Refuse with a sentence unless ``path`` is an itsmdesk database this program can open:
    SQLite's integrity check passes, its schema is not newer than ours, its journal's hash chain
    holds.  Read-only: the file is not changed."""
    from itsmdesk.models import journal_guard
    from itsmdesk.models.migrations import LATEST_VERSION

    path = Path(path)
    if is_temp_name(path):
        raise BackupError(N_("{path} is the unfinished copy of an interrupted backup or restore, "
                             "not a backup; nothing was restored"), path=str(path))
    if not path.is_file():
        raise BackupError(N_("{path} is not a file; nothing was restored"), path=str(path))
    with open(path, "rb") as fh:
        if fh.read(16) != _HEADER:
            raise BackupError(N_("{path} is not an SQLite database (an itsmdesk backup is one); "
                                 "nothing was restored"), path=str(path))
    database = pw.SqliteDatabase(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        database.connect()
        rows = database.execute_sql("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            raise BackupError(N_("{path} is damaged (SQLite's integrity check: {detail}); "
                                 "nothing was restored"), path=str(path), detail=rows[0][0])
        tables = set(database.get_tables())
        if "schema_info" not in tables:
            raise BackupError(N_("{path} is not an itsmdesk database (it has no schema "
                                 "version); nothing was restored"), path=str(path))
        row = database.execute_sql(
            "SELECT value FROM schema_info WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > LATEST_VERSION:
            raise BackupError(N_("{path} has schema version {found}, newer than this itsmdesk "
                                 "understands ({ours}); upgrade itsmdesk first. Nothing was "
                                 "restored"), path=str(path), found=version, ours=LATEST_VERSION)
        count = 0
        if journal_guard.TABLE in tables:
            count = database.execute_sql(f'SELECT count(*) FROM "{journal_guard.TABLE}"').fetchone()[0]
            columns = {c.name for c in database.get_columns(journal_guard.TABLE)}
            broken = journal_guard.first_broken(database) if "chain" in columns else None
            if broken is not None:
                raise BackupError(N_("{path}: journal row {row} was changed or removed after it "
                                     "was written (the hash chain breaks there); nothing was "
                                     "restored"), path=str(path), row=broken)
    except sqlite3.DatabaseError as exc:
        raise BackupError(N_("{path} cannot be read as a database ({reason}); nothing was "
                             "restored"), path=str(path), reason=str(exc)) from None
    except pw.DatabaseError as exc:
        raise BackupError(N_("{path} cannot be read as a database ({reason}); nothing was "
                             "restored"), path=str(path), reason=str(exc)) from None
    finally:
        database.close()
    return Verified(path, version, count)


# -- restore ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    source: Path
    database: Path
    safety_backup: Path | None
    schema_version: int


def restore(source: Path, database: Path) -> Restored:
    """Replace the SQLite database ``database`` with the backup ``source``.

    The caller must have closed its own connections to ``database``; any other connection (an
    itsmdesk window, a CLI command) makes this refuse with a sentence, nothing replaced.  The
    current database is saved first as ``NAME.before-restore-STAMP.bak`` beside it.
    """
    source, database = Path(source), Path(database)
    checked = verify(source)
    if database.exists() and source.resolve() == database.resolve():
        raise BackupError(N_("{path} is the database itself; give a backup file"),
                          path=str(source))
    staged = _temp_beside(database)
    remove_stale_temps(database)
    try:
        snapshot(source, staged)  # (a clean copy: the backup's own -wal folded in)
        safety = None
        if database.exists() and database.stat().st_size > 0:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            safety = snapshot(database, database.with_name(
                f"{database.name}.before-restore-{stamp}.bak"))
        _swap_in(staged, database)
    finally:
        staged.unlink(missing_ok=True)
    return Restored(source, database, safety, checked.schema_version)


def refuse_postgresql() -> BackupError:
    return BackupError(N_("A PostgreSQL database is restored with pg_restore from a backup "
                          "pg_dump wrote: pg_restore --clean --if-exists -d DBNAME FILE"))


def restore_open(info, source: Path) -> Restored:  # noqa: ANN001 - a DbInfo
    """Restore over the database this process has open (the desktop app, on its writer thread
    while its readers hold no connection): close this thread's connection, restore, reconnect,
    and upgrade an older backup's schema as opening it would."""
    from itsmdesk.models.base import db
    from itsmdesk.models.migrations import LATEST_VERSION, ensure_schema
    from itsmdesk.services.session import close_thread_connection

    if info.backend != "sqlite" or info.path is None:
        raise refuse_postgresql()
    verify(source)  # (refused before anything is closed)
    close_thread_connection()
    try:
        done = restore(source, info.path)
    finally:
        db.obj.connect(reuse_if_open=True)
    if done.schema_version < LATEST_VERSION:
        ensure_schema(db.obj, info.path)
    return done


def _swap_in(staged: Path, database: Path) -> None:
    """Rename ``staged`` over ``database`` while no other connection has it open."""
    if not database.exists():
        os.replace(staged, database)
        _fsync_folder(database.parent)
        return
    con = sqlite3.connect(str(database), timeout=0.5, isolation_level=None)
    try:
        try:
            # SQLite leaves WAL mode only when no other connection has the file open; doing so
            # checkpoints and deletes the old -wal and -shm.
            mode = con.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if str(mode).lower() != "delete":
                raise sqlite3.OperationalError("database is locked")
            con.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise BackupError(N_("Cannot restore over {path}: {reason}; nothing was "
                                     "replaced"), path=str(database), reason=str(exc)) from None
            raise BackupError(N_("{path} is open in another program (an itsmdesk window or "
                                 "command); close it and restore again. Nothing was replaced"),
                              path=str(database)) from None
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.replace(staged, database)
        _fsync_folder(database.parent)
        con.execute("ROLLBACK")
    finally:
        con.close()
