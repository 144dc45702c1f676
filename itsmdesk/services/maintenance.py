"""Backups and integrity checks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw

from itsmdesk.errors import N_, ItsmError
from itsmdesk.models import ALL_MODELS, db, graph_index, journal_guard
from itsmdesk.models.database import DbInfo, create_private


def backup(info: DbInfo, target: Path) -> Path:
    """A consistent copy while the app may be running, written to a temporary file beside
    ``target`` and renamed into place (0600), so ``target`` is never half written.

    SQLite: ``VACUUM INTO`` (one snapshot in one step; services/backup.py).  PostgreSQL:
    ``pg_dump`` in custom format (a consistent snapshot by MVCC; ``pg_restore`` reads it).
    """
    from itsmdesk.services import backup as backups

    target = Path(target)
    if target.exists() and target.is_dir():
        raise ItsmError(N_("{path} is a folder; give a file name for the backup"), path=str(target))
    if backups.is_temp_name(target):
        raise ItsmError(N_("{path} is the name of an unfinished backup's temporary file; give "
                           "another name"), path=str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ItsmError(N_("Cannot create {path}: {reason}"), path=str(target.parent),
                        reason=exc.strerror) from None
    if info.backend == "sqlite":
        if info.path is None:
            raise ItsmError(N_("An in-memory database cannot be backed up"))
        try:
            return backups.snapshot(info.path, target)
        except (sqlite3.Error, OSError) as exc:
            raise ItsmError(N_("Backup to {path} failed: {reason}"), path=str(target),
                            reason=str(exc)) from None
    return _pg_dump(info, target)


def _pg_dump(info: DbInfo, target: Path) -> Path:
    import os
    import shutil
    import subprocess

    from itsmdesk.services import backup as backups

    if not shutil.which("pg_dump"):
        raise ItsmError(N_("A PostgreSQL database is backed up with pg_dump, which is not "
                           "installed here; install the PostgreSQL client tools, or run "
                           "pg_dump -Fc -f FILE DBNAME on the server"))
    env = dict(os.environ)
    if info.password:
        env["PGPASSWORD"] = info.password
    backups.remove_stale_temps(target)
    tmp = target.with_name(f".{target.name}{backups.TEMP_MARK}{os.getpid()}-0")
    cmd = ["pg_dump", "-Fc", "-h", info.host or "localhost", "-p", str(info.port or 5432),
           "-f", str(tmp), info.dbname or ""]
    if info.user:
        cmd[1:1] = ["-U", info.user]
    try:
        create_private(tmp, reset=True)
    except OSError as exc:
        raise ItsmError(N_("Cannot create {path}: {reason}"), path=str(target),
                        reason=exc.strerror) from None
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ItsmError(N_("pg_dump failed: {reason}"),
                            reason=result.stderr.strip().splitlines()[-1]
                            if result.stderr.strip() else result.returncode)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`check`: an N_() template and its values (shown in the user's
    language); ``str()`` gives the English text."""

    template: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**self.params)


