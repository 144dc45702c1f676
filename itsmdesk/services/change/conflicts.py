"""Scheduling conflicts of changes.

Four kinds, each a :class:`Conflict`:

* ``same_ci``: two planned changes overlap in time and share an affected CI;
* ``impact_path``: they overlap in time and a CI of one lies in the impact path of the other
  (an outage of one change's CI reaches the other's CI through CMDB relations);
* ``blackout``: a change overlaps a blackout window (global, or on one of its CIs);
* ``outside_maintenance``: a change on a CI that has maintenance windows is not wholly inside one.

Which changes are compared: by default the changes still on the calendar (:data:`PLANNED`
statuses); ``statuses=None`` compares every change whatever its status (an audit of the past, an
imported history), or pass the statuses wanted.  :func:`analyse` says what it compared in its
:class:`ConflictReport`.

Time intervals are half-open ``[start, end)``.  A change without an end, or whose end is not
after its start, is *stretched* to the length of the setting :data:`STRETCH_SETTING` (60 minutes
unless changed; 0 keeps such a change an instant, which overlaps nothing).  The report counts the
pairs that involve a stretched change: on imported data where most changes carry no end, those
pairs say more about the stretch than about the schedule.
Recurring windows carry an RFC 5545 RRULE and are expanded with ``dateutil.rrule``.

Overlaps are found with a sweep over start times per CI (O(n log n + pairs)), not a self-join.
Impact-path pairs likewise: each CI's impact (the other compared CIs its outage reaches) is
walked once, and then per CI the changes touching it are swept against the changes whose CIs
reach it, so the cost follows the pairs found, not every pair of changes overlapping in time
(:func:`impact_pairs_pairwise` is that plain method, kept as the reference).
"""

from __future__ import annotations

import datetime as dt
import heapq
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import peewee as pw

from itsmdesk import config
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.change import Change, ChangeCI, ScheduleWindow
from itsmdesk.models.cmdb import CI
from itsmdesk.services import records
from itsmdesk.services.change.lifecycle import PLANNED
from itsmdesk.services.context import SYSTEM, Actor

DEFAULT_LENGTH = dt.timedelta(hours=1)
MAX_OCCURRENCES = 5000
STRETCH_SETTING = config.CONFLICT_STRETCH.key  # "change_conflict_stretch_minutes"
DEFAULT_STRETCH_MINUTES = config.CONFLICT_STRETCH.default
MAX_STRETCH_MINUTES = 7 * 24 * 60


def stretch_minutes() -> int:
    """How long a change without an end (or ending at its start) counts as, in minutes."""
    value = records.get_setting(STRETCH_SETTING)
    try:
        return DEFAULT_STRETCH_MINUTES if value is None else max(int(value), 0)
    except (TypeError, ValueError):
        return DEFAULT_STRETCH_MINUTES


def set_stretch_minutes(minutes: int, actor: Actor = SYSTEM, version: int | None = None) -> int:
    """Store the stretch (the setting :data:`STRETCH_SETTING`, versioned and journalled);
    returns the setting's new version.  Change managers only."""
    from itsmdesk.services.permissions import require

    require(actor or SYSTEM, "change.schedule")
    try:
        value = int(minutes)
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= MAX_STRETCH_MINUTES:
        raise ValidationError(
            N_("The length given to changes without an end must be 0-{most} minutes, not "
               "{minutes}; nothing was changed."), most=MAX_STRETCH_MINUTES, minutes=minutes)
    with records.atomic():
        return records.set_setting(STRETCH_SETTING, value, actor, version)


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
    stretched: bool = False  # had no end (or one not after its start): given the stretch

    @property
    def empty(self) -> bool:
        """An instant (stretch 0): overlaps no other change."""
        return self.end <= self.start


@dataclass
class ConflictReport:
    """The conflicts and what was compared to find them (the CLI and the calendar say it)."""

    conflicts: list[Conflict]
    compared: int  # changes compared (in the period, with the statuses)
    statuses: tuple[str, ...] | None  # None: every status
    start: dt.datetime | None
    end: dt.datetime | None
    stretch_minutes: int
    stretched_changes: int  # compared changes given the stretch
    pairs: int  # same-CI and impact-path pairs reported
    stretched_pairs: int  # of those, pairs with at least one stretched change

    def as_dict(self) -> dict:
        return {"compared": self.compared,
                "statuses": list(self.statuses) if self.statuses is not None else None,
                "from": self.start.isoformat(sep=" ") if self.start else None,
                "to": self.end.isoformat(sep=" ") if self.end else None,
                "stretch_minutes": self.stretch_minutes,
                "stretched_changes": self.stretched_changes, "pairs": self.pairs,
                "stretched_pairs": self.stretched_pairs, "count": len(self.conflicts),
                "conflicts": [c.as_dict() for c in self.conflicts]}


