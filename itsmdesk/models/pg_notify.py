"""LISTEN/NOTIFY on PostgreSQL: every committed journal insert tells the other workstations.

A statement-level ``AFTER INSERT`` trigger on ``journal`` (with a transition table, so a bulk
insert of thousands of rows sends one notification, and every write path is covered whatever
code wrote it) sends ``NOTIFY itsmdesk_changes`` with a JSON payload.  PostgreSQL delivers it
only when the transaction commits, and drops it when it rolls back.

Payload (version 1), kept under :data:`PAYLOAD_LIMIT` bytes (PostgreSQL refuses 8000 or more)::

    {"v": 1,
     "j": 1234,             -- the highest journal id of the statement
     "m": 1230,             -- the lowest
     "b": ["uuid", ...],    -- the batches (one per service call)
     "w": "Who Name",       -- who (the journal's who_name)
     "a": "2026-01-02 10:11:12",  -- when (UTC)
     "p": 4321,             -- the backend pid that wrote it
     "r": [[kind, id, version, how], ...]}   -- how: c(reated), u(pdated), d(eleted);
                                             -- child rows under their table name

Too large (an import), or anything unexpected while building it: a *catch-up* payload
``{"v": 1, "x": 1, "j": .., "m": .., "b": [..] or [], "w": .., "p": ..}`` -- the listener then
reads journal rows ``m..j`` itself.  Building the payload never makes a write fail.

SQLite has no NOTIFY: :func:`install` does nothing there.
"""

from __future__ import annotations

import peewee as pw

CHANNEL = "itsmdesk_changes"
PAYLOAD_LIMIT = 7900
FUNCTION = "itsmdesk_journal_notify"
TRIGGER = "journal_notify"

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    payload text;
    hi bigint;
    lo bigint;
    batches json;
    who text;
BEGIN
    SELECT max(id), min(id), max(who_name) INTO hi, lo, who FROM new_rows;
    IF hi IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        SELECT json_agg(DISTINCT batch) INTO batches FROM new_rows WHERE batch IS NOT NULL;
        WITH rows AS (
            SELECT record_kind AS k, record_id::text AS i, version AS v,
                   CASE field WHEN '*created*' THEN 'c' WHEN '*deleted*' THEN 'd' ELSE 'u' END AS h
              FROM new_rows
             WHERE left(field, 1) <> '!'
            UNION ALL
            SELECT left(n.field, length(n.field) - 1),
                   coalesce(n.new, n.old)::json ->> 'id', NULL,
                   CASE right(n.field, 1) WHEN '+' THEN 'c' WHEN '-' THEN 'd' ELSE 'u' END
              FROM new_rows AS n
             WHERE right(n.field, 1) IN ('+', '~', '-') AND left(n.field, 1) <> '!'
        ), records AS (
            SELECT k, i, max(v) AS v,
                   CASE WHEN bool_or(h = 'd') THEN 'd' WHEN bool_or(h = 'c') THEN 'c'
                        ELSE 'u' END AS h
              FROM rows WHERE i IS NOT NULL GROUP BY k, i
        )
        SELECT json_build_object(
                   'v', 1, 'j', hi, 'm', lo, 'b', coalesce(batches, '[]'::json), 'w', who,
                   'a', (SELECT to_char(max(at), 'YYYY-MM-DD HH24:MI:SS') FROM new_rows),
                   'p', pg_backend_pid(),
                   'r', (SELECT coalesce(json_agg(json_build_array(k, i, v, h)), '[]'::json)
                           FROM records))::text
          INTO payload;
    EXCEPTION WHEN others THEN
        payload := NULL;
    END;
    IF payload IS NULL OR octet_length(payload) > {PAYLOAD_LIMIT} THEN
        IF batches IS NULL OR octet_length(batches::text) > {PAYLOAD_LIMIT} - 300 THEN
            batches := '[]'::json;
        END IF;
        payload := json_build_object('v', 1, 'x', 1, 'j', hi, 'm', lo, 'b', batches,
                                     'w', left(who, 200), 'p', pg_backend_pid())::text;
    END IF;
    PERFORM pg_notify('{CHANNEL}', payload);
    RETURN NULL;
END
$fn$
"""

_TRIGGER_SQL = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON journal
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()
"""


def install(database: pw.Database) -> bool:
    """Create (or replace) the notify function and trigger; False on SQLite (nothing to do)."""
    if not isinstance(database, pw.PostgresqlDatabase):
        return False
    database.execute_sql(_FUNCTION_SQL)
    database.execute_sql(f"DROP TRIGGER IF EXISTS {TRIGGER} ON journal")
    database.execute_sql(_TRIGGER_SQL)
    return True


def installed(database: pw.Database) -> bool:
    if not isinstance(database, pw.PostgresqlDatabase):
        return False
    row = database.execute_sql(
        "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = 'journal'::regclass",
        (TRIGGER,)).fetchone()
    return row is not None
