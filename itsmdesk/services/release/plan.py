"""Release plans: phases and steps with owners, planned/actual times, status and dependencies.

A plan is a list of :class:`~itsmdesk.models.release.ReleaseStep` rows.  Phases are steps of kind
``phase``; other steps point at their phase.  A step is owned by a person, a team or both (the
person within the team).  Dependencies are finish-to-start: a step may not be planned to start
before each step it depends on is planned to end, and may not start (in_progress/done) before
they are done or skipped.  Adding a dependency that would close a cycle is refused.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, TransitionError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.people import Person, Site, Team
from itsmdesk.models.release import (
    STEP_KINDS,
    STEP_STATUSES,
    Release,
    ReleaseStep,
    StepDependency,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.validation import one_of, ordered_times, required_text

FINISHED = ("done", "skipped")
STEP_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("in_progress", "done", "skipped"),
    "in_progress": ("done", "failed"),
    "failed": ("in_progress", "skipped"),
    "done": (),
    "skipped": ("planned",),
}


@dataclass(frozen=True)
class PlanRow:
    """One row of a release plan as views and reports show it."""

    id: Any
    version: int
    name: str
    kind: str
    phase_id: Any
    level: int  # 0 for phases and top-level steps, 1 for steps in a phase
    position: int
    owner: str  # "Person (Team)", "Person", "Team" or ""
    owner_person_id: Any
    owner_team_id: Any
    site: str | None  # site code
    site_id: Any
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    actual_start: dt.datetime | None
    actual_end: dt.datetime | None
    status: str
    depends_on: tuple  # ids
    depends_on_names: tuple


def _validate(values: dict[str, Any], creating: bool, current: dict | None = None) -> None:
    required_text(values, "name", "Name", 300, creating)
    one_of(values, "kind", STEP_KINDS, "Step kind")
    one_of(values, "status", STEP_STATUSES, "Step status")
    ordered_times(values, "planned_start", "planned_end", "Planned", current)
    current = current or {}
    start = values.get("actual_start", current.get("actual_start"))
    end = values.get("actual_end", current.get("actual_end"))
    if start and end and end < start:  # a step may take no time at all, never negative time
        raise ValidationError(N_("{label}: the end ({end}) must come after the start ({start})"),
                              field="actual_end", label="Actual", start=start, end=end)


def _step(step_id) -> ReleaseStep:  # noqa: ANN001
    return records.get(ReleaseStep, getattr(step_id, "id", step_id))


def _check_phase(release_id, values: dict[str, Any]) -> None:  # noqa: ANN001
    phase_id = values.get("phase")
    if phase_id is None:
        return
    phase = _step(phase_id)
    if phase.release_id != release_id or phase.kind != "phase":
        raise ValidationError(N_("'{name}' is not a phase of this release"), field="phase",
                              name=phase.name)
    values["phase"] = phase.id
    if values.get("kind") == "phase":
        raise ValidationError(N_("A phase cannot sit inside another phase"), field="phase")


def add_step(release_id, values: dict[str, Any], actor: Actor = SYSTEM,  # noqa: ANN001
             depends_on: list | None = None) -> ReleaseStep:
    """Add a phase or step; ``depends_on`` lists steps it waits for."""
    require(actor, "release.manage")
    values = dict(values)
    values.setdefault("kind", "other")
    _validate(values, True)
    with records.atomic():
        release = records.get(Release, getattr(release_id, "id", release_id))
        _check_phase(release.id, values)
        if "position" not in values:
            last = (ReleaseStep.select(ReleaseStep.position)
                    .where(ReleaseStep.release == release.id)
                    .order_by(ReleaseStep.position.desc()).first())
            values["position"] = (last.position + 1) if last else 0
        step = records.create(ReleaseStep, {**values, "release": release.id}, actor)
        for other in depends_on or []:
            add_dependency(step.id, other, actor)
        return step


def add_phase(release_id, name: str, actor: Actor = SYSTEM, **values: Any) -> ReleaseStep:  # noqa: ANN001
    require(actor, "release.manage")
    return add_step(release_id, {"name": name, "kind": "phase", **values}, actor)


def update_step(step_id, version: int | None, changes: dict[str, Any],  # noqa: ANN001
                actor: Actor = SYSTEM) -> ReleaseStep:
    require(actor, "release.manage")
    changes = dict(changes)
    with records.atomic():
        step = _step(step_id)
        _validate(changes, False, records.snapshot(step))
        if "phase" in changes:
            _check_phase(step.release_id, {**changes, "kind": changes.get("kind", step.kind)})
        if "status" in changes and changes["status"] != step.status:
            _check_status(step, changes["status"])
            _stamp_actuals(step, changes)
        updated = records.update(ReleaseStep, step.id, version, changes, actor)
        if {"planned_start", "planned_end"} & set(changes):
            _check_dates_against_dependencies(updated)
        return updated


def edit_step(step_id, version: int | None, changes: dict[str, Any], depends_on: list,  # noqa: ANN001
              actor: Actor = SYSTEM) -> ReleaseStep:
    """Update a step's fields and make it depend on exactly ``depends_on`` (one transaction)."""
    require(actor, "release.manage")
    with records.atomic():
        step = _step(step_id)
        wanted = {getattr(d, "id", d) for d in depends_on}
        have = _graph(step.release_id).get(step.id, set())
        for old in have - wanted:
            remove_dependency(step.id, old, actor)
        if changes:
            step = update_step(step.id, version, changes, actor)
        elif version is not None and step.version != version:
            records.raise_conflict(step, version)
        for new in wanted - have:
            add_dependency(step.id, new, actor)
        return _step(step.id)


