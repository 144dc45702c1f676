"""Release Management: releases, their bundled changes and plan steps."""

from __future__ import annotations

from typing import Any

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
