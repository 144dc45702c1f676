"""Release Management: releases, their bundled changes and plan steps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import peewee as pw
from peewee import fn

from itsmdesk.errors import N_, NotFoundError, TransitionError, ValidationError
from itsmdesk.models.people import Site
from itsmdesk.models.release import (
    RELEASE_STATUSES,
    RELEASE_TYPES,
    Release,
    ReleaseChange,
    ReleaseStep,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.validation import one_of, ordered_times, required_text


def create_release(values: dict[str, Any], actor: Actor = SYSTEM, changes: list | None = None) -> Release:
    require(actor, "release.manage")
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
    require(actor, "release.manage")
    required_text(changes, "name", "Name", creating=False)
    one_of(changes, "type", RELEASE_TYPES, "Release type")
    one_of(changes, "status", RELEASE_STATUSES, "Status")
    with records.atomic():
        current = records.get(Release, release_id)
        ordered_times(changes, "planned_start", "planned_end", "Planned window",
                      records.snapshot(current))
        if changes.get("status") in ("deploying", "deployed") and changes["status"] != current.status:
            # Field edits may skip lifecycle steps, never the change roll-up rule.
            from itsmdesk.services.release import lifecycle as release_lifecycle

            roll = release_lifecycle.rollup(current.id)
            if roll.unapproved:
                raise TransitionError(
                    N_("{release} cannot move to {new}: bundled change(s) not approved: "
                       "{changes}"), field="status", release=current.ref, new=changes["status"],
                    changes=", ".join(f"{c.ref} ({c.status})" for c in roll.unapproved))
        return records.update(Release, release_id, version, changes, actor)


def add_change(release_id, change, actor: Actor = SYSTEM,  # noqa: ANN001
               version: int | None = None) -> None:
    """Bundle a change (``version``: the release's, as the caller read it)."""
    require(actor, "release.manage")
    with records.atomic():
        release = records.get(Release, release_id)
        records.check_version(Release, release.id, version)
        change_id = getattr(change, "id", change)
        if not ReleaseChange.select().where((ReleaseChange.release == release.id)
                                            & (ReleaseChange.change == change_id)).exists():
            records.add_child(ReleaseChange, {"release": release.id, "change": change_id}, actor,
                              version)


def add_step(release_id, values: dict[str, Any], actor: Actor = SYSTEM) -> ReleaseStep:
    """Add a plan step (see :mod:`itsmdesk.services.release.plan` for phases and dependencies)."""
    require(actor, "release.manage")
    from itsmdesk.services.release import plan as release_plan

    return release_plan.add_step(release_id, values, actor)


def remove_change(release_id, change, actor: Actor = SYSTEM,  # noqa: ANN001
                  version: int | None = None) -> None:
    """Take a change out of the bundle (``version``: the release's, as the caller read it)."""
    require(actor, "release.manage")
    with records.atomic():
        release = records.get(Release, release_id)
        records.check_version(Release, release.id, version)
        change_id = getattr(change, "id", change)
        records.remove_children(ReleaseChange, ReleaseChange.select().where(
            (ReleaseChange.release == release.id) & (ReleaseChange.change == change_id)), actor,
            version)


def set_changes(release_id, changes: list, actor: Actor = SYSTEM) -> None:  # noqa: ANN001
    """Make the release bundle exactly ``changes`` (ids or rows); refreshes its risk."""
    require(actor, "release.manage")
    from itsmdesk.services.release import lifecycle as release_lifecycle

    with records.atomic():
        wanted = {getattr(c, "id", c) for c in changes}
        have = {r.change_id for r in ReleaseChange.select().where(ReleaseChange.release == release_id)}
        for change_id in have - wanted:
            remove_change(release_id, change_id, actor)
        for change_id in wanted - have:
            add_change(release_id, change_id, actor)
        release_lifecycle.refresh_risk(release_id, actor)


def find_release(ref_or_id) -> Release:  # noqa: ANN001
    """A release by reference (``REL-000012``, any case) or id."""
    if isinstance(ref_or_id, Release):
        return ref_or_id
    text = str(ref_or_id).strip()
    release = Release.get_or_none(Release.ref == text.upper())
    if release is None:
        try:
            import uuid

            release = Release.get_or_none(Release.id == uuid.UUID(text))
        except ValueError:
            release = None
    if release is None:
        raise NotFoundError(N_("No release with reference '{ref}'"), ref=text)
    return release


@dataclass(frozen=True)
class ReleaseRow:
    id: Any
    ref: str
    name: str
    release_version: str | None
    type: str
    status: str
    risk_level: str | None
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    changes: int


def list_releases(text: str = "", statuses: tuple | list | None = None, limit: int = 200,
                  offset: int = 0) -> list[ReleaseRow]:
    """Releases for the list dock, newest planned first, one page at a time."""
    counts = (ReleaseChange.select(ReleaseChange.release, fn.COUNT(ReleaseChange.id).alias("n"))
              .group_by(ReleaseChange.release).alias("counts"))
    query = (Release.select(Release, fn.COALESCE(counts.c.n, 0).alias("n_changes"))
             .join(counts, pw.JOIN.LEFT_OUTER, on=(counts.c.release_id == Release.id)))
    if statuses:
        query = query.where(Release.status.in_(list(statuses)))
    if text and text.strip():
        like = f"%{text.strip()}%"
        query = query.where(Release.ref.ilike(like) | Release.name.ilike(like)
                            | Release.release_version.ilike(like))
    query = (query.order_by(Release.planned_start.desc(nulls="last"), Release.ref.desc())
             .limit(limit).offset(offset))
    return [ReleaseRow(r.id, r.ref, r.name, r.release_version, r.type, r.status, r.risk_level,
                       r.planned_start, r.planned_end, r.n_changes) for r in query.objects()]


def affected_services(release_id) -> list:  # noqa: ANN001
    """Business services the bundled changes' CIs impact (``impact.ImpactedCI`` rows)."""
    from itsmdesk.models.change import ChangeCI

    ci_ids = [r.ci_id for r in ChangeCI.select(ChangeCI.ci).distinct()
              .join(ReleaseChange, on=(ReleaseChange.change == ChangeCI.change))
              .where(ReleaseChange.release == release_id)]
    if not ci_ids:
        return []
    from itsmdesk.services.cmdb.impact import impacted_services

    return list(impacted_services(ci_ids))


@dataclass(frozen=True)
class ReleaseDetail:
    """Everything the form, the CLI and the PDF show about one release."""

    release: Release
    manager: str | None
    team: str | None
    rollup: Any  # release_lifecycle.Rollup
    risk: Any  # release_lifecycle.ReleaseRisk
    plan: list
    items: list
    services: list
    allowed: tuple
    problems: list


def release_detail(ref_or_id) -> ReleaseDetail:  # noqa: ANN001
    from itsmdesk.services.release import dml
    from itsmdesk.services.release import lifecycle as release_lifecycle
    from itsmdesk.services.release import plan as release_plan

    release = find_release(ref_or_id)
    return ReleaseDetail(
        release, release.manager.name if release.manager_id else None,
        release.team.name if release.team_id else None,
        release_lifecycle.rollup(release.id), release_lifecycle.assess_risk(release.id),
        release_plan.plan(release.id), dml.items(release.id), affected_services(release.id),
        release_lifecycle.allowed_transitions(release), release_plan.plan_problems(release.id))


def detail_as_dict(detail: ReleaseDetail) -> dict[str, Any]:
    """Plain JSON-able data (``itsmdesk releases show --json``)."""
    r = detail.release
    return {
        "id": str(r.id), "ref": r.ref, "name": r.name, "version": r.release_version,
        "type": r.type, "status": r.status, "manager": detail.manager, "team": detail.team,
        "planned_start": records.to_text(r.planned_start),
        "planned_end": records.to_text(r.planned_end), "description": r.description,
        "backout_plan": r.backout_plan, "allowed_transitions": list(detail.allowed),
        "risk": {"level": detail.risk.level, "from_changes": detail.risk.from_changes,
                 "factors": [{"factor": f.factor, "level": f.level, "why": f.why}
                             for f in detail.risk.factors]},
        "changes": [{"ref": c.ref, "title": c.title, "status": c.status, "risk": c.risk,
                     "approved": c.approved} for c in detail.rollup.changes],
        "can_deploy": detail.rollup.can_deploy,
        "services": [getattr(s, "name", str(s)) for s in detail.services],
        "plan": [{"id": str(p.id), "name": p.name, "kind": p.kind, "level": p.level,
                  "owner": p.owner, "site": p.site, "status": p.status,
                  "planned_start": records.to_text(p.planned_start),
                  "planned_end": records.to_text(p.planned_end),
                  "actual_start": records.to_text(p.actual_start),
                  "actual_end": records.to_text(p.actual_end),
                  "depends_on": list(p.depends_on_names)} for p in detail.plan],
        "items": [{"name": i.name, "version": i.version, "checksum": i.checksum,
                   "ci": i.ci_name} for i in detail.items],
        "problems": detail.problems,
    }


def find_step(release_id, name_or_id) -> ReleaseStep:  # noqa: ANN001
    """A step of the release by id, exact name, or unique case-insensitive name prefix."""
    text = str(name_or_id).strip()
    steps = list(ReleaseStep.select().where(ReleaseStep.release == release_id))
    for step in steps:
        if str(step.id) == text or step.name == text:
            return step
    hits = [s for s in steps if s.name.lower().startswith(text.lower())]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise NotFoundError(N_("No step '{step}' in this release"), step=text)
    raise ValidationError(N_("'{step}' matches several steps: {names}"), field="step", step=text,
                          names=", ".join(sorted(s.name for s in hits)))


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
                      for s in steps_by[rid] if s.kind in ("pilot", "wave") and s.planned_start)
        spans.append(ReleaseSpan(release.id, release.ref, release.name, release.release_version,
                                 release.type, release.status, release.risk_level, window[0],
                                 window[1], waves))
    spans.sort(key=lambda s: (s.start, s.ref))
    return spans