def _check_status(step: ReleaseStep, status: str) -> None:
    if status not in STEP_TRANSITIONS.get(step.status, ()):
        raise TransitionError(N_("Step '{name}' cannot move from {old} to {new}"), field="status",
                              name=step.name, old=step.status, new=status)
    if status in ("in_progress", "done"):
        waiting = [d.depends_on.name for d in StepDependency.select(StepDependency, ReleaseStep)
                   .join(ReleaseStep, on=(StepDependency.depends_on == ReleaseStep.id))
                   .where(StepDependency.step == step.id)
                   if d.depends_on.status not in FINISHED]
        if waiting:
            raise TransitionError(N_("Step '{name}' waits for: {steps}"), field="status",
                                  name=step.name, steps=", ".join(sorted(waiting)))


def _stamp_actuals(step: ReleaseStep, changes: dict[str, Any]) -> None:
    now = utcnow().replace(microsecond=0)
    status = changes["status"]
    if status in ("in_progress", "done") and not step.actual_start:
        changes.setdefault("actual_start", now)
    if status in ("done", "failed") and not step.actual_end:
        changes.setdefault("actual_end", max(now, changes.get("actual_start") or now))


def set_step_status(step_id, status: str, actor: Actor = SYSTEM,  # noqa: ANN001
                    version: int | None = None) -> ReleaseStep:
    require(actor, "release.manage")
    return update_step(step_id, version, {"status": status}, actor)


def delete_step(step_id, actor: Actor = SYSTEM, version: int | None = None) -> None:  # noqa: ANN001
    require(actor, "release.manage")
    with records.atomic():
        step = _step(step_id)
        records.delete(ReleaseStep, step.id, version, actor)


def _graph(release_id) -> dict[Any, set]:  # noqa: ANN001
    graph: dict[Any, set] = defaultdict(set)
    query = (StepDependency.select(StepDependency.step, StepDependency.depends_on)
             .join(ReleaseStep, on=(StepDependency.step == ReleaseStep.id))
             .where(ReleaseStep.release == release_id))
    for dep in query:
        graph[dep.step_id].add(dep.depends_on_id)
    return graph


def _reaches(graph: dict[Any, set], start, goal) -> bool:  # noqa: ANN001
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(graph.get(node, ()))
    return False


def add_dependency(step_id, depends_on_id, actor: Actor = SYSTEM) -> None:  # noqa: ANN001
    """``step`` waits for ``depends_on`` to finish.  Refuses cycles, other releases, bad dates."""
    require(actor, "release.manage")
    with records.atomic():
        step, before = _step(step_id), _step(depends_on_id)
        if step.release_id != before.release_id:
            raise ValidationError(N_("Steps of different releases cannot depend on each other"),
                                  field="depends_on")
        if step.id == before.id:
            raise ValidationError(N_("Step '{name}' cannot depend on itself"), field="depends_on",
                                  name=step.name)
        graph = _graph(step.release_id)
        if before.id in graph.get(step.id, set()):
            return
        if _reaches(graph, before.id, step.id):
            raise ValidationError(
                N_("'{step}' cannot depend on '{other}': '{other}' already waits for '{step}' "
                   "(that would be a cycle)"), field="depends_on", step=step.name,
                other=before.name)
        _check_pair_dates(step, before)
        records.add_child(StepDependency, {"step": step.id, "depends_on": before.id}, actor)


def remove_dependency(step_id, depends_on_id, actor: Actor = SYSTEM) -> None:  # noqa: ANN001
    require(actor, "release.manage")
    with records.atomic():
        step, before = _step(step_id), _step(depends_on_id)
        records.remove_children(StepDependency, StepDependency.select().where(
            (StepDependency.step == step.id) & (StepDependency.depends_on == before.id)), actor)


