"""Release lifecycle: allowed status moves, the bundled changes' roll-up, and release risk.

Status: planning -> build -> test -> approved -> deploying -> deployed -> in_review -> closed.
A release may step back (test -> build when a test fails, deploying -> approved when a rollout is
halted) and may be cancelled (closed) while it is still being planned or built.

Roll-up rule: a release cannot move to *deploying* or *deployed* while any change it bundles is
unapproved.  A change counts as approved when its status is one of :data:`APPROVED_CHANGE_STATUSES`
(the CAB said yes and nothing undid it since).  Moving to *approved* needs at least one change.

Risk: the highest risk of the bundled changes (a change's ``risk_override`` wins over its
computed ``risk_level``), raised by the release's own factors (emergency type, number of rollout
sites, major release, no backout plan).  The result and its reasons are a :class:`ReleaseRisk`;
:func:`refresh_risk` stores the level on the release (journalled when it changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itsmdesk.errors import N_, TransitionError
from itsmdesk.models.change import RISK_LEVELS, Change
from itsmdesk.models.release import RELEASE_STATUSES, Release, ReleaseChange, ReleaseStep
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require

APPROVED_CHANGE_STATUSES = ("approved", "scheduled", "implementing", "implemented", "in_review",
                            "closed")
NEEDS_APPROVED_CHANGES = ("deploying", "deployed")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planning": ("build", "closed"),
    "build": ("test", "planning", "closed"),
    "test": ("approved", "build"),
    "approved": ("deploying", "build"),
    "deploying": ("deployed", "approved"),
    "deployed": ("in_review",),
    "in_review": ("closed",),
    "closed": (),
}
assert set(TRANSITIONS) == set(RELEASE_STATUSES)


@dataclass(frozen=True)
class ChangeState:
    id: Any
    ref: str
    title: str
    status: str
    risk: str | None  # the effective risk: override, else computed level
    approved: bool


@dataclass(frozen=True)
class Rollup:
    """What the bundled changes say about the release."""

    changes: tuple[ChangeState, ...]
    by_status: dict[str, int]

    @property
    def unapproved(self) -> tuple[ChangeState, ...]:
        return tuple(c for c in self.changes if not c.approved)

    @property
    def all_approved(self) -> bool:
        return bool(self.changes) and not self.unapproved

    @property
    def can_deploy(self) -> bool:
        return not self.unapproved


@dataclass(frozen=True)
class RiskFactor:
    factor: str
    level: str
    why: str  # English text
    # the reason as an N_() template and its parameters (shown translated by views and reports)
    why_template: str = ""
    why_params: dict = field(default_factory=dict, hash=False, compare=False)


def _factor(factor: str, level: str, template: str, **params) -> RiskFactor:
    return RiskFactor(factor, level, template.format(**params), template, params)


@dataclass(frozen=True)
class ReleaseRisk:
    level: str
    from_changes: str | None
    factors: tuple[RiskFactor, ...] = field(default_factory=tuple)


def effective_change_risk(change: Change) -> str | None:
    return change.risk_override or change.risk_level


def change_states(release_id) -> list[ChangeState]:  # noqa: ANN001
    query = (Change.select(Change.id, Change.ref, Change.title, Change.status, Change.risk_level,
                           Change.risk_override)
             .join(ReleaseChange, on=(ReleaseChange.change == Change.id))
             .where(ReleaseChange.release == release_id).order_by(Change.ref))
    return [ChangeState(c.id, c.ref, c.title, c.status, effective_change_risk(c),
                        c.status in APPROVED_CHANGE_STATUSES) for c in query]


def rollup(release_id) -> Rollup:  # noqa: ANN001
    states = change_states(release_id)
    counts: dict[str, int] = {}
    for state in states:
        counts[state.status] = counts.get(state.status, 0) + 1
    return Rollup(tuple(states), counts)


def allowed_transitions(release: Release) -> tuple[str, ...]:
    return TRANSITIONS.get(release.status, ())


def check_transition(release: Release, status: str, roll: Rollup | None = None) -> None:
    """Raise :class:`TransitionError` when ``release`` may not move to ``status``."""
    if status not in RELEASE_STATUSES:
        raise TransitionError(N_("Status '{value}' is not one of: {allowed}"), field="status",
                              value=status, allowed=", ".join(RELEASE_STATUSES))
    if status not in allowed_transitions(release):
        raise TransitionError(
            N_("{release} cannot move from {old} to {new} (allowed: {allowed})"), field="status",
            release=release.ref, old=release.status, new=status,
            allowed=", ".join(allowed_transitions(release)) or "-")
    roll = roll or rollup(release.id)
    if status == "approved" and not roll.changes:
        raise TransitionError(N_("{release} bundles no change; add the approved changes first"),
                              field="status", release=release.ref)
    if status in NEEDS_APPROVED_CHANGES and roll.unapproved:
        raise TransitionError(
            N_("{release} cannot move to {new}: bundled change(s) not approved: {changes}"),
            field="status", release=release.ref, new=status,
            changes=", ".join(f"{c.ref} ({c.status})" for c in roll.unapproved))


def transition(release_id, version: int | None, target: str,  # noqa: ANN001
               actor: Actor = SYSTEM) -> Release:
    """Move a release to ``target`` (version-checked, journalled); refreshes its risk."""
    require(actor, "release.manage")
    status = target
    with records.atomic():
        release = records.get(Release, release_id)
        if version is not None and release.version != version:
            records.raise_conflict(release, version)
        check_transition(release, status)
        release = records.update(Release, release.id, release.version, {"status": status}, actor)
        refresh_risk(release.id, actor)
        return records.get(Release, release.id)


def _level(index: int) -> str:
    return RISK_LEVELS[max(0, min(index, len(RISK_LEVELS) - 1))]


def assess_risk(release_id) -> ReleaseRisk:  # noqa: ANN001
    release = records.get(Release, release_id)
    steps = (ReleaseStep.select(ReleaseStep.kind, ReleaseStep.site)
             .where(ReleaseStep.release == release.id).tuples())
    return risk_of(release.type, release.backout_plan, change_states(release.id), list(steps))


def risk_of(release_type: str, backout_plan: str | None, states: list[ChangeState],
            steps: list[tuple[str, Any]]) -> ReleaseRisk:
    """The release's risk (see the module's docstring) from what is read already: its type and
    backout plan, its bundled changes' states and its steps as (kind, site id)."""
    ranks = [RISK_LEVELS.index(s.risk) for s in states if s.risk in RISK_LEVELS]
    from_changes = _level(max(ranks)) if ranks else None
    factors: list[RiskFactor] = []
    if from_changes:
        worst = [s.ref for s in states if s.risk == from_changes]
        factors.append(_factor("changes", from_changes,
                               N_("highest risk of the bundled changes ({changes})"),
                               changes=", ".join(worst)))
    rollout = [site for kind, site in steps if kind in ("pilot", "wave")]
    sites = {site for site in rollout if site}
    waves = len(rollout)
    if release_type == "emergency":
        factors.append(_factor("type", "high", N_("emergency release: shortened build and test")))
    elif release_type == "major":
        factors.append(_factor("type", "medium", N_("major release")))
    if len(sites) >= 6:
        factors.append(_factor("sites", "high", N_("rollout to {sites} sites"), sites=len(sites)))
    elif len(sites) >= 3 or waves >= 4:
        factors.append(_factor("sites", "medium", N_("rollout in {waves} waves to {sites} sites"),
                               waves=waves, sites=len(sites)))
    if not (backout_plan or "").strip() and not any(kind == "backout" for kind, _s in steps):
        factors.append(_factor("backout", "medium", N_("no backout plan")))
    base = RISK_LEVELS.index(from_changes) if from_changes else 0
    own = max((RISK_LEVELS.index(f.level) for f in factors if f.factor != "changes"), default=0)
    level = max(base, own)
    # Several own factors together, on top of risky changes, raise the level one step.
    if sum(1 for f in factors if f.factor != "changes") >= 2 and base >= 1:
        level += 1
        factors.append(_factor("combined", _level(level),
                               N_("several release factors on top of risky changes")))
    return ReleaseRisk(_level(level), from_changes, tuple(factors))


def refresh_risk(release_id, actor: Actor = SYSTEM) -> ReleaseRisk:  # noqa: ANN001
    """Recompute the release's risk and store the level (journalled when it changes)."""
    risk = assess_risk(release_id)
    with records.atomic():
        release = records.get(Release, release_id)
        if release.risk_level != risk.level:
            records.update(Release, release.id, None, {"risk_level": risk.level}, actor)
    return risk


def refresh_releases_of_change(change_id, actor: Actor = SYSTEM) -> list[str]:  # noqa: ANN001
    """Re-assess every release bundling ``change_id`` (call after the change's risk or status
    changed).  Returns the references of releases whose stored risk level changed."""
    changed = []
    query = (Release.select(Release.id, Release.ref, Release.risk_level)
             .join(ReleaseChange, on=(ReleaseChange.release == Release.id))
             .where(ReleaseChange.change == getattr(change_id, "id", change_id)))
    for release in query:
        if refresh_risk(release.id, actor).level != release.risk_level:
            changed.append(release.ref)
    return changed