def add_change_by_ref(release_id, ref: str, actor: Actor = SYSTEM,  # noqa: ANN001
                      version: int | None = None) -> Any:
    """Bundle the change with reference ``ref``; refreshes the release's risk.  Returns it.
    ``version``: the release's, as the caller read it."""
    require(actor, "release.manage")
    from itsmdesk.models.change import Change
    from itsmdesk.services.release import lifecycle as release_lifecycle

    text = (ref or "").strip().upper()
    change = Change.get_or_none(Change.ref == text)
    if change is None:
        raise NotFoundError(N_("No change with reference '{ref}'"), ref=text)
    with records.atomic():
        add_change(release_id, change.id, actor, version)
        release_lifecycle.refresh_risk(release_id, actor)
    return change


def remove_change_and_rerisk(release_id, change_id, actor: Actor = SYSTEM,  # noqa: ANN001
                             version: int | None = None) -> None:
    require(actor, "release.manage")
    from itsmdesk.services.release import lifecycle as release_lifecycle

    with records.atomic():
        remove_change(release_id, change_id, actor, version)
        release_lifecycle.refresh_risk(release_id, actor)


@dataclass(frozen=True)
class PlanChoices:
    """What the release form's pickers and the add-step dialog offer: people (agents), teams
    and sites as (id, label)."""

    people: tuple
    teams: tuple
    sites: tuple


