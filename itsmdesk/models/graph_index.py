"""The CMDB's integer graph index: ``ci.gid`` and ``relation.source_gid/target_gid``.

Every CI carries a UUID key (records made at two sites never collide), but walking a graph of
tens of thousands of CIs over 32-character keys makes every index probe and every comparison
cost more than it needs to.  So each CI also gets a small integer, its *gid*, and each relation
carries the gids of its two ends.  The impact walk (services/impact.py) probes and compares
those integers only and turns gids back into UUIDs for its result.

The database keeps them, so no write path (services, CSV and mapped imports, bulk demo data,
raw SQL in a future sync) can forget them:

* SQLite: an AFTER INSERT trigger gives a new CI ``MAX(gid) + 1`` (a bulk writer may assign a
  run of gids itself; the trigger only fills a missing one).  Relation triggers copy the gids of
  source and target on insert when the writer gave none (a bulk import gives them: rewriting
  each fresh row, or even checking it, costs the import a quarter of its time) and whenever
  ``source_id`` or ``target_id`` change.  :func:`problems` finds rows a writer got wrong
  (``itsmdesk check``), :func:`install` puts them right (``itsmdesk check --repair``).
* PostgreSQL: ``ci.gid`` defaults to a sequence; one BEFORE trigger sets a relation's gids.

A gid is local to one database file or server: it is never exported, copied or journalled, and
a replicated row gets a fresh one from the database it lands in.
"""

from __future__ import annotations

import peewee as pw

_SQLITE_TRIGGERS = (
    "DROP TRIGGER IF EXISTS ci_gid_assign",
    """CREATE TRIGGER ci_gid_assign AFTER INSERT ON ci WHEN NEW.gid IS NULL
    BEGIN
        UPDATE ci SET gid = (SELECT COALESCE(MAX(gid), 0) + 1 FROM ci) WHERE rowid = NEW.rowid;
    END""",
    "DROP TRIGGER IF EXISTS relation_gid_assign",
    """CREATE TRIGGER relation_gid_assign AFTER INSERT ON relation
    WHEN NEW.source_gid IS NULL OR NEW.target_gid IS NULL
    BEGIN
        UPDATE relation SET source_gid = (SELECT gid FROM ci WHERE id = NEW.source_id),
                            target_gid = (SELECT gid FROM ci WHERE id = NEW.target_id)
        WHERE rowid = NEW.rowid;
    END""",
    "DROP TRIGGER IF EXISTS relation_gid_follow",
    """CREATE TRIGGER relation_gid_follow AFTER UPDATE OF source_id, target_id ON relation
    BEGIN
        UPDATE relation SET source_gid = (SELECT gid FROM ci WHERE id = NEW.source_id),
                            target_gid = (SELECT gid FROM ci WHERE id = NEW.target_id)
        WHERE rowid = NEW.rowid;
    END""",
)

_POSTGRES_TRIGGERS = (
    "CREATE SEQUENCE IF NOT EXISTS ci_gid_seq OWNED BY ci.gid",
    "SELECT setval('ci_gid_seq', GREATEST((SELECT COALESCE(MAX(gid), 0) FROM ci), 1), "
    "(SELECT MAX(gid) IS NOT NULL FROM ci))",
    "ALTER TABLE ci ALTER COLUMN gid SET DEFAULT nextval('ci_gid_seq')",
    """CREATE OR REPLACE FUNCTION relation_gid_assign() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.source_gid := (SELECT gid FROM ci WHERE id = NEW.source_id);
        NEW.target_gid := (SELECT gid FROM ci WHERE id = NEW.target_id);
        RETURN NEW;
    END $$""",
    "DROP TRIGGER IF EXISTS relation_gid_assign ON relation",
    "CREATE TRIGGER relation_gid_assign BEFORE INSERT OR UPDATE OF source_id, target_id "
    "ON relation FOR EACH ROW EXECUTE FUNCTION relation_gid_assign()",
)


def _is_postgres(database: pw.Database) -> bool:
    return isinstance(database, pw.PostgresqlDatabase)


def _columns(database: pw.Database, table: str) -> set[str]:
    return {c.name for c in database.get_columns(table)}


def top_gid(database: pw.Database) -> int:
    """The highest gid in use (0 for none): a bulk writer numbers its new CIs from here on, in
    the order it writes them, as the insert trigger would one by one."""
    return int(database.execute_sql("SELECT COALESCE(MAX(gid), 0) FROM ci").fetchone()[0])


def install(database: pw.Database) -> None:
    """Add the gid columns where missing, number every CI that has none, copy the gids onto the
    relations, and install the triggers.  Idempotent; call inside a transaction."""
    pg = _is_postgres(database)
    bigint = "BIGINT" if pg else "INTEGER"
    if "gid" not in _columns(database, "ci"):
        database.execute_sql(f"ALTER TABLE ci ADD COLUMN gid {bigint}")
    have = _columns(database, "relation")
    for column in ("source_gid", "target_gid"):
        if column not in have:
            database.execute_sql(f"ALTER TABLE relation ADD COLUMN {column} {bigint}")
    statements = _POSTGRES_TRIGGERS if pg else _SQLITE_TRIGGERS
    if pg:
        for sql in statements[:3]:  # the sequence exists before the missing gids are drawn
            database.execute_sql(sql)
        database.execute_sql("UPDATE ci SET gid = nextval('ci_gid_seq') WHERE gid IS NULL")
        database.execute_sql(
            "UPDATE relation r SET source_gid = s.gid, target_gid = t.gid FROM ci s, ci t "
            "WHERE s.id = r.source_id AND t.id = r.target_id "
            "AND (r.source_gid IS DISTINCT FROM s.gid OR r.target_gid IS DISTINCT FROM t.gid)")
        statements = statements[3:]
    else:
        database.execute_sql("UPDATE ci SET gid = rowid + ? WHERE gid IS NULL",
                             (top_gid(database),))
        database.execute_sql(
            "UPDATE relation SET source_gid = (SELECT gid FROM ci WHERE id = relation.source_id),"
            " target_gid = (SELECT gid FROM ci WHERE id = relation.target_id) "
            "WHERE source_gid IS NULL OR target_gid IS NULL "
            "OR source_gid IS NOT (SELECT gid FROM ci WHERE id = relation.source_id) "
            "OR target_gid IS NOT (SELECT gid FROM ci WHERE id = relation.target_id)")
    for sql in statements:
        database.execute_sql(sql)


def repair(database: pw.Database) -> dict[str, int]:
    """Number the CIs without a gid and put every relation's gids right, in one transaction;
    returns :func:`problems` afterwards."""
    from itsmdesk.models.write_lock import write_transaction

    with write_transaction(database):
        install(database)
    return problems(database)


def problems(database: pw.Database) -> dict[str, int]:
    """Counts of rows the index gets wrong (all zero on a healthy database): CIs without a gid,
    relations whose gids are missing or differ from their CIs'."""
    missing = database.execute_sql("SELECT COUNT(*) FROM ci WHERE gid IS NULL").fetchone()[0]
    distinct = "IS DISTINCT FROM" if _is_postgres(database) else "IS NOT"
    stale = database.execute_sql(
        "SELECT COUNT(*) FROM relation r JOIN ci s ON s.id = r.source_id "
        "JOIN ci t ON t.id = r.target_id "
        f"WHERE r.source_gid {distinct} s.gid OR r.target_gid {distinct} t.gid").fetchone()[0]
    return {"cis_without_gid": int(missing), "relations_with_stale_gids": int(stale)}
