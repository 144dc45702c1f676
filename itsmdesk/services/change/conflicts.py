"""Scheduling conflicts of changes.

Four kinds, each a :class:`Conflict`:

* ``same_ci``: two planned changes overlap in time and share an affected CI;
* ``impact_path``: they overlap in time and a CI of one lies in the impact path of the other
  (an outage of one change's CI reaches the other's CI through CMDB relations);
* ``blackout``: a change overlaps a blackout window (global, or on one of its CIs);
* ``outside_maintenance``: a change on a CI that has maintenance windows is not wholly inside one.

Time intervals are half-open ``[start, end)``; a change without an end is one hour long.
Recurring windows carry an RFC 5545 RRULE and are expanded with ``dateutil.rrule``.

Overlaps are found with a sweep over start times per CI (O(n log n + pairs)), not a self-join.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import peewee as pw

from itsmdesk.errors import N_
from itsmdesk.models.change import Change, ChangeCI, ScheduleWindow
from itsmdesk.models.cmdb import CI
from itsmdesk.services.change.lifecycle import PLANNED

DEFAULT_LENGTH = dt.timedelta(hours=1)
MAX_OCCURRENCES = 5000


@dataclass(frozen=True)
class Conflict:
    kind: str  # same_ci | impact_path | blackout | outside_maintenance
    change_id: uuid.UUID
    change_ref: str
    start: dt.datetime
    end: dt.datetime
    other_id: uuid.UUID | None = None
    other_ref: str | None = None
    ci_names: tuple[str, ...] = ()
    window_name: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["change_id"] = str(self.change_id)
        d["other_id"] = str(self.other_id) if self.other_id else None
        d["ci_names"] = list(self.ci_names)
        d["start"] = self.start.isoformat(sep=" ")
        d["end"] = self.end.isoformat(sep=" ")
        return d

    @property
    def template(self) -> str:
        """The sentence for this kind of conflict, an N_() template (views translate it)."""
        return DESCRIPTIONS.get(self.kind, DESCRIPTIONS["outside_maintenance"])

    @property
    def params(self) -> dict[str, str]:
        return {"change": self.change_ref, "other": self.other_ref or "",
                "cis": ", ".join(self.ci_names), "window": self.window_name or ""}

    def describe(self) -> str:
        """The conflict in a sentence (English; views translate :attr:`template`)."""
        return self.template.format(**self.params)


DESCRIPTIONS = {
    "same_ci": N_("{change} overlaps {other} on {cis}"),
    "impact_path": N_("{change} overlaps {other}; impact path via {cis}"),
    "blackout": N_("{change} falls in blackout window '{window}'"),
    "outside_maintenance": N_("{change} is outside the maintenance windows of {cis}"),
}


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a (possibly recurring) schedule window."""

    window_id: uuid.UUID
    name: str
    kind: str
    ci_id: uuid.UUID | None
    start: dt.datetime
    end: dt.datetime


@dataclass
class _Span:
    id: uuid.UUID
    ref: str
    start: dt.datetime
    end: dt.datetime
    cis: set = field(default_factory=set)


def _end(start: dt.datetime, end: dt.datetime | None) -> dt.datetime:
    return end if end and end > start else start + DEFAULT_LENGTH


# -- windows -------------------------------------------------------------------------------------

def expand_window(window: ScheduleWindow, start: dt.datetime, end: dt.datetime
                  ) -> list[Occurrence]:
    """Occurrences of ``window`` that overlap ``[start, end)``."""
    length = window.ends_at - window.starts_at
    if not window.rrule:
        if window.starts_at < end and window.ends_at > start:
            return [Occurrence(window.id, window.name, window.kind, window.ci_id,
                               window.starts_at, window.ends_at)]
        return []
    from dateutil.rrule import rrulestr

    rule = rrulestr(window.rrule, dtstart=window.starts_at)
    out = []
    for occ_start in rule.xafter(start - length, inc=True):
        if occ_start >= end or len(out) >= MAX_OCCURRENCES:
            break
        occ_end = occ_start + length
        if occ_end > start:
            out.append(Occurrence(window.id, window.name, window.kind, window.ci_id,
                                  occ_start, occ_end))
    return out


def _may_overlap(start: dt.datetime, end: dt.datetime):  # noqa: ANN202 - a peewee expression
    return ((ScheduleWindow.rrule.is_null(False) & (ScheduleWindow.starts_at < end))
            | ((ScheduleWindow.starts_at < end) & (ScheduleWindow.ends_at > start)))


def windows_between(start: dt.datetime, end: dt.datetime, kind: str | None = None,
                    ci_ids: Iterable | None = None) -> list[Occurrence]:
    """Every blackout/maintenance occurrence overlapping ``[start, end)``."""
    query = ScheduleWindow.select().where(_may_overlap(start, end))
    if kind:
        query = query.where(ScheduleWindow.kind == kind)
    if ci_ids is not None:
        ids = list(ci_ids)
        query = query.where(ScheduleWindow.ci.is_null(True) | ScheduleWindow.ci.in_(ids))
    out: list[Occurrence] = []
    for window in query:
        out.extend(expand_window(window, start, end))
    out.sort(key=lambda o: (o.start, o.name))
    return out