def check(info: DbInfo) -> list[Problem]:
    """Integrity of the file, of the references between records and of the CMDB's graph
    index: a list of problems."""
    problems: list[Problem] = []
    database: pw.Database = db.obj
    _refuse_partial_view(database)
    if info.backend == "sqlite":
        rows = database.execute_sql("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            problems += [Problem(N_("integrity: {detail}"), {"detail": r[0]}) for r in rows[:20]]
        for table, rowid, parent, _fk in database.execute_sql("PRAGMA foreign_key_check").fetchall()[:50]:
            problems.append(Problem(N_("{table} row {row}: points at a missing {parent}"),
                                    {"table": table, "row": rowid, "parent": parent}))
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
                    problems.append(Problem(
                        N_("{table}.{column}: {n} row(s) point at a missing {parent}"),
                        {"table": child_t, "column": fk.column_name, "n": n, "parent": parent_t}))
    # References must be unique and well formed (unique indexes guard this; check anyway after sync).
    for model in ALL_MODELS:
        if "ref" in model._meta.fields:
            t = model._meta.table_name
            dupes = database.execute_sql(
                f'SELECT ref, count(*) FROM "{t}" GROUP BY ref HAVING count(*) > 1 LIMIT 10').fetchall()
            problems += [Problem(N_("{table}: reference {ref} used {n} times"),
                                 {"table": t, "ref": ref, "n": n}) for ref, n in dupes]
    problems += key_problems(database)
    problems += value_problems()
    problems += journal_problems(info)
    problems += sla_problems()
    graph = graph_index.problems(database)
    if graph["cis_without_gid"]:
        problems.append(Problem(N_("ci: {n} CI(s) without a graph index entry; impact analysis "
                                   "cannot see them (repair with: itsmdesk check --repair)"),
                                {"n": graph["cis_without_gid"]}))
    if graph["relations_with_stale_gids"]:
        problems.append(Problem(N_("relation: {n} relation(s) whose graph index entries differ "
                                   "from their CIs'; impact analysis follows them wrongly "
                                   "(repair with: itsmdesk check --repair)"),
                                {"n": graph["relations_with_stale_gids"]}))
    return problems


def _refuse_partial_view(database: pw.Database) -> None:
    """A person's login on a shared database sees only the rows row-level security shows them:
    a check from there would report rows as missing that are merely hidden."""
    from itsmdesk.models import pg_security

    if pg_security.secured_prefix(database) is None:
        return
    login, superuser = database.execute_sql(
        "SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not superuser:
        raise ItsmError(N_("Checking a shared database needs the superuser's connection (the "
                           "one setup-shared used): {login} sees only the rows its roles show"),
                        login=login)


def key_problems(database: pw.Database) -> list[Problem]:
    """External keys unique per kind (services/unique_keys.py): a key held twice, a missing
    unique index, records renamed KEY#dup-N when the database was upgraded."""
    from itsmdesk.services import unique_keys

    return [Problem(template, params) for template, params in unique_keys.problems(database)]


def value_problems() -> list[Problem]:
    """Coded fields holding a value their service never writes (services/stored_values.py)."""
    from itsmdesk.services import stored_values

    return [Problem(N_("{table}: {n} record(s) with a {field} that is not allowed, e.g. "
                       "{examples}"), {"table": bad.table, "n": bad.count, "field": bad.field,
                                        "examples": ", ".join(bad.examples)})
            for bad in stored_values.find()]


def journal_problems(info: DbInfo) -> list[Problem]:
    """The journal as written: on SQLite its hash chain holds and its refusing triggers are
    there (models/journal_guard.py); on PostgreSQL the grants keep it (nothing to check here)."""
    database: pw.Database = db.obj
    if info.backend != "sqlite":
        return []
    columns = {c.name for c in database.get_columns(journal_guard.TABLE)}
    if "chain" not in columns:
        return []
    out = []
    broken = journal_guard.first_broken(database)
    if broken is not None:
        out.append(Problem(N_("journal row {row} was changed or removed after it was written "
                              "(the journal's hash chain breaks there)"), {"row": broken}))
    missing = journal_guard.triggers_missing(database)
    if missing:
        out.append(Problem(N_("journal: the triggers that keep it append-only were removed "
                              "({names})"), {"names": ", ".join(missing)}))
    return out


def sla_problems(limit: int = 20) -> list[Problem]:
    """Open tickets whose stored SLA state (dues, state, escalation level) is not what their
    history gives (services/servicedesk/sla.py); tickets only waiting for the next SLA tick are
    fine.  Repair with ``itsmdesk sla refresh``."""
    from itsmdesk.models.base import utcnow
    from itsmdesk.services.servicedesk import sla

    try:
        _checked, drifted = sla.check_open(utcnow())
    except ItsmError as exc:
        return [Problem(N_("SLA: {reason}"), {"reason": str(exc)})]
    out = [Problem(N_("{ref}: stored SLA {stored} but its history gives {computed} (repair "
                      "with: itsmdesk sla refresh)"),
                   {"ref": d.ref, "stored": _sla_text(d.stored), "computed": _sla_text(d.computed)})
           for d in drifted[:limit]]
    if len(drifted) > limit:
        out.append(Problem(N_("SLA: {n} more tickets like these"), {"n": len(drifted) - limit}))
    return out


def _sla_text(fields: dict) -> str:
    due = fields.get("resolution_due")
    return (f"{fields.get('sla_state')}/{fields.get('escalation_level')}, due "
            f"{due:%Y-%m-%d %H:%M}" if due else f"{fields.get('sla_state')}")


def repair_graph_index() -> dict[str, int]:
    """Put the CMDB's graph index right (one transaction, journal-free: the index is derived
    data, not a record); returns the counts of :func:`graph_index.problems` afterwards."""
    return graph_index.repair(db.obj)
