"""Ranked full-text search over one record table, on SQLite FTS5 or PostgreSQL tsvector.

``fts_ids(table, text, limit)`` returns ``[(id, score, snippet)]`` best first (higher score is
better on both back ends).  Every word must match (the last one as a prefix); when that finds
nothing and several words were typed, any word may match, so suggestions while typing still
appear.  Titles weigh more than bodies.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import peewee as pw

from itsmdesk.models.base import db
from itsmdesk.models.fts import SQLITE_FTS, pg_expression

# table -> (column weights for SQLite bm25, in SQLITE_FTS column order; snippet column index;
#           PostgreSQL weighted vector for ranking; PostgreSQL headline column)
_RANKING = {
    "article": ((8.0, 1.0, 4.0), 1,
                "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
                "setweight(to_tsvector('english', coalesce(tags,'')), 'B') || "
                "setweight(to_tsvector('english', coalesce(body,'')), 'D')", "body"),
    "known_error": ((8.0, 3.0, 1.0, 8.0), 1,
                    "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
                    "setweight(to_tsvector('english', coalesce(error_code,'')), 'A') || "
                    "setweight(to_tsvector('english', coalesce(symptom,'')), 'B') || "
                    "setweight(to_tsvector('english', coalesce(workaround,'')), 'D')", "symptom"),
    "problem": ((6.0, 1.0), 1,
                "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
                "setweight(to_tsvector('english', coalesce(description,'')), 'D')", "description"),
    "incident": ((6.0, 1.0), 1,
                 "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
                 "setweight(to_tsvector('english', coalesce(description,'')), 'D')", "description"),
}

_FTS_NAME = {table: name for name, (table, _cols) in SQLITE_FTS.items()}


def words_of(text: str) -> list[str]:
    return re.findall(r"\w+", text or "", flags=re.UNICODE)[:32]


def _sqlite_query(words: list[str], any_word: bool) -> str:
    parts = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
    return (" OR " if any_word else " ").join(parts)


def _pg_query(words: list[str], any_word: bool) -> str:
    parts = [w for w in words[:-1]] + [words[-1] + ":*"]
    return (" | " if any_word else " & ").join(parts)


def _as_uuid(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return value


def fts_ids(table: str, text: str, limit: int = 20, where: str = "",
            params: tuple = ()) -> list[tuple[Any, float, str]]:
    """Ranked ``(id, score, snippet)`` for records of ``table`` matching the words of ``text``.

    ``where`` is an extra SQL condition on the record table aliased ``t`` (with ``?`` params).
    """
    words = words_of(text)
    if not words:
        return []
    rows = _run(table, words, False, limit, where, params)
    if not rows and len(words) > 1:
        rows = _run(table, words, True, limit, where, params)
    return rows


def _run(table: str, words: list[str], any_word: bool, limit: int, where: str,
         params: tuple) -> list[tuple[Any, float, str]]:
    weights, snippet_col, pg_vector, pg_headline = _RANKING[table]
    database = db.obj
    extra = f" AND ({where})" if where else ""
    if isinstance(database, pw.PostgresqlDatabase):
        expr = pg_expression(table).replace("coalesce(", "coalesce(t.")
        vector = pg_vector.replace("coalesce(", "coalesce(t.")
        sql = (f"SELECT id, score, ts_headline('english', coalesce({pg_headline},''), q, "
               f"'MaxWords=24, MinWords=8, StartSel=«, StopSel=»') FROM ("
               f"SELECT t.id, t.{pg_headline}, q, ts_rank({vector}, q) AS score "
               f"FROM \"{table}\" t, to_tsquery('english', %s) q "
               f"WHERE {expr} @@ q{extra.replace('?', '%s')} ORDER BY score DESC LIMIT %s) s "
               f"ORDER BY score DESC")
        cursor = database.execute_sql(sql, (_pg_query(words, any_word), *params, limit))
    else:
        name = _FTS_NAME[table]
        w = ", ".join(str(x) for x in weights)
        sql = (f"SELECT t.id, -bm25({name}, {w}) AS score, "
               f"snippet({name}, {snippet_col}, '«', '»', '…', 16) "
               f"FROM {name} JOIN \"{table}\" t ON t.rowid = {name}.rowid "
               f"WHERE {name} MATCH ?{extra} ORDER BY bm25({name}, {w}) LIMIT ?")
        try:
            cursor = database.execute_sql(sql, (_sqlite_query(words, any_word), *params, limit))
        except pw.OperationalError:
            return []
    return [(_as_uuid(r[0]), float(r[1] or 0.0), r[2] or "") for r in cursor.fetchall()]