def plan_choices() -> PlanChoices:
    """Agents, teams and sites in one query (a UNION ALL)."""
    from itsmdesk.models.people import Person, Team

    people = (Person.select(pw.SQL("'person'"), Person.id, Person.name, Person.name)
              .where((Person.active == True) & (Person.is_agent == True)))  # noqa: E712
    teams = Team.select(pw.SQL("'team'"), Team.id, Team.name, Team.name)
    sites = Site.select(pw.SQL("'site'"), Site.id, Site.code.concat(" · ").concat(Site.name),
                        Site.name)
    found: dict[str, list] = {"person": [], "team": [], "site": []}
    for kind, row_id, label, key in people.union_all(teams).union_all(sites).tuples():
        found[kind].append((key, str(row_id), row_id, label))
    out = {kind: tuple((row_id, label) for _k, _s, row_id, label in sorted(rows))
           for kind, rows in found.items()}
    return PlanChoices(out["person"][:500], out["team"], out["site"])


# -- the release form -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseView:
    """Everything the release form shows (plain values)."""

    id: Any
    version: int
    ref: str
    name: str
    release_version: str | None
    type: str
    status: str
    description: str | None
    backout_plan: str | None
    manager_id: Any
    manager_name: str | None
    team_id: Any
    team_name: str | None
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    changes: tuple  # lifecycle.ChangeState, by reference
    risk: Any  # lifecycle.ReleaseRisk
    plan: tuple  # plan.PlanRow, in display order
    items: tuple  # dml.DmlItem
    services: tuple[str, ...] | None  # business services its changes reach (None: asked apart)
    allowed: tuple[str, ...]  # the statuses it may move to
    problems: tuple[str, ...]  # warnings about the plan
    choices: PlanChoices

    @property
    def unapproved(self) -> tuple:
        return tuple(c for c in self.changes if not c.approved)

    @property
    def all_approved(self) -> bool:
        return bool(self.changes) and not self.unapproved

    @property
    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.status] = counts.get(c.status, 0) + 1
        return counts


