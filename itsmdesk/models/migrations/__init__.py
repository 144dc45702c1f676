"""Schema versions and ordered migrations.

A fresh database gets the tables of the current models (schema 1) and then every later
migration in order.  An older database gets the migrations after its version, each in one
transaction, after a backup copy of an SQLite file.  A database newer than this program is
refused untouched.  Migrations must be idempotent against the current models (a column the
models already create is not added twice) because a fresh database runs them too.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import peewee as pw

from itsmdesk.errors import N_, SchemaTooNewError
from itsmdesk.models import ALL_MODELS
from itsmdesk.models import fts as fts_schema
from itsmdesk.models.base import SchemaInfo


def _m0002_full_text_search(database: pw.Database) -> None:
    """Full-text search over incidents, work log, articles, known errors, problems, changes."""
    fts_schema.create(database)


_OLD_AVAILABILITY_INDEX = "incident_kind_impact_opened_at_ci_id_service_id_outage_s_f94e1c7"


def _m0003_outage_indexes(database: pw.Database) -> None:
    """Availability reads outages from two partial covering indexes (by CI, by service) instead
    of one wide index over every incident."""
    from itsmdesk.models.base import NamedIndex
    from itsmdesk.models.incident import Incident

    for index in Incident._meta.indexes:
        if isinstance(index, NamedIndex) and index._name.startswith("incident_outage_by_"):
            database.execute(Incident._schema._create_index(index, safe=True))
    database.execute_sql(f'DROP INDEX IF EXISTS "{_OLD_AVAILABILITY_INDEX}"')


_OLD_RELATION_TARGET_INDEX = "relation_target_id_propagates_source_id_type_redundant"


def _m0004_graph_index(database: pw.Database) -> None:
    """The integer graph index the impact walk keys on (models/graph_index.py): gid columns,
    their values, the triggers that keep them, and the relation indexes over them."""
    from itsmdesk.models import graph_index
    from itsmdesk.models.cmdb import CI, Relation

    graph_index.install(database)
    for model in (CI, Relation):
        for index in model._meta.fields_to_index():
            database.execute(model._schema._create_index(index, safe=True))
    database.execute_sql(f'DROP INDEX IF EXISTS "{_OLD_RELATION_TARGET_INDEX}"')


def _m0005_setting_version(database: pw.Database) -> None:
    """Settings are versioned records (optimistic locking through the write funnel)."""
    from itsmdesk.models.base import Setting

    columns = {c.name for c in database.get_columns(Setting._meta.table_name)}
    if "version" not in columns:
        database.execute_sql(f'ALTER TABLE "{Setting._meta.table_name}" '
                             "ADD COLUMN version INTEGER NOT NULL DEFAULT 1")


def _m0006_cab_decision_reason(database: pw.Database) -> None:
    """A CAB agenda item keeps the reason for a decision that differs from the votes."""
    from itsmdesk.models.change import CABAgendaItem

    table = CABAgendaItem._meta.table_name
    if "decision_reason" not in {c.name for c in database.get_columns(table)}:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN decision_reason TEXT')


def _m0007_announcement_audience(database: pw.Database) -> None:
    """An announcement says whom it is for: everyone or IT staff, at one site or every site."""
    from itsmdesk.models.servicedesk import Announcement

    table = Announcement._meta.table_name
    columns = {c.name for c in database.get_columns(table)}
    pg = isinstance(database, pw.PostgresqlDatabase)
    if "audience" not in columns:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN audience VARCHAR(16) NOT NULL '
                             "DEFAULT 'everyone'")
    if "site_id" not in columns:
        kind = "UUID" if pg else "TEXT"
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN site_id {kind} NULL '
                             'REFERENCES "site" (id) ON DELETE SET NULL')


def _m0008_accounts(database: pw.Database) -> None:
    """People sign in: a login name and (local SQLite) a password hash per person, and the roles
    each person holds."""
    from itsmdesk.models.people import Person, PersonRole

    table = Person._meta.table_name
    columns = {c.name for c in database.get_columns(table)}
    if "login" not in columns:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN login VARCHAR(63) NULL')
        database.execute_sql(f'CREATE UNIQUE INDEX IF NOT EXISTS "person_login" ON "{table}" (login)')
    if "password_hash" not in columns:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN password_hash TEXT NULL')
    database.create_tables([PersonRole], safe=True)


def _m0009_live_notify(database: pw.Database) -> None:
    """PostgreSQL: every committed journal insert sends a NOTIFY naming what changed (live
    refresh on the other workstations, models/pg_notify.py).  Nothing on SQLite."""
    from itsmdesk.models import pg_notify

    pg_notify.install(database)


def _m0010_journal_guard(database: pw.Database) -> None:
    """The journal cannot be edited afterwards: a ``chain`` column (sha256 hash chain over the
    rows, filled for the rows already there) and, on SQLite, triggers refusing UPDATE and
    DELETE (models/journal_guard.py; PostgreSQL: grants, see models/pg_security.py)."""
    from itsmdesk.models import journal_guard

    journal_guard.install(database)


def _m0011_sla_per_service_and_team(database: pw.Database) -> None:
    """SLA targets per service (an SLA) and per team (an OLA): ``service_id`` and ``team_id``
    on the SLA definitions, and their index without the old uniqueness of (kind, priority)."""
    from itsmdesk.models.servicedesk import SLADefinition

    table = SLADefinition._meta.table_name
    columns = {c.name for c in database.get_columns(table)}
    if "service_id" not in columns:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN service_id '
                             f'{"UUID" if isinstance(database, pw.PostgresqlDatabase) else "TEXT"} '
                             'NULL REFERENCES "ci" (id) ON DELETE CASCADE')
    if "team_id" not in columns:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN team_id '
                             f'{"UUID" if isinstance(database, pw.PostgresqlDatabase) else "TEXT"} '
                             'NULL REFERENCES "team" (id) ON DELETE CASCADE')
    database.execute_sql(f'DROP INDEX IF EXISTS "{table}_ticket_kind_priority"')
    for index in SLADefinition._meta.fields_to_index():
        database.execute(SLADefinition._schema._create_index(index, safe=True))


# Data steps that need the write funnel (services), which models may not import: a services
# module registers its step here by version (services/unique_keys.py: 12); run before the
# migration of that version, inside its transaction.
DATA_STEPS: dict[int, Callable[[pw.Database], object]] = {}


def create_external_key_indexes(database: pw.Database) -> None:
    """One partial unique index per table with external keys (SQLite and PostgreSQL alike)."""
    for model in ALL_MODELS:
        if "external_key" in model._meta.fields:
            table = model._meta.table_name
            database.execute_sql(f'CREATE UNIQUE INDEX IF NOT EXISTS "{table}_external_key_unique" '
                                 f'ON "{table}" (external_key) WHERE external_key IS NOT NULL')


def _m0012_unique_external_keys(database: pw.Database) -> None:
    """External keys unique per kind (two imports at once could double every record): records
    that already share a key are resolved first (the oldest keeps it, the others become
    KEY#dup-N, journalled: services/unique_keys.py), then the partial unique indexes."""
    step = DATA_STEPS.get(12)
    if step is None:  # pragma: no cover - services/__init__ registers it
        raise RuntimeError("migration 12 needs itsmdesk.services.unique_keys imported")
    step(database)
    create_external_key_indexes(database)


def _m0015_outgoing_mail(database: pw.Database) -> None:
    """Outgoing mail: the outbox, subscriptions of people to business services, and the
    language a person is mailed in."""
    from itsmdesk.models.mail_outbox import MailOutbox, ServiceSubscription
    from itsmdesk.models.people import Person

    database.create_tables([MailOutbox, ServiceSubscription], safe=True)
    table = Person._meta.table_name
    if "language" not in {c.name for c in database.get_columns(table)}:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN language VARCHAR(8) NULL')


def _m0013_imported_fields_and_interactions(database: pw.Database) -> None:
    """What other tools' exports carry: an incident's caused-by CI, reopen time, reassignments
    and handle time; a change's open time, requested end and CAB approval; and service desk
    interactions (calls, e-mails) as a record kind of their own."""
    from itsmdesk.models.change import Change
    from itsmdesk.models.incident import Incident, Interaction

    pg = isinstance(database, pw.PostgresqlDatabase)
    key, time, yes_no, real = (("UUID", "TIMESTAMP", "BOOLEAN", "DOUBLE PRECISION") if pg
                               else ("TEXT", "DATETIME", "INTEGER", "REAL"))
    for model, adds in (
            (Incident, {"caused_by_ci_id": f'{key} NULL REFERENCES "ci" (id) ON DELETE SET NULL',
                        "reopened_at": f"{time} NULL", "reassignments": "INTEGER NULL",
                        "handle_hours": f"{real} NULL"}),
            (Change, {"opened_at": f"{time} NULL", "requested_end": f"{time} NULL",
                      "cab_approval_needed": f"{yes_no} NULL"})):
        table = model._meta.table_name
        columns = {c.name for c in database.get_columns(table)}
        for column, kind in adds.items():
            if column not in columns:
                database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {column} {kind}')
    database.create_tables([Interaction], safe=True)
    create_external_key_indexes(database)  # (the new table's, as schema 12 made the others)


def _m0014_mail(database: pw.Database) -> None:
    """E-mail intake: the mail ledger (one row per mail taken in, its Message-ID unique)."""
    from itsmdesk.models.mail import MailMessage

    database.create_tables([MailMessage], safe=True)


# (version, description, function).  Version 1 is the base tables.
MIGRATIONS: list[tuple[int, str, Callable[[pw.Database], None]]] = [
    (2, "full-text search", _m0002_full_text_search),
    (3, "availability outage indexes", _m0003_outage_indexes),
    (4, "CMDB graph index", _m0004_graph_index),
    (5, "versioned settings", _m0005_setting_version),
    (6, "reason for a CAB decision against the votes", _m0006_cab_decision_reason),
    (7, "announcement audience and site", _m0007_announcement_audience),
    (8, "accounts: login, password hash, roles", _m0008_accounts),
    (9, "live refresh: NOTIFY on every journal insert (PostgreSQL)", _m0009_live_notify),
    (10, "journal guard: append-only triggers and hash chain (SQLite)", _m0010_journal_guard),
    (11, "SLA targets per service and OLAs per team", _m0011_sla_per_service_and_team),
    (12, "external keys unique per kind", _m0012_unique_external_keys),
    (13, "imported fields (caused-by CI, reopen, CAB...) and interactions",
     _m0013_imported_fields_and_interactions),
    (14, "e-mail intake: the mail ledger", _m0014_mail),
    (15, "outgoing mail: outbox, service subscriptions, person language", _m0015_outgoing_mail),
]
LATEST_VERSION = MIGRATIONS[-1][0] if MIGRATIONS else 1


def current_version(database: pw.Database) -> int | None:
    """The stored schema version, or None for a database with no itsmdesk schema."""
    if not database.table_exists(SchemaInfo._meta.table_name):
        return None
    row = SchemaInfo.select().where(SchemaInfo.key == "schema_version").first()
    return int(row.value) if row else None


def _set_version(version: int) -> None:
    (SchemaInfo.insert(key="schema_version", value=str(version))
     .on_conflict(conflict_target=[SchemaInfo.key], update={SchemaInfo.value: str(version)})
     .execute())


def create_base(database: pw.Database) -> None:
    """The base tables, in one write transaction; nothing when another process opening the
    same new file at the same moment made them first."""
    from itsmdesk.models.write_lock import write_transaction

    with write_transaction(database):
        if current_version(database) is not None:
            return
        database.create_tables(ALL_MODELS, safe=True)
        _set_version(1)


def backup_sqlite(path: Path, from_version: int) -> Path:
    """A consistent copy of an SQLite file next to it: ``VACUUM INTO`` a temporary file (named as
    services/backup.py names them, so a killed run's leftover is never taken for a backup),
    fsynced and renamed into place."""
    import os

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.v{from_version}-{stamp}.bak")
    tmp = target.with_name(f".{target.name}.itsmdesk-tmp-{os.getpid()}-0")
    from itsmdesk.models.database import create_private

    tmp.unlink(missing_ok=True)
    create_private(tmp)  # (0600: a copy of every record)
    try:
        src = sqlite3.connect(str(path))
        try:
            src.execute("VACUUM INTO ?", (str(tmp),))
        finally:
            src.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _refuse_foreign(database: pw.Database, sqlite_path: Path | None) -> None:
    """A database without our schema_info but with tables belongs to another application (or is
    not a database we made): refused before anything is written to it."""
    tables = sorted(t for t in database.get_tables() if not t.startswith("sqlite_"))
    if tables:
        from itsmdesk.models.database import foreign_database_error

        raise foreign_database_error(
            str(sqlite_path) if sqlite_path is not None else str(database.database), tables)


def ensure_schema(database: pw.Database, sqlite_path: Path | None = None,
                  target: int | None = None, progress: Callable[[str], None] | None = None
                  ) -> tuple[int | None, int]:
    """Create or upgrade; return (version before, version after)."""
    target = LATEST_VERSION if target is None else target
    before = current_version(database)
    if before is not None and before > LATEST_VERSION:
        raise SchemaTooNewError(
            N_("This database has schema version {found}, newer than this itsmdesk "
               "understands ({ours}); upgrade itsmdesk. The database was not changed."),
            found=before, ours=LATEST_VERSION)
    if before is None:
        _refuse_foreign(database, sqlite_path)
        create_base(database)
        version = 1
    else:
        version = before
        if version < target and sqlite_path is not None and sqlite_path.exists():
            saved = backup_sqlite(sqlite_path, version)
            if progress:
                progress(f"backup written to {saved}")
    from itsmdesk.models.write_lock import write_transaction

    for number, description, func in MIGRATIONS:
        if version < number <= target:
            with write_transaction(database):
                # the version read again under the write lock: another process opening the
                # file at the same moment may have run this step already
                if (current_version(database) or 1) < number:
                    func(database)
                    _set_version(number)
            version = number
            if progress and before is not None:  # (a new database is not "upgraded")
                progress(f"migrated to schema {number}: {description}")
    return before, version


def schema_fingerprint() -> str:
    """A short hash of the models' columns: keys caches of generated databases."""
    import hashlib

    h = hashlib.sha1(str(LATEST_VERSION).encode())
    for model in ALL_MODELS:
        h.update(model._meta.table_name.encode())
        for field in model._meta.sorted_fields:
            h.update(f"{field.column_name}:{type(field).__name__}".encode())
        for idx in model._meta.indexes:
            h.update(repr(idx).encode())
    return h.hexdigest()[:10]