def _end(start: dt.datetime, end: dt.datetime | None,
         stretch: dt.timedelta = DEFAULT_LENGTH) -> dt.datetime:
    return end if end and end > start else start + stretch


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
                change_ids: Iterable | None = None, statuses: tuple | None = PLANNED,
                stretch: dt.timedelta | Callable[[], dt.timedelta] = DEFAULT_LENGTH) -> dict:
    """The changes (of ``statuses``; None: any) overlapping ``[start, end)`` with their CIs, in
    one query."""
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
            if e and e > s:
                span = spans[cid] = _Span(cid, ref, s, e)
            else:
                if callable(stretch):  # read only when a change needs it
                    stretch = stretch()
                span = spans[cid] = _Span(cid, ref, s, s + stretch, stretched=True)
        if ci is not None:
            span.cis.add(ci)
    if start is not None:
        spans = {k: v for k, v in spans.items() if v.end > start or v.start >= start}
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
        if span.empty:
            continue
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
           statuses: tuple | None = PLANNED, ci_names: dict | None = None,
           stretch: int | None = None) -> list[Conflict]:
    """The conflicts of :func:`analyse` (the stretch setting read only if a change needs it)."""
    return analyse(start, end, impact, windows, change_ids, statuses, ci_names,
                   stretch, _report=False).conflicts


def analyse(start: dt.datetime | None = None, end: dt.datetime | None = None,
            impact: bool = True, windows: bool = True, change_ids: Iterable | None = None,
            statuses: tuple | None = PLANNED, ci_names: dict | None = None,
            stretch: int | None = None, _report: bool = True) -> ConflictReport:
    """Every conflict among the changes overlapping ``[start, end)``, and what was compared.

    ``statuses``: the changes compared (default the ones still on the calendar, None every
    change whatever its status: audits of the past).  ``change_ids`` restricts the result to
    conflicts involving those changes (the other side of a pair may be any compared change).
    ``ci_names`` (CI id -> name) are names the caller knows already.  ``stretch``: minutes a
    change without an end counts as (default the setting :data:`STRETCH_SETTING`).
    """
    given = None if stretch is None else max(int(stretch), 0)

    def length() -> dt.timedelta:
        """The stretch, read from the setting once and only if a change has no end."""
        nonlocal given
        if given is None:
            given = stretch_minutes()
        return dt.timedelta(minutes=given)

    spans = _load_spans(start, end, statuses=statuses, stretch=length)
    compared = len(spans)
    stretched_changes = sum(1 for s in spans.values() if s.stretched)
    focus = set(change_ids) if change_ids is not None else None
    if focus is not None:
        missing = focus - set(spans)
        if missing:
            spans.update(_load_spans(None, None, missing, stretch=length))
    minutes = given if given is not None else stretch_minutes() if _report else -1
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

    n_pairs = n_stretched = 0
    for kind, source in (("same_ci", pairs), ("impact_path", impact_pairs)):
        for (a, b), cis in source.items():
            if focus is not None and a not in focus and b not in focus:
                continue
            sa, sb = spans[a], spans[b]
            n_pairs += 1
            n_stretched += sa.stretched or sb.stretched
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
    return ConflictReport(conflicts, compared, tuple(statuses) if statuses is not None else None,
                          start, end, minutes, stretched_changes, n_pairs, n_stretched)