def release_services(release_id) -> tuple[str, ...]:  # noqa: ANN001
    """Names of the business services the release's changes reach (the CMDB's impact walk:
    a form asks for it apart, in parallel with its read model)."""
    return tuple(s.name for s in affected_services(release_id))


def release_view(release_id, with_services: bool = True) -> ReleaseView:  # noqa: ANN001
    """The release form's read model: the release with its manager and team, its changes, its
    plan and dependencies, its media items, the choices (one query), the CIs of its changes and
    the CMDB's impact walk from them to the business services.  Risk, allowed moves and plan
    warnings are computed from what was read."""
    from itsmdesk.models.people import Person, Team
    from itsmdesk.services.release import dml
    from itsmdesk.services.release import lifecycle as release_lifecycle
    from itsmdesk.services.release import plan as release_plan

    manager = Person.alias()
    row = (Release.select(Release, manager.name.alias("manager_name"),
                          Team.name.alias("team_name"))
           .join(manager, pw.JOIN.LEFT_OUTER, on=(Release.manager == manager.id))
           .switch(Release).join(Team, pw.JOIN.LEFT_OUTER, on=(Release.team == Team.id))
           .where(Release.id == release_id).objects().first())
    if row is None:
        raise NotFoundError(N_("No release with reference '{ref}'"), ref=str(release_id))
    states = tuple(release_lifecycle.change_states(row.id))
    plan = tuple(release_plan.plan(row.id))
    risk = release_lifecycle.risk_of(row.type, row.backout_plan, list(states),
                                     [(p.kind, p.site_id) for p in plan])
    services = (tuple(s.name for s in affected_services(row.id)) if states else ()) \
        if with_services else None
    return ReleaseView(row.id, row.version, row.ref, row.name, row.release_version, row.type,
                       row.status, row.description, row.backout_plan, row.manager_id,
                       row.manager_name, row.team_id, row.team_name, row.planned_start,
                       row.planned_end, states, risk, plan, tuple(dml.items(row.id)), services,
                       release_lifecycle.TRANSITIONS.get(row.status, ()),
                       tuple(release_plan.problems_in(list(plan))), plan_choices())


RELEASE_FIELDS = ("name", "release_version", "type", "planned_start", "planned_end",
                  "description", "backout_plan", "manager", "team")


def save_release(release_id, version: int | None, edits: dict[str, Any],  # noqa: ANN001
                 actor: Actor = SYSTEM, new_id: Any = None) -> Release:
    """Create (``release_id`` None, with key ``new_id``) or update a release from the form's
    edits in one transaction; its stored risk level follows its type and backout plan."""
    require(actor, "release.manage")
    from itsmdesk.services.release import lifecycle as release_lifecycle

    values = {k: v for k, v in edits.items() if k in RELEASE_FIELDS}
    with records.atomic():
        if release_id is None:
            if new_id is not None:
                values["id"] = new_id
            release = create_release(values, actor)
            release_lifecycle.refresh_risk(release.id, actor)
            return records.get(Release, release.id)
        update_release(release_id, version, values, actor)
        if {"type", "backout_plan"} & set(values):
            release_lifecycle.refresh_risk(release_id, actor)
        return records.get(Release, release_id)