def _check_pair_dates(step: ReleaseStep, before: ReleaseStep) -> None:
    end = before.planned_end or before.planned_start
    if step.planned_start and end and step.planned_start < end:
        raise ValidationError(
            N_("'{step}' is planned to start ({start}) before '{other}' ends ({end})"),
            field="planned_start", step=step.name, other=before.name,
            start=records.to_text(step.planned_start), end=records.to_text(end))


def _check_dates_against_dependencies(step: ReleaseStep) -> None:
    for dep in StepDependency.select().where(StepDependency.step == step.id):
        _check_pair_dates(step, _step(dep.depends_on_id))
    for dep in StepDependency.select().where(StepDependency.depends_on == step.id):
        _check_pair_dates(_step(dep.step_id), step)


def _owner_label(step: ReleaseStep) -> str:
    person = step.owner_person.name if step.owner_person_id else ""
    team = step.owner_team.name if step.owner_team_id else ""
    if person and team:
        return f"{person} ({team})"
    return person or team


def plan(release_id) -> list[PlanRow]:  # noqa: ANN001
    """The plan in display order: each phase followed by its steps, then loose steps."""
    query = (ReleaseStep.select(ReleaseStep, Person, Team, Site)
             .join(Person, pw.JOIN.LEFT_OUTER,
                   on=(ReleaseStep.owner_person == Person.id))
             .switch(ReleaseStep).join(Team, pw.JOIN.LEFT_OUTER,
                                       on=(ReleaseStep.owner_team == Team.id))
             .switch(ReleaseStep).join(Site, pw.JOIN.LEFT_OUTER,
                                       on=(ReleaseStep.site == Site.id))
             .where(ReleaseStep.release == release_id)
             .order_by(ReleaseStep.position, ReleaseStep.planned_start))
    steps = list(query)
    names = {s.id: s.name for s in steps}
    graph = _graph(release_id)

    def row(s: ReleaseStep, level: int) -> PlanRow:
        deps = tuple(sorted(graph.get(s.id, ()), key=lambda i: names.get(i, "")))
        return PlanRow(s.id, s.version, s.name, s.kind, s.phase_id, level, s.position,
                       _owner_label(s), s.owner_person_id, s.owner_team_id,
                       s.site.code if s.site_id else None, s.site_id, s.planned_start,
                       s.planned_end, s.actual_start, s.actual_end, s.status, deps,
                       tuple(names.get(d, "?") for d in deps))

    children: dict[Any, list[ReleaseStep]] = defaultdict(list)
    for s in steps:
        if s.phase_id:
            children[s.phase_id].append(s)
    out: list[PlanRow] = []
    for s in steps:
        if s.phase_id:
            continue
        kids = [row(c, 1) for c in children.get(s.id, [])]
        me = row(s, 0)
        if s.kind == "phase" and kids:
            me = replace(me, status=rolled_up_status([k.status for k in kids]))
        out.append(me)
        out.extend(kids)
    return out


def rolled_up_status(statuses: list[str]) -> str:
    """A phase's status from its steps: failed > in progress > done/skipped > planned."""
    if "failed" in statuses:
        return "failed"
    if all(s in FINISHED for s in statuses):
        return "skipped" if all(s == "skipped" for s in statuses) else "done"
    if any(s in ("in_progress", "done") for s in statuses):
        return "in_progress"
    return "planned"


def phase_span(rows: list[PlanRow], phase_id) -> tuple:  # noqa: ANN001
    """(start, end) of a phase: its own planned dates, else its steps' span."""
    me = next(r for r in rows if r.id == phase_id)
    kids = [r for r in rows if r.phase_id == phase_id and r.planned_start]
    start = me.planned_start or min((r.planned_start for r in kids), default=None)
    end = me.planned_end or max(((r.planned_end or r.planned_start) for r in kids), default=None)
    return start, end


def plan_problems(release_id) -> list[str]:  # noqa: ANN001
    """Plain-text warnings about the plan (for the form and the PDF)."""
    return problems_in(plan(release_id))


def problems_in(rows: list[PlanRow]) -> list[str]:
    """:func:`plan_problems` of plan rows read already."""
    by_id = {r.id: r for r in rows}
    problems = []
    for r in rows:
        if r.kind != "phase" and not r.owner:
            problems.append(f"'{r.name}' has no owner")
        if r.kind in ("pilot", "wave") and not r.site_id:
            problems.append(f"wave '{r.name}' has no site")
        for dep in r.depends_on:
            other = by_id.get(dep)
            end = other and (other.planned_end or other.planned_start)
            if other and r.planned_start and end and r.planned_start < end:
                problems.append(f"'{r.name}' starts before '{other.name}' ends")
    return problems
