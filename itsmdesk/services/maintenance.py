"""Backups and integrity checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee as pw

from itsmdesk.errors import N_, ItsmError
from itsmdesk.models import ALL_MODELS, db
from itsmdesk.models.database import DbInfo


def backup(info: DbInfo, target: Path) -> Path:
    """A consistent copy while the app may be running.

    SQLite: the online backup API (readers and writers may go on).  PostgreSQL: ``pg_dump`` in
    custom format (a consistent snapshot by MVCC).
    """
    target = Path(target)
    if target.exists() and target.is_dir():
        raise ItsmError(N_("{path} is a folder; give a file name for the backup"), path=str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ItsmError(N_("Cannot create {path}: {reason}"), path=str(target.parent),
                        reason=exc.strerror) from None
    if info.backend == "sqlite":
        if info.path is None:
            raise ItsmError(N_("An in-memory database cannot be backed up"))
        tmp = target.with_name(target.name + ".partial")
        try:
            src = sqlite3.connect(str(info.path))
            dst = sqlite3.connect(str(tmp))
            with dst:
                src.backup(dst, pages=4096)
            dst.close()
            src.close()
            tmp.replace(target)
        except (sqlite3.Error, OSError) as exc:
            tmp.unlink(missing_ok=True)
            raise ItsmError(N_("Backup to {path} failed: {reason}"), path=str(target),
                            reason=str(exc)) from None
        return target
    import os
    import shutil
    import subprocess

    if not shutil.which("pg_dump"):
        raise ItsmError(N_("pg_dump is not installed; install the PostgreSQL client tools"))
    env = dict(os.environ)
    if info.password:
        env["PGPASSWORD"] = info.password
    cmd = ["pg_dump", "-Fc", "-h", info.host or "localhost", "-p", str(info.port or 5432),
           "-f", str(target), info.dbname or ""]
    if info.user:
        cmd[1:1] = ["-U", info.user]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ItsmError(N_("pg_dump failed: {reason}"), reason=result.stderr.strip().splitlines()[-1]
                        if result.stderr.strip() else result.returncode)
    return target


def check(info: DbInfo) -> list[str]:
    """Integrity of the file and of the references between records: a list of problems."""
    problems: list[str] = []
    database: pw.Database = db.obj
    if info.backend == "sqlite":
        rows = database.execute_sql("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            problems += [f"integrity: {r[0]}" for r in rows[:20]]
        for table, rowid, parent, _fk in database.execute_sql("PRAGMA foreign_key_check").fetchall()[:50]:
            problems.append(f"{table} row {rowid}: points at a missing {parent}")
    else:
        for model in ALL_MODELS:
            for fk in model._meta.refs:
                parent = fk.rel_model
                child_t, parent_t = model._meta.table_name, parent._meta.table_name
                sql = (f'SELECT count(*) FROM "{child_t}" c LEFT JOIN "{parent_t}" p '
                       f'ON c."{fk.column_name}" = p."{fk.rel_field.column_name}" '
                       f'WHERE c."{fk.column_name}" IS NOT NULL AND p."{fk.rel_field.column_name}" IS NULL')
                n = database.execute_sql(sql).fetchone()[0]
                if n:
                    problems.append(f"{child_t}.{fk.column_name}: {n} row(s) point at a missing {parent_t}")
    # References must be unique and well formed (unique indexes guard this; check anyway after sync).
    for model in ALL_MODELS:
        if "ref" in model._meta.fields:
            t = model._meta.table_name
            dupes = database.execute_sql(
                f'SELECT ref, count(*) FROM "{t}" GROUP BY ref HAVING count(*) > 1 LIMIT 10').fetchall()
            problems += [f"{t}: reference {ref} used {n} times" for ref, n in dupes]
    return problems
