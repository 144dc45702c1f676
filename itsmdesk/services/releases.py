"""Release Management: releases, their bundled changes and plan steps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import peewee as pw
from peewee import fn

from itsmdesk.models.people import Site
from itsmdesk.models.release import (
    RELEASE_STATUSES,
    RELEASE_TYPES,
    STEP_KINDS,
    STEP_STATUSES,
    Release,
    ReleaseChange,
    ReleaseStep,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.validation import one_of, ordered_times, required_text


def create_release(values: dict[str, Any], actor: Actor = SYSTEM, changes: list | None = None) -> Release:
    required_text(values, "name", "Name")
    one_of(values, "type", RELEASE_TYPES, "Release type")
    one_of(values, "status", RELEASE_STATUSES, "Status")
    ordered_times(values, "planned_start", "planned_end", "Planned window")
    with records.atomic():
        release = records.create(Release, values, actor, ref_prefix="REL")
        for change in changes or []:
            add_change(release.id, change, actor)
        return release


def update_release(release_id, version: int | None, changes: dict[str, Any],
                   actor: Actor = SYSTEM) -> Release:
    required_text(changes, "name", "Name", creating=False)
    one_of(changes, "type", RELEASE_TYPES, "Release type")
    one_of(changes, "status", RELEASE_STATUSES, "Status")
    with records.atomic():
        return records.update(Release, release_id, version, changes, actor)


def add_change(release_id, change, actor: Actor = SYSTEM) -> None:  # noqa: ANN001
    with records.atomic():
        release = records.get(Release, release_id)
        change_id = getattr(change, "id", change)
        ReleaseChange.insert(release=release.id, change=change_id).on_conflict_ignore().execute()
        records.write_journal("release", release.id, release.ref, [("change+", None, change_id)],
                              actor)


def add_step(release_id, values: dict[str, Any], actor: Actor = SYSTEM) -> ReleaseStep:
    required_text(values, "name", "Name")
    one_of(values, "kind", STEP_KINDS, "Step kind")
    one_of(values, "status", STEP_STATUSES, "Step status")
    ordered_times(values, "planned_start", "planned_end", "Planned window")
    with records.atomic():
        release = records.get(Release, release_id)
        return records.create(ReleaseStep, {**values, "release": release.id}, actor)


@dataclass(frozen=True)
class ReleaseSpan:
    """A release as the change calendar shows it: its planned window and rollout waves."""

    id: Any
    ref: str
    name: str
    release_version: str | None
    type: str
    status: str
    risk_level: str | None
    start: dt.datetime
    end: dt.datetime
    waves: tuple = ()  # ((step name, site code or None, start, end), ...)


def _span_of(release: Release, steps: list[ReleaseStep]) -> tuple | None:
    starts = [s.planned_start for s in steps if s.planned_start] + (
        [release.planned_start] if release.planned_start else [])
    ends = [s.planned_end or s.planned_start for s in steps if s.planned_start] + (
        [release.planned_end or release.planned_start] if release.planned_start else [])
    if not starts:
        return None
    start = release.planned_start or min(starts)
    end = release.planned_end or max(ends)
    return start, max(end, start)


def releases_between(start: dt.datetime, end: dt.datetime) -> list[ReleaseSpan]:
    """Releases whose planned window (or, without one, their steps' span) overlaps [start, end).

    Naive UTC datetimes in and out.  Closed releases are included (the calendar greys them).
    """
    dated = (Release.select().where(
        Release.planned_start.is_null(False) & (Release.planned_start < end)
        & (fn.COALESCE(Release.planned_end, Release.planned_start) >= start)))
    undated_ids = (ReleaseStep.select(ReleaseStep.release).distinct().join(Release).where(
        Release.planned_start.is_null(True) & ReleaseStep.planned_start.is_null(False)
        & (ReleaseStep.planned_start < end)
        & (fn.COALESCE(ReleaseStep.planned_end, ReleaseStep.planned_start) >= start)))
    undated = Release.select().where(Release.id.in_(undated_ids))
    releases = {r.id: r for r in list(dated) + list(undated)}
    if not releases:
        return []
    steps_by: dict[Any, list[ReleaseStep]] = {rid: [] for rid in releases}
    for step in (ReleaseStep.select(ReleaseStep, Site).join(Site, pw.JOIN.LEFT_OUTER)
                 .where(ReleaseStep.release.in_(list(releases)))
                 .order_by(ReleaseStep.planned_start, ReleaseStep.position)):
        steps_by[step.release_id].append(step)
    spans = []
    for rid, release in releases.items():
        window = _span_of(release, steps_by[rid])
        if window is None:
            continue
        waves = tuple((s.name, s.site.code if s.site_id else None, s.planned_start,
                       s.planned_end or s.planned_start)
                      for s in steps_by[rid] if s.kind == "wave" and s.planned_start)
        spans.append(ReleaseSpan(release.id, release.ref, release.name, release.release_version,
                                 release.type, release.status, release.risk_level, window[0],
                                 window[1], waves))
    spans.sort(key=lambda s: (s.start, s.ref))
    return spans
