"""Full-text search over tickets, quick open across every kind, and suggestions for the form.

- :func:`search_incidents` matches title, description and work log (SQLite FTS5 tables
  ``incident_fts``/``work_log_fts``; PostgreSQL GIN expression indexes), newest first, so a
  million tickets answer in milliseconds: SQLite walks the FTS index in rowid order (rowid grows
  with insertion) and stops at the limit; PostgreSQL uses the GIN index and a top-N sort.
- :func:`quick_open` finds any record by reference (``INC-000123``), by the key the source system
  gave it (``external_key``, exact but case-insensitive, every kind; :func:`by_external_key`) or
  by words.
- :func:`suggest` gives the known errors and knowledge articles that match what an agent types.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.models.base import db
from itsmdesk.models.cmdb import CI
from itsmdesk.models.fts import pg_expression, to_fts_query, to_tsquery
from itsmdesk.models.incident import Incident
from itsmdesk.services.context import Actor
from itsmdesk.services.visibility import NOBODY, ticket_scope, tickets_visible_to


@dataclass(frozen=True)
class Hit:
    kind: str
    id: Any
    ref: str
    title: str
    status: str = ""
    snippet: str = ""
    external_key: str = ""  # the source system's key, when the record was found by it


def _is_pg() -> bool:
    return isinstance(db.obj, pw.PostgresqlDatabase)


def _uuid(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return value


def _scope_sql(viewer: Actor | None, mark: str) -> tuple[str, tuple] | None:
    """The SQL condition (on ``incident i``) and its parameters that keep a requester's search
    to their own tickets; None when the viewer may see no ticket."""
    scope = ticket_scope(viewer)
    if scope is None:
        return "", ()
    if scope == NOBODY:
        return None
    value = Incident.created_by.db_value(scope)
    return f"AND (i.caller_id = {mark} OR i.created_by = {mark})", (value, value)


def incident_ids(text: str, limit: int = 50, open_only: bool = False,
                 viewer: Actor | None = None) -> list[Any]:
    """Ids of tickets whose title, description or work log match every word, newest first
    (with ``viewer``: only tickets that person may see, and, for a person who may not read
    private notes, matched through public notes only)."""
    from itsmdesk.services.visibility import sees_private_notes

    status = ("AND i.status IN ('new','approval','assigned','in_progress','pending')"
              if open_only else "")
    scoped = _scope_sql(viewer, "%s" if _is_pg() else "?")
    if scoped is None:
        return []
    scope, scope_params = scoped
    status = f"{status} {scope}"
    public = "" if sees_private_notes(viewer) else "AND {w}.public = {t} "
    if _is_pg():
        q = to_tsquery(text)
        if not q:
            return []
        inc_expr = pg_expression("incident").replace("coalesce(", "coalesce(i.")
        wl_expr = pg_expression("work_log").replace("coalesce(", "coalesce(w.")
        sql = (f"SELECT i.id FROM incident i WHERE i.id IN ("
               f"SELECT i2.id FROM incident i2 WHERE "
               f"{inc_expr.replace('i.', 'i2.')} @@ to_tsquery('english', %s) "
               f"UNION SELECT w.incident_id FROM work_log w WHERE {wl_expr} @@ "
               f"to_tsquery('english', %s) {public.format(w='w', t='true')}) {status} "
               f"ORDER BY i.opened_at DESC LIMIT %s")
        cursor = db.obj.execute_sql(sql, (q, q, *scope_params, limit))
        return [_uuid(r[0]) for r in cursor.fetchall()]
    q = to_fts_query(text)
    if not q:
        return []
    # Newest first by rowid (insertion order), each FTS table read only as far as needed.
    sql = (f"SELECT i.id FROM incident i WHERE i.rowid IN ("
           f"SELECT rowid FROM (SELECT rowid FROM incident_fts WHERE incident_fts MATCH ? "
           f"ORDER BY rowid DESC LIMIT ?) "
           f"UNION SELECT i3.rowid FROM work_log wl JOIN incident i3 ON i3.id = wl.incident_id "
           f"WHERE wl.rowid IN (SELECT rowid FROM work_log_fts WHERE work_log_fts MATCH ? "
           f"ORDER BY rowid DESC LIMIT ?) {public.format(w='wl', t='1')}) {status} "
           f"ORDER BY i.rowid DESC LIMIT ?")
    try:
        inner = limit * (40 if open_only or scope else 4)
        cursor = db.obj.execute_sql(sql, (q, inner, q, inner, *scope_params, limit))
    except pw.OperationalError:
        return []
    return [_uuid(r[0]) for r in cursor.fetchall()]


def search_incidents(text: str, limit: int = 50, open_only: bool = False,
                     viewer: Actor | None = None) -> list[Hit]:
    ids = incident_ids(text, limit, open_only, viewer)
    if not ids:
        return []
    rows = {r.id: r for r in Incident.select(Incident.id, Incident.ref, Incident.title,
                                             Incident.status, Incident.kind)
            .where(Incident.id.in_(ids))}
    return [Hit(rows[i].kind, i, rows[i].ref, rows[i].title, rows[i].status)
            for i in ids if i in rows]


REF_RE = re.compile(r"^\s*([A-Za-z]{2,4})-([A-Za-z]{0,5}-?)?(\d{1,9})\s*$")


def _by_reference(text: str, viewer: Actor | None = None) -> list[Hit]:
    from itsmdesk.services.lookup import PREFIXES

    m = REF_RE.match(text or "")
    if not m:
        return []
    prefix = m.group(1).upper()
    model = PREFIXES.get(prefix)
    if model is None:
        return []
    site = (m.group(2) or "").upper().rstrip("-")
    number = m.group(3)
    exact = f"{prefix}-{site + '-' if site else ''}{int(number):06d}"
    hits = []
    visible = tickets_visible_to(viewer) if model is Incident else True
    row = model.select().where((model.ref == exact) & visible).first()
    if row is not None:
        hits.append(_hit(row))
    if len(number) < 6:  # partial number: a few references that start with it
        rows = (model.select().where(model.ref.startswith(f"{prefix}-{number}") & visible)
                .order_by(model.ref).limit(8))
        hits.extend(_hit(r) for r in rows if r.ref != exact)
    return hits


def _hit(row: Any, snippet: str = "") -> Hit:
    kind = row.kind if isinstance(row, Incident) else row.RECORD_KIND
    return Hit(kind, row.id, getattr(row, "ref", None) or getattr(row, "name", ""),
               getattr(row, "title", None) or getattr(row, "name", ""),
               getattr(row, "status", "") or "", snippet)


def _fts_kind(table: str, model: Any, text: str, limit: int) -> list[Hit]:
    from itsmdesk.services.textsearch import fts_ids

    found = fts_ids(table, text, limit)
    if not found:
        return []
    rows = {r.id: r for r in model.select().where(model.id.in_([f[0] for f in found]))}
    return [_hit(rows[i], snip) for i, _score, snip in found if i in rows]


def quick_open(text: str, limit: int = 30, viewer: Actor | None = None) -> list[Hit]:
    """Records of every kind matching a reference or words, best first (with ``viewer``: only
    the tickets that person may see)."""
    from itsmdesk.models import Article, Change, KnownError, Problem

    text = (text or "").strip()
    if not text:
        return []
    hits = by_external_key(text, viewer, limit)
    seen = {h.id for h in hits}
    hits.extend(h for h in _by_reference(text, viewer) if h.id not in seen)
    if hits:
        return hits[:limit]
    per = max(3, limit // 6)
    ci_rows = (CI.select().where(CI.name.startswith(text)).order_by(CI.name).limit(per))
    hits.extend(Hit("ci", r.id, r.name, r.name, r.status) for r in ci_rows)
    hits.extend(search_incidents(text, per, viewer=viewer))
    for table, model in (("problem", Problem), ("known_error", KnownError), ("article", Article)):
        hits.extend(_fts_kind(table, model, text, per))
    # changes have no ranking entry in textsearch: plain FTS on title/description
    hits.extend(_changes(text, per, Change))
    return hits[:limit]


MAX_CASE_LETTERS = 7  # letters whose case variants are looked up one by one (2**7 keys at most)


def _case_conditions(field: Any, text: str) -> Any:
    """An index-backed condition matching every case variant of ``text`` in ``field`` (a
    superset: the caller compares case-folded).

    The case variants of the first :data:`MAX_CASE_LETTERS` letters are looked up exactly
    (``IN``); what follows them, if it holds more letters, as a range between its variants with
    every letter lower and every letter upper case, both ways round (SQLite orders bytes, where
    capitals come first; PostgreSQL orders by its collation, usually small letters first).  So
    the plain index on the column serves the look-up on both back ends; no ``lower()`` scan."""
    letters = [i for i, c in enumerate(text) if len(c.lower()) == len(c.upper()) == 1
               and c.lower() != c.upper()]
    cut = letters[MAX_CASE_LETTERS] if len(letters) > MAX_CASE_LETTERS else len(text)
    head, rest = text[:cut], text[cut:]
    choices = [sorted({c, c.lower(), c.upper()}) if i in letters else [c]
               for i, c in enumerate(head)]
    heads = ["".join(v) for v in itertools.product(*choices)]
    if not rest:
        return field.in_(heads)
    low = "".join(c.lower() if len(c.lower()) == 1 else c for c in rest)
    up = "".join(c.upper() if len(c.upper()) == 1 else c for c in rest)
    ranges = [r for h in heads for r in (field.between(h + low, h + up),
                                          field.between(h + up, h + low))]
    return pw.NodeList(ranges, glue=" OR ", parens=True)  # flat: no nesting 256 levels deep


def by_external_key(text: str, viewer: Actor | None = None, limit: int = 30) -> list[Hit]:
    """Records of every kind whose source-system key (``external_key``, set by imports) is
    ``text``, ignoring case; tickets only those ``viewer`` may see."""
    from itsmdesk.models import Article, Change, KnownError, Problem
    from itsmdesk.models.release import Release

    key = (text or "").strip()
    if not key or len(key) > 200:
        return []
    wanted = key.casefold()
    hits: list[Hit] = []
    for model in (Incident, Problem, KnownError, Change, Release, Article, CI):
        query = model.select().where(_case_conditions(model.external_key, key))
        if model is Incident:
            query = query.where(tickets_visible_to(viewer))
        for row in query.limit(limit * 4):
            if (row.external_key or "").casefold() == wanted:
                hit = _hit(row)
                hits.append(Hit(hit.kind, hit.id, hit.ref, hit.title, hit.status, hit.snippet,
                                row.external_key))
    hits.sort(key=lambda h: (h.external_key != key, h.kind, h.ref))
    return hits[:limit]


def _changes(text: str, limit: int, model: Any) -> list[Hit]:
    if _is_pg():
        q = to_tsquery(text)
        if not q:
            return []
        expr = pg_expression("change")
        sql = (f'SELECT id FROM "change" WHERE {expr} @@ to_tsquery(\'english\', %s) '
               f"ORDER BY planned_start DESC NULLS LAST LIMIT %s")
        params: tuple = (q, limit)
    else:
        q = to_fts_query(text)
        if not q:
            return []
        sql = ('SELECT c.id FROM "change" c WHERE c.rowid IN (SELECT rowid FROM change_fts '
               "WHERE change_fts MATCH ? ORDER BY rowid DESC LIMIT ?)")
        params = (q, limit)
    try:
        ids = [_uuid(r[0]) for r in db.obj.execute_sql(sql, params).fetchall()]
    except pw.OperationalError:
        return []
    return [_hit(r) for r in model.select().where(model.id.in_(ids))] if ids else []


def suggest(text: str, limit: int = 5) -> list[Hit]:
    """Known errors and knowledge articles matching the words of a ticket (for the form)."""
    from itsmdesk.models import Article, KnownError

    if len(re.findall(r"\w{3,}", text or "")) == 0:
        return []
    text = " ".join(re.findall(r"\w+", text)[:12])
    return (_fts_kind("known_error", KnownError, text, limit)
            + _fts_kind("article", Article, text, limit))[: limit * 2]


def find_cis(text: str, limit: int = 20, services_only: bool = False) -> list[tuple[Any, str]]:
    """(id, name) of CIs whose name starts with (else contains) ``text``, for pickers."""
    from itsmdesk.models.cmdb import CIClass

    text = (text or "").strip()
    query = CI.select(CI.id, CI.name)
    if services_only:
        query = query.join(CIClass).where(CIClass.is_service == True)  # noqa: E712
    rows = list(query.where(CI.name.startswith(text)).order_by(CI.name).limit(limit)) if text \
        else list(query.order_by(CI.name).limit(limit))
    if text and len(rows) < limit:
        more = query.where(CI.name.contains(text) & ~CI.name.startswith(text)).order_by(CI.name)
        rows += list(more.limit(limit - len(rows)))
    return [(r.id, r.name) for r in rows]


def ci_names(ids: list[Any]) -> dict[Any, str]:
    return {r.id: r.name for r in CI.select(CI.id, CI.name).where(CI.id.in_(list(ids)))}


def find_people(text: str, limit: int = 20) -> list[tuple[Any, str]]:
    from itsmdesk.models.people import Person

    query = Person.select(Person.id, Person.name, Person.email).where(Person.active == True)  # noqa: E712
    if text:
        query = query.where(Person.name.contains(text) | Person.email.contains(text))
    return [(p.id, p.name) for p in query.order_by(Person.name).limit(limit)]


def person_by_id(person_id: Any) -> tuple[Any, str] | None:
    """(id, name) of an active person, or None (e.g. a stale id remembered from another DB)."""
    from itsmdesk.models.people import Person

    try:
        row = Person.get_or_none(Person.id == person_id)
    except (ValueError, pw.DataError):
        return None
    return (row.id, row.name) if row is not None else None