# -- detection -----------------------------------------------------------------------------------

def _load_spans(start: dt.datetime | None, end: dt.datetime | None,
                change_ids: Iterable | None = None, statuses: tuple | None = PLANNED) -> dict:
    """The planned changes overlapping ``[start, end)`` with their CIs, in one query."""
    query = (Change.select(Change.id, Change.ref, Change.planned_start, Change.planned_end,
                           ChangeCI.ci)
             .join(ChangeCI, pw.JOIN.LEFT_OUTER, on=(ChangeCI.change == Change.id))
             .where(Change.planned_start.is_null(False)))
    if statuses is not None:
        query = query.where(Change.status.in_(statuses))
    if end is not None:
        query = query.where(Change.planned_start < end)
    if start is not None:
        query = query.where(Change.planned_end.is_null(True) | (Change.planned_end > start))
    if change_ids is not None:
        query = query.where(Change.id.in_(list(change_ids)))
    spans: dict = {}
    for cid, ref, s, e, ci in query.tuples():
        span = spans.get(cid)
        if span is None:
            span = spans[cid] = _Span(cid, ref, s, _end(s, e))
        if ci is not None:
            span.cis.add(ci)
    if start is not None:
        spans = {k: v for k, v in spans.items() if v.end > start}
    return spans


def _sweep_pairs(items: list[tuple[dt.datetime, dt.datetime, uuid.UUID]]):
    """Pairs of ids whose intervals overlap; ``items`` sorted by start."""
    active: list[tuple[dt.datetime, uuid.UUID]] = []
    for s, e, cid in items:
        active = [(ae, aid) for ae, aid in active if ae > s]
        for _ae, aid in active:
            yield aid, cid
        active.append((e, cid))


def overlap_pairs(spans: dict) -> dict[tuple, set]:
    """(change a, change b) -> shared CI ids, for changes overlapping in time on a common CI."""
    by_ci: dict = defaultdict(list)
    for span in spans.values():
        for ci in span.cis:
            by_ci[ci].append((span.start, span.end, span.id))
    pairs: dict[tuple, set] = defaultdict(set)
    for ci, items in by_ci.items():
        if len(items) < 2:
            continue
        items.sort(key=lambda t: (t[0], str(t[2])))
        for a, b in _sweep_pairs(items):
            key = (a, b) if str(a) < str(b) else (b, a)
            pairs[key].add(ci)
    return pairs


def _ci_names(ids: Iterable, known: dict | None = None) -> dict:
    names = dict(known or {})
    ids = [i for i in ids if i not in names]
    for i in range(0, len(ids), 900):
        names.update(dict(CI.select(CI.id, CI.name).where(CI.id.in_(ids[i:i + 900])).tuples()))
    return names


def detect(start: dt.datetime | None = None, end: dt.datetime | None = None,
           impact: bool = True, windows: bool = True, change_ids: Iterable | None = None,
           statuses: tuple | None = PLANNED, ci_names: dict | None = None) -> list[Conflict]:
    """Every conflict among planned changes overlapping ``[start, end)``.

    ``change_ids`` restricts the result to conflicts involving those changes (the other side of a
    pair may be any planned change).  ``statuses`` None takes every change, whatever its status
    (audits of the past).  ``ci_names`` (CI id -> name) are names the caller knows already.
    """
    spans = _load_spans(start, end, statuses=statuses)
    focus = set(change_ids) if change_ids is not None else None
    if focus is not None:
        missing = focus - set(spans)
        if missing:
            spans.update(_load_spans(None, None, missing))
    conflicts: list[Conflict] = []
    pairs = overlap_pairs(spans)
    ci_ids_needed: set = set()
    for key, cis in pairs.items():
        if focus is None or key[0] in focus or key[1] in focus:
            ci_ids_needed |= cis

    impact_pairs: dict[tuple, set] = {}
    if impact:
        impact_pairs = _impact_pairs(spans, pairs, focus)
        for cis in impact_pairs.values():
            ci_ids_needed |= cis

    window_hits: list[tuple] = []
    if windows and spans:
        window_hits = _window_conflicts(spans, focus, start, end)
        for hit in window_hits:
            ci_ids_needed |= set(hit[2])

    names = _ci_names(ci_ids_needed, ci_names)

    def named(ids: Iterable) -> tuple[str, ...]:
        return tuple(sorted(names.get(i, str(i)) for i in ids))

    for kind, source in (("same_ci", pairs), ("impact_path", impact_pairs)):
        for (a, b), cis in source.items():
            if focus is not None and a not in focus and b not in focus:
                continue
            sa, sb = spans[a], spans[b]
            if sb.start < sa.start or (sb.start == sa.start and sb.ref < sa.ref):
                sa, sb = sb, sa
            conflicts.append(Conflict(kind, sa.id, sa.ref, max(sa.start, sb.start),
                                      min(sa.end, sb.end), sb.id, sb.ref, named(cis)))
    for kind, span, cis, occ in window_hits:
        conflicts.append(Conflict(kind, span.id, span.ref,
                                  max(span.start, occ.start) if occ else span.start,
                                  min(span.end, occ.end) if occ else span.end,
                                  ci_names=named(cis), window_name=occ.name if occ else None))
    conflicts.sort(key=lambda c: (c.start, c.change_ref, c.kind, c.other_ref or ""))
    return conflicts