def _impact_pairs(spans: dict, same_ci: dict, focus: set | None) -> dict[tuple, set]:
    """Time-overlapping pairs without a shared CI where one's CIs lie in the other's impact
    path: a CI ``y`` of one change is reached by an outage of a CI of the other.  Returns
    (change a, change b) -> those CIs ``y`` (as :func:`impact_pairs_pairwise` does).

    Each compared CI's impact is walked once (:func:`upstream_gid_sets`, inverted: CI x -> the
    compared CIs its outage reaches); then, per CI ``y``, the changes touching ``y`` are swept
    by time against the changes whose CIs reach ``y``.  Only pairs that are impact-path
    candidates are ever built.  Changes are numbered by start time and CIs by gid, so the sets
    and sorts work on small integers, not UUIDs."""
    live = sorted((s for s in spans.values() if s.cis and not s.empty),
                  key=lambda s: (s.start, str(s.id)))
    if len(live) < 2:
        return {}
    from itsmdesk.services.cmdb.impact import upstream_gid_sets

    involved = {ci for s in live for ci in s.cis}
    ups, gid_of = upstream_gid_sets(involved)
    ci_of_gid = {g: ci for ci, g in gid_of.items()}
    reached_by: dict[int, list[int]] = defaultdict(list)  # gid x -> compared gids x reaches
    for y, reach in ups.items():
        gy = gid_of[y]
        for g in reach:
            if g != gy and g in ci_of_gid:
                reached_by[g].append(gy)
    touching: dict[int, list[int]] = defaultdict(list)  # gid y -> changes (numbers) having y
    reaching: dict[int, set[int]] = defaultdict(set)  # gid y -> changes whose CIs reach y
    for n, s in enumerate(live):
        for ci in s.cis:
            gx = gid_of.get(ci)
            if gx is None:
                continue
            touching[gx].append(n)
            for gy in reached_by.get(gx, ()):
                reaching[gy].add(n)
    number = {s.id: n for n, s in enumerate(live)}
    skip = {(number[a], number[b]) if number[a] < number[b] else (number[b], number[a])
            for a, b in same_ci if a in number and b in number}
    mine = None if focus is None else {number[c] for c in focus if c in number}
    ends = [s.end for s in live]
    starts = [s.start for s in live]
    found: dict[tuple[int, int], set[int]] = defaultdict(set)
    for gy, reachers in reaching.items():
        touchers = touching.get(gy)
        if not touchers:
            continue
        if mine is not None and not (mine.intersection(touchers) or mine & reachers):
            continue
        role = dict.fromkeys(touchers, 1)
        for n in reachers:
            role[n] = role.get(n, 0) | 2
        for a, b in _sweep_roles(sorted(role.items()), starts, ends):
            if (a, b) in skip or (mine is not None and a not in mine and b not in mine):
                continue
            found[(a, b)].add(gy)
    out: dict[tuple, set] = {}
    for (a, b), gys in found.items():
        ia, ib = live[a].id, live[b].id
        key = (ia, ib) if str(ia) < str(ib) else (ib, ia)
        out[key] = {ci_of_gid[g] for g in gys}
    return out


def _sweep_roles(items: list[tuple[int, int]], starts: list, ends: list):
    """Pairs (earlier, later) of changes overlapping in time where one touches the CI (role
    bit 1) and the other reaches it (bit 2); ``items`` are (change number, role) by number,
    numbers being in start order.  Changes whose end has passed leave through a heap, so the
    cost is the items plus the pairs found."""
    touch: set[int] = set()
    reach: set[int] = set()
    heap: list[tuple] = []
    for n, r in items:
        s = starts[n]
        while heap and heap[0][0] <= s:
            gone = heapq.heappop(heap)[1]
            touch.discard(gone)
            reach.discard(gone)
        if r == 1:
            for other in reach:
                yield other, n
            touch.add(n)
        elif r == 2:
            for other in touch:
                yield other, n
            reach.add(n)
        else:
            for other in touch | reach:
                yield other, n
            touch.add(n)
            reach.add(n)
        heapq.heappush(heap, (ends[n], n))


def impact_pairs_pairwise(spans: dict, same_ci: dict, focus: set | None = None
                          ) -> dict[tuple, set]:
    """The plain method, kept as the reference (benchmark baseline, tests): every pair of
    changes overlapping in time is built and their CIs' upstream sets intersected.  Costs
    every time-overlapping pair (millions on a long imported history)."""
    items = sorted(((s.start, s.end, s.id) for s in spans.values() if s.cis and not s.empty),
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
    if end and end > start:
        return detect(start, end, change_ids=[change_id], ci_names=ci_names)
    minutes = stretch_minutes()
    return detect(start, start + dt.timedelta(minutes=minutes), change_ids=[change_id],
                  ci_names=ci_names, stretch=minutes)


def for_changes(change_ids: Iterable) -> dict:
    """change id -> its conflicts, for many changes in one detection run (CAB pack)."""
    ids = list(change_ids)
    rows = list(Change.select(Change.id, Change.planned_start, Change.planned_end)
                .where(Change.id.in_(ids) & Change.status.in_(PLANNED)
                       & Change.planned_start.is_null(False)).tuples())
    out: dict = {cid: [] for cid in ids}
    if not rows:
        return out
    length = dt.timedelta(minutes=stretch_minutes())
    lo = min(r[1] for r in rows)
    hi = max(_end(r[1], r[2], length) for r in rows)
    hi = max(hi, lo + dt.timedelta(seconds=1))
    for c in detect(lo, hi, change_ids=[r[0] for r in rows]):
        for cid in (c.change_id, c.other_id):
            if cid in out:
                out[cid].append(c)
    return out
