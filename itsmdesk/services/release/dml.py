"""The definitive media library (DML) and rollout waves.

Each item a release delivers is a :class:`~itsmdesk.models.release.ReleaseItem` linked to a CMDB
software CI (class ``software``, no site) that stands for the authorised master copy: its
``ci_version`` is the delivered version and its ``checksum`` attribute the media checksum.

The installed copies at the sites are ordinary software CIs.  A copy *matches* an item when it
is a software CI at the wave's site and either is related to the master CI (any relation type,
either direction) or is named after the item (``name`` equal to the item's name, or the item's
name followed by a space, e.g. ``Payroll client OSL-PC-12``).

:func:`deploy_wave` sets ``ci_version`` of every matching copy at the wave's site to the item's
version through :func:`itsmdesk.services.cmdb.cis.update_ci` (so each CI's history shows it), marks
the wave done and moves the release to *deploying* (first wave) and *deployed* (last wave),
subject to the lifecycle's change roll-up rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, TransitionError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.cmdb import CI, CIClass, Relation
from itsmdesk.models.release import Release, ReleaseItem, ReleaseStep
from itsmdesk.services import records
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan

CHECKSUM_RE = re.compile(r"^(sha256:|sha1:|md5:)?[0-9a-fA-F]{32,128}$")
DEPLOYABLE = ("approved", "deploying")
WAVE_KINDS = ("pilot", "wave")  # steps that roll the release out to one site


@dataclass(frozen=True)
class DmlItem:
    id: Any
    name: str
    version: str
    checksum: str | None
    ci_id: Any
    ci_name: str | None


@dataclass(frozen=True)
class CIUpdate:
    ci_id: Any
    name: str
    old_version: str | None
    new_version: str


@dataclass(frozen=True)
class WaveResult:
    step_id: Any
    step_name: str
    site: str
    updated: tuple[CIUpdate, ...]
    unchanged: int  # matching CIs already at the item's version
    release_status: str


def _software_class() -> CIClass:
    return cmdb.get_class("software")


def add_item(release_id, name: str, version: str, checksum: str | None = None,  # noqa: ANN001
             actor: Actor = SYSTEM, ci=None, release_version: int | None = None,  # noqa: ANN001
             ) -> ReleaseItem:
    """Register a delivered item; creates its master software CI unless ``ci`` is given.
    ``version`` is the item's; ``release_version`` the release's, as the caller read it (a
    stale release conflicts)."""
    require(actor, "release.manage")
    name, version = (name or "").strip(), (version or "").strip()
    if not name:
        raise ValidationError(N_("{label} is required"), field="name", label="Name")
    if not version:
        raise ValidationError(N_("{label} is required"), field="item_version", label="Version")
    if checksum and not CHECKSUM_RE.match(checksum.strip()):
        raise ValidationError(N_("'{value}' is not a checksum (hex digits, optionally "
                                 "prefixed sha256:)"), field="checksum", value=checksum)
    with records.atomic():
        release = records.get(Release, getattr(release_id, "id", release_id))
        records.check_version(Release, release.id, release_version)
        if ReleaseItem.select().where((ReleaseItem.release == release.id)
                                      & (ReleaseItem.name == name)).exists():
            raise ValidationError(N_("{release} already delivers '{name}'"), field="name",
                                  release=release.ref, name=name)
        if ci is None:
            master = f"DML {name} {version}"
            ci = CI.get_or_none(CI.name == master)
            if ci is None:
                ci = cmdb.create_ci({"name": master, "ci_class": _software_class(),
                                     "status": "planned", "ci_version": version,
                                     "description": f"Definitive media for {release.ref}",
                                     "attributes": {"checksum": checksum} if checksum else {}},
                                    actor)
        ci_id = getattr(ci, "id", ci)
        return records.add_child(ReleaseItem, {"release": release.id, "ci": ci_id, "name": name,
                                               "item_version": version,
                                               "checksum": (checksum or "").strip() or None}, actor,
                                 release_version)


def remove_item(item_id, actor: Actor = SYSTEM, version: int | None = None) -> None:  # noqa: ANN001
    """Remove a delivered item (``version``: its release's, as the caller read it)."""
    require(actor, "release.manage")
    with records.atomic():
        records.remove_child(ReleaseItem, item_id, actor, version)


def items(release_id) -> list[DmlItem]:  # noqa: ANN001
    query = (ReleaseItem.select(ReleaseItem, CI).join(CI, pw.JOIN.LEFT_OUTER,
                                                        on=(ReleaseItem.ci == CI.id))
             .where(ReleaseItem.release == release_id).order_by(ReleaseItem.name))
    return [DmlItem(i.id, i.name, i.item_version, i.checksum, i.ci_id,
                    i.ci.name if i.ci_id else None) for i in query]


def matching_cis(item: ReleaseItem | DmlItem, site_id) -> list[CI]:  # noqa: ANN001
    """The installed software CIs at ``site_id`` that are copies of ``item``."""
    software = _software_class()
    related: set = set()
    if item.ci_id:
        related |= {r.source_id for r in Relation.select(Relation.source)
                    .where(Relation.target == item.ci_id)}
        related |= {r.target_id for r in Relation.select(Relation.target)
                    .where(Relation.source == item.ci_id)}
    by_name = (CI.name == item.name) | CI.name.startswith(item.name + " ")
    cond = by_name | CI.id.in_(list(related)) if related else by_name
    query = (CI.select().where((CI.ci_class == software.id) & (CI.site == site_id) & cond)
             .order_by(CI.name))
    return [ci for ci in query if ci.id != item.ci_id]


def _wave(step_id) -> ReleaseStep:  # noqa: ANN001
    step = records.get(ReleaseStep, getattr(step_id, "id", step_id))
    if step.kind not in WAVE_KINDS:
        raise ValidationError(N_("'{name}' is not a rollout wave"), field="step", name=step.name)
    if not step.site_id:
        raise ValidationError(N_("Wave '{name}' has no site"), field="site", name=step.name)
    return step


def preview_wave(step_id) -> list[tuple[DmlItem, CI]]:  # noqa: ANN001
    """What :func:`deploy_wave` would touch: (item, CI) pairs."""
    step = _wave(step_id)
    return [(item, ci) for item in items(step.release_id) for ci in matching_cis(item, step.site_id)]


def deploy_wave(step_id, actor: Actor = SYSTEM, version: int | None = None,  # noqa: ANN001
                release_version: int | None = None) -> WaveResult:
    """Deploy one rollout wave: update the site's software CIs to the delivered versions.
    ``version`` (the wave step's) and ``release_version`` (its release's), as the caller read
    them: a stale one conflicts and nothing is deployed."""
    require(actor, "release.manage")
    with records.atomic():
        step = _wave(step_id)
        records.check_version(ReleaseStep, step.id, version)
        release = records.get(Release, step.release_id)
        records.check_version(Release, release.id, release_version)
        if release.status not in DEPLOYABLE:
            raise TransitionError(
                N_("{release} is {status}; waves are deployed once it is approved"),
                field="status", release=release.ref, status=release.status)
        if step.status == "done":
            raise TransitionError(N_("Wave '{name}' is already deployed"), field="status",
                                  name=step.name)
        if release.status == "approved":
            release = release_lifecycle.transition(release.id, None, "deploying", actor)
        else:  # already deploying: a change may have been un-approved since
            roll = release_lifecycle.rollup(release.id)
            if roll.unapproved:
                raise TransitionError(
                    N_("{release} cannot move to {new}: bundled change(s) not approved: "
                       "{changes}"), field="status", release=release.ref, new="deploying",
                    changes=", ".join(f"{c.ref} ({c.status})" for c in roll.unapproved))
        if step.status in ("planned", "failed"):
            step = release_plan.set_step_status(step.id, "in_progress", actor)
        updated: list[CIUpdate] = []
        unchanged = 0
        for item in items(release.id):
            for ci in matching_cis(item, step.site_id):
                if ci.ci_version == item.version:
                    unchanged += 1
                    continue
                cmdb.update_ci(ci.id, ci.version, {"ci_version": item.version}, actor)
                updated.append(CIUpdate(ci.id, ci.name, ci.ci_version, item.version))
        now = utcnow().replace(microsecond=0)
        end = max(now, step.actual_start or now)
        step = release_plan.update_step(step.id, step.version, {"status": "done", "actual_end": end},
                                        actor)
        records.note(Release, release.id, "wave_deployed",
                     f"{step.name}: {len(updated)} CI(s) updated", actor)
        remaining = (ReleaseStep.select().where((ReleaseStep.release == release.id)
                                                & ReleaseStep.kind.in_(WAVE_KINDS)
                                                & ReleaseStep.status.not_in(release_plan.FINISHED))
                     .count())
        if remaining == 0:
            release = release_lifecycle.transition(release.id, None, "deployed", actor)
        site = step.site.code
        return WaveResult(step.id, step.name, site, tuple(updated), unchanged, release.status)