def _impact_pairs(spans: dict, same_ci: dict, focus: set | None) -> dict[tuple, set]:
    """Time-overlapping pairs without a shared CI where one's CIs lie in the other's impact
    path: a CI of one change is upstream of (needed by) a CI of the other."""
    items = sorted(((s.start, s.end, s.id) for s in spans.values() if s.cis),
                   key=lambda t: (t[0], str(t[2])))
    pairs = []
    for a, b in _sweep_pairs(items):
        key = (a, b) if str(a) < str(b) else (b, a)
        if key in same_ci or (focus is not None and a not in focus and b not in focus):
            continue
        pairs.append(key)
    if not pairs:
        return {}
    from itsmdesk.services.cmdb.impact import upstream_gid_sets

    involved = {ci for key in pairs for cid in key for ci in spans[cid].cis}
    ups, gid_of = upstream_gid_sets(involved)  # compared as gids (small integers)
    gids: dict = {}
    out: dict[tuple, set] = {}
    nothing: set = set()
    for a, b in pairs:
        for cid in (a, b):
            if cid not in gids:
                gids[cid] = {gid_of[ci] for ci in spans[cid].cis if ci in gid_of}
        ca, cb = gids[a], gids[b]
        hit = ({y for y in spans[b].cis if ups.get(y, nothing) & ca}
               | {x for x in spans[a].cis if ups.get(x, nothing) & cb})
        if hit:
            out[(a, b)] = hit
    return out


def _window_conflicts(spans: dict, focus: set | None, start, end) -> list[tuple]:
    chosen = [s for s in spans.values() if focus is None or s.id in focus]
    if not chosen:
        return []
    lo = min(s.start for s in chosen)
    hi = max(s.end for s in chosen)
    # One query: the windows that may overlap [lo, hi), and every maintenance window of a CI
    # (a CI with maintenance windows, even none in range, has the change outside them).
    windows = list(ScheduleWindow.select().where(
        _may_overlap(lo, hi) | ((ScheduleWindow.kind == "maintenance")
                                & ScheduleWindow.ci.is_null(False))))
    has_windows = {w.ci_id for w in windows if w.kind == "maintenance" and w.ci_id is not None}
    occurrences = [o for w in windows for o in expand_window(w, lo, hi)]
    occurrences.sort(key=lambda o: (o.start, o.name))
    blackouts = [o for o in occurrences if o.kind == "blackout"]
    maint_by_ci: dict = defaultdict(list)
    for o in occurrences:
        if o.kind == "maintenance" and o.ci_id is not None:
            maint_by_ci[o.ci_id].append(o)
    hits = []
    for span in chosen:
        for occ in blackouts:
            if occ.start < span.end and occ.end > span.start and (
                    occ.ci_id is None or occ.ci_id in span.cis):
                hits.append(("blackout", span, (occ.ci_id,) if occ.ci_id else (), occ))
        outside = [ci for ci in span.cis if ci in has_windows and not any(
            o.start <= span.start and span.end <= o.end for o in maint_by_ci.get(ci, ()))]
        if outside:
            hits.append(("outside_maintenance", span, tuple(outside), None))
    return hits


def for_change(change_id) -> list[Conflict]:  # noqa: ANN001
    """Conflicts involving one change (for its form and its risk)."""
    change = Change.get_or_none(Change.id == change_id)
    if change is None:
        return []
    return for_change_at(change.id, change.status, change.planned_start, change.planned_end)


def for_change_at(change_id, status: str, start: dt.datetime | None,  # noqa: ANN001
                  end: dt.datetime | None, ci_names: dict | None = None) -> list[Conflict]:
    """:func:`for_change` for a change the caller has read already (its status and window, and
    the names of its CIs when it has them)."""
    if start is None or status not in PLANNED:
        return []
    return detect(start, _end(start, end), change_ids=[change_id], ci_names=ci_names)


def for_changes(change_ids: Iterable) -> dict:
    """change id -> its conflicts, for many changes in one detection run (CAB pack)."""
    ids = list(change_ids)
    rows = list(Change.select(Change.id, Change.planned_start, Change.planned_end)
                .where(Change.id.in_(ids) & Change.status.in_(PLANNED)
                       & Change.planned_start.is_null(False)).tuples())
    out: dict = {cid: [] for cid in ids}
    if not rows:
        return out
    lo = min(r[1] for r in rows)
    hi = max(_end(r[1], r[2]) for r in rows)
    for c in detect(lo, hi, change_ids=[r[0] for r in rows]):
        for cid in (c.change_id, c.other_id):
            if cid in out:
                out[cid].append(c)
    return out
