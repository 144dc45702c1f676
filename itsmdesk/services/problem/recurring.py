"""Recurring-incident detection: problem candidates.

A candidate is a group of at least ``min_size`` incidents that

* are on the same CI (or, for incidents without a CI, the same business service),
* were opened within ``window_days`` of each other (chained: each is within the window of
  another member) inside the scanned period,
* have similar text: the titles' significant words overlap (Jaccard similarity of the word
  sets, after dropping stop words and a crude stemming, at least ``similarity``),
* are not linked to a problem yet.

Grouping is done first in SQL (only CIs/services with enough unlinked incidents are read), then
clustered in Python by single linkage.

Two limits keep a run bounded, and :func:`find_candidates` reports both in its
:class:`CandidateReport` (the CLI and the problems dock say them): per CI or service only the
newest ``max_group`` incidents of the period are clustered (the clustering is quadratic in a
group; a CI with years of imported tickets would otherwise dominate), and at most ``limit``
groups, the biggest first, are returned.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from itsmdesk.models.base import db, utcnow
from itsmdesk.models.incident import Incident
from itsmdesk.services.periods import is_postgres, sql

STOP_WORDS = frozenset("""a an and are as at be but by can cannot could did do does for from has have
he her his i if in into is it its me my no not of on or our she so than that the their them then
there these they this to too up us was we were what when where which while who why will with
would you your after again all also any been before being both each few more most other out over
same some such only own just now very via per new issue issues problem problems error errors user
users please help""".split())


def terms(text: str) -> frozenset[str]:
    """Significant, crudely stemmed words of a title."""
    out = set()
    for word in re.findall(r"[a-z0-9]+", (text or "").lower()):
        if len(word) < 3 or word in STOP_WORDS or word.isdigit():
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        out.add(word)
    return frozenset(out)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass
class Candidate:
    key_kind: str  # "ci" | "service"
    key_id: Any
    key_name: str
    incident_ids: list[Any]
    refs: list[str]
    titles: list[str]
    common_terms: list[str]
    first_at: dt.datetime
    last_at: dt.datetime
    service_id: Any = None
    ci_id: Any = None
    category_id: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.incident_ids)

    @property
    def suggested_title(self) -> str:
        return f"Recurring: {self.titles[0]}" if self.titles else f"Recurring on {self.key_name}"

    def as_dict(self) -> dict[str, Any]:
        return {"on": self.key_kind, "name": self.key_name, "id": str(self.key_id),
                "incidents": self.size, "refs": self.refs, "common_terms": self.common_terms,
                "first": self.first_at.isoformat(sep=" "), "last": self.last_at.isoformat(sep=" "),
                "suggested_title": self.suggested_title}


def _ts(value: dt.datetime) -> Any:
    return value if is_postgres() else value.strftime("%Y-%m-%d %H:%M:%S")


def _keys(column: str, start: dt.datetime, end: dt.datetime, min_size: int,
          extra: str = "") -> list[Any]:
    statement = sql(f"SELECT {column} FROM incident WHERE opened_at >= ? AND opened_at < ? "
                    f"AND kind = 'incident' AND problem_id IS NULL AND {column} IS NOT NULL{extra} "
                    f"GROUP BY {column} HAVING COUNT(*) >= ?")
    return [r[0] for r in db.obj.execute_sql(statement, (_ts(start), _ts(end), min_size)).fetchall()]


def _as_uuid(value: Any) -> Any:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return value


DEFAULT_LIMIT = 100
DEFAULT_MAX_GROUP = 400


@dataclass
class CandidateReport:
    """The candidates of a run and the limits that shaped it."""

    candidates: list[Candidate]
    start: dt.datetime
    end: dt.datetime
    limit: int  # groups returned at most
    max_group: int  # incidents clustered per CI or service at most (the newest)
    groups_found: int  # groups found before ``limit``
    capped_keys: int  # CIs/services with more incidents than ``max_group``
    incidents_left_out: int  # their older incidents, not clustered

    @property
    def truncated(self) -> bool:
        return self.groups_found > len(self.candidates)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(sep=" "), "to": self.end.isoformat(sep=" "),
                "limit": self.limit, "per_ci": self.max_group, "groups_found": self.groups_found,
                "capped_cis": self.capped_keys, "incidents_left_out": self.incidents_left_out,
                "candidates": [c.as_dict() for c in self.candidates]}


def candidates(days: int = 30, window_days: float = 7.0, min_size: int = 3,
               similarity: float = 0.5, now: dt.datetime | None = None,
               start: dt.datetime | None = None, end: dt.datetime | None = None,
               limit: int = DEFAULT_LIMIT, max_group: int = DEFAULT_MAX_GROUP) -> list[Candidate]:
    """Problem candidates among incidents opened in ``[start, end)`` (default: last ``days``)."""
    return find_candidates(days, window_days, min_size, similarity, now, start, end, limit,
                           max_group).candidates


def find_candidates(days: int = 30, window_days: float = 7.0, min_size: int = 3,
                    similarity: float = 0.5, now: dt.datetime | None = None,
                    start: dt.datetime | None = None, end: dt.datetime | None = None,
                    limit: int = DEFAULT_LIMIT, max_group: int = DEFAULT_MAX_GROUP
                    ) -> CandidateReport:
    """:func:`candidates` with the period and the limits it ran under, and what they cut."""
    end = end or (now or utcnow())
    start = start or end - dt.timedelta(days=days)
    if start >= end:
        from itsmdesk.errors import N_, ValidationError

        raise ValidationError(N_("The period must start before it ends ({start} is not before "
                                 "{end})."), start=f"{start:%Y-%m-%d %H:%M}",
                              end=f"{end:%Y-%m-%d %H:%M}")
    found: list[Candidate] = []
    sizes: Counter = Counter()
    window = dt.timedelta(days=window_days)
    for key_kind, column, extra in (("ci", "ci_id", ""), ("service", "service_id", " AND ci_id IS NULL")):
        keys = _keys(column, start, end, min_size, extra)
        field_ = Incident.ci if key_kind == "ci" else Incident.service
        for i in range(0, len(keys), 500):
            chunk = [_as_uuid(k) for k in keys[i:i + 500]]
            query = (Incident.select(Incident.id, Incident.ref, Incident.title, Incident.opened_at,
                                     Incident.ci, Incident.service, Incident.category)
                     .where(field_.in_(chunk) & (Incident.opened_at >= start)
                            & (Incident.opened_at < end) & (Incident.kind == "incident")
                            & Incident.problem.is_null())
                     .order_by(field_, Incident.opened_at.desc()))
            if key_kind == "service":
                query = query.where(Incident.ci.is_null())
            groups: dict[Any, list[Incident]] = {}
            for inc in query:
                key = inc.ci_id if key_kind == "ci" else inc.service_id
                group = groups.setdefault(key, [])
                sizes[(key_kind, key)] += 1
                if len(group) < max_group:
                    group.append(inc)
            for key, rows in groups.items():
                found.extend(_cluster(key_kind, key, rows, window, min_size, similarity))
    found.sort(key=lambda c: (-c.size, -c.last_at.timestamp()))
    shown = found[:limit]
    _name_keys(shown)
    over = [n - max_group for n in sizes.values() if n > max_group]
    return CandidateReport(shown, start, end, limit, max_group, len(found), len(over), sum(over))


def _cluster(key_kind: str, key: Any, rows: list[Incident], window: dt.timedelta, min_size: int,
             similarity: float) -> list[Candidate]:
    rows = sorted(rows, key=lambda r: r.opened_at)
    words = [terms(r.title) for r in rows]
    parent = list(range(len(rows)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            if rows[b].opened_at - rows[a].opened_at > window:
                break
            if jaccard(words[a], words[b]) >= similarity:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[rb] = ra
    clusters: dict[int, list[int]] = {}
    for i in range(len(rows)):
        clusters.setdefault(find(i), []).append(i)
    out = []
    for members in clusters.values():
        if len(members) < min_size:
            continue
        incs = [rows[i] for i in members]
        counter = Counter(t for i in members for t in words[i])
        common = sorted(t for t, n in counter.items() if n * 2 >= len(members))
        out.append(Candidate(key_kind, key, "", [r.id for r in incs], [r.ref for r in incs],
                             [r.title for r in incs], common, incs[0].opened_at,
                             incs[-1].opened_at, service_id=incs[-1].service_id,
                             ci_id=incs[-1].ci_id, category_id=incs[-1].category_id))
    return out


def _name_keys(found: list[Candidate]) -> None:
    from itsmdesk.models.cmdb import CI

    ids = list({c.key_id for c in found})
    names = {}
    for i in range(0, len(ids), 500):
        for ci in CI.select(CI.id, CI.name).where(CI.id.in_(ids[i:i + 500])):
            names[ci.id] = ci.name
    for c in found:
        c.key_name = names.get(c.key_id, str(c.key_id))


def create_problem_from_candidate(candidate: Candidate, actor=None, title: str | None = None):  # noqa: ANN001, ANN201
    """Record a problem for a candidate and link its incidents to it."""
    from itsmdesk.services import records
    from itsmdesk.services.context import SYSTEM
    from itsmdesk.services.problem import problems

    actor = actor or SYSTEM
    with records.atomic():
        values = {"title": (title or candidate.suggested_title)[:300],
                  "description": "Recurring incidents: " + ", ".join(candidate.refs),
                  "status": "new", "ci": candidate.ci_id, "service": candidate.service_id}
        problem = problems.create_problem(values, actor,
                                          cis=[candidate.ci_id] if candidate.ci_id else None)
        problems.link_incidents(problem.id, candidate.incident_ids, actor)
        return problem
