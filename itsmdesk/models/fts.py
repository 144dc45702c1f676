"""Full-text search structures: SQLite FTS5 tables kept by triggers; PostgreSQL GIN indexes.

SQLite uses external-content FTS5 tables (the text lives once, in the record table) with the
porter tokenizer; PostgreSQL uses expression GIN indexes on ``to_tsvector('english', ...)`` so no
extra column or trigger is needed.  Both stem English words the same way, so a search finds the
same records on both back ends.
"""

from __future__ import annotations

import peewee as pw

# name -> (table, columns)
SQLITE_FTS = {
    "incident_fts": ("incident", ("title", "description")),
    "work_log_fts": ("work_log", ("text",)),
    "article_fts": ("article", ("title", "body", "tags")),
    "known_error_fts": ("known_error", ("title", "symptom", "workaround", "error_code")),
    "problem_fts": ("problem", ("title", "description")),
    "change_fts": ("change", ("title", "description")),
}

PG_TSVECTOR = {
    # index name -> (table, SQL expression the queries use verbatim)
    "incident_tsv_idx": ("incident", "to_tsvector('english', coalesce(title,'') || ' ' || "
                                     "coalesce(description,''))"),
    "work_log_tsv_idx": ("work_log", "to_tsvector('english', coalesce(text,''))"),
    "article_tsv_idx": ("article", "to_tsvector('english', coalesce(title,'') || ' ' || "
                                   "coalesce(body,'') || ' ' || coalesce(tags,''))"),
    "known_error_tsv_idx": ("known_error", "to_tsvector('english', coalesce(title,'') || ' ' || "
                                           "coalesce(symptom,'') || ' ' || coalesce(workaround,'') "
                                           "|| ' ' || coalesce(error_code,''))"),
    "problem_tsv_idx": ("problem", "to_tsvector('english', coalesce(title,'') || ' ' || "
                                   "coalesce(description,''))"),
    "change_tsv_idx": ("change", "to_tsvector('english', coalesce(title,'') || ' ' || "
                                 "coalesce(description,''))"),
}


def pg_expression(table: str) -> str:
    for _name, (tbl, expr) in PG_TSVECTOR.items():
        if tbl == table:
            return expr
    raise KeyError(table)


def _q(name: str) -> str:
    return f'"{name}"'


def create(database: pw.Database) -> None:
    if isinstance(database, pw.PostgresqlDatabase):
        for name, (table, expr) in PG_TSVECTOR.items():
            database.execute_sql(
                f"CREATE INDEX IF NOT EXISTS {name} ON {_q(table)} USING gin (({expr}))")
        return
    for name, (table, cols) in SQLITE_FTS.items():
        database.execute_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5({', '.join(cols)}, "
            f"content={_q(table)}, content_rowid='rowid', tokenize='porter unicode61')")
    create_triggers(database)
    rebuild(database)


def create_triggers(database: pw.Database) -> None:
    if isinstance(database, pw.PostgresqlDatabase):
        return
    for name, (table, cols) in SQLITE_FTS.items():
        col_list = ", ".join(cols)
        new_vals = ", ".join(f"new.{c}" for c in cols)
        old_vals = ", ".join(f"old.{c}" for c in cols)
        database.execute_sql(
            f"CREATE TRIGGER IF NOT EXISTS {name}_ai AFTER INSERT ON {_q(table)} BEGIN "
            f"INSERT INTO {name}(rowid, {col_list}) VALUES (new.rowid, {new_vals}); END")
        database.execute_sql(
            f"CREATE TRIGGER IF NOT EXISTS {name}_ad AFTER DELETE ON {_q(table)} BEGIN "
            f"INSERT INTO {name}({name}, rowid, {col_list}) VALUES ('delete', old.rowid, {old_vals}); END")
        cond = " OR ".join(f"old.{c} IS NOT new.{c}" for c in cols)
        database.execute_sql(
            f"CREATE TRIGGER IF NOT EXISTS {name}_au AFTER UPDATE ON {_q(table)} WHEN {cond} BEGIN "
            f"INSERT INTO {name}({name}, rowid, {col_list}) VALUES ('delete', old.rowid, {old_vals}); "
            f"INSERT INTO {name}(rowid, {col_list}) VALUES (new.rowid, {new_vals}); END")


def drop_triggers(database: pw.Database) -> None:
    """For bulk loads: drop the triggers, load, then :func:`create_triggers` and :func:`rebuild`."""
    if isinstance(database, pw.PostgresqlDatabase):
        return
    for name in SQLITE_FTS:
        for suffix in ("ai", "ad", "au"):
            database.execute_sql(f"DROP TRIGGER IF EXISTS {name}_{suffix}")


def rebuild(database: pw.Database, names: list[str] | None = None) -> None:
    if isinstance(database, pw.PostgresqlDatabase):
        return
    for name in names or list(SQLITE_FTS):
        database.execute_sql(f"INSERT INTO {name}({name}) VALUES ('rebuild')")


def to_fts_query(text: str) -> str:
    """Words typed by a person -> a safe FTS5 query: every word must match, last one as prefix."""
    import re

    words = re.findall(r"\w+", text or "", flags=re.UNICODE)
    if not words:
        return ""
    parts = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
    return " ".join(parts)


def to_tsquery(text: str) -> str:
    """Words -> a PostgreSQL tsquery string (AND of words, last one as prefix)."""
    import re

    words = [w for w in re.findall(r"\w+", text or "", flags=re.UNICODE)]
    if not words:
        return ""
    return " & ".join([w for w in words[:-1]] + [words[-1] + ":*"])
