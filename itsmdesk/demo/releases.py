"""Extra demo data for Release Management, on top of ``demo.generate("small")``.

``demo_release(rng)`` gives every demo release a definitive media library (DML items as
software CIs) and installed software CIs at each wave's site, and adds one release that is
already rolling out ("Payroll 5.1": approved changes, build and test done, pilot deployed) so
the Gantt chart shows actuals and ``releases deploy-wave`` has something to deploy.
Idempotent: releases that already have DML items are left alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random

from itsmdesk.models.change import Change
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Person, Site, Team
from itsmdesk.models.release import Release, ReleaseItem, ReleaseStep
from itsmdesk.services import records
from itsmdesk.services.change import changes, risk
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.release import dml, releases
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan

ITEMS = {  # release name keyword -> [(item name, old version)]
    "Web Shop": [("Web Shop frontend", "4.1.3"), ("Web Shop checkout service", "4.1.0")],
    "scanner": [("Scanner firmware", "2.6.4")],
    "Payroll": [("Payroll client", "5.0.2")],
}


def _checksum(name: str, version: str) -> str:
    return "sha256:" + hashlib.sha256(f"{name} {version}".encode()).hexdigest()


def _items_for(release: Release) -> list[tuple[str, str]]:
    for key, items in ITEMS.items():
        if key.lower() in release.name.lower():
            return items
    return [(release.name, "0.9")]


def _install(release: Release, rng: random.Random, actor: Actor) -> None:
    sites = {s.site_id for s in ReleaseStep.select(ReleaseStep.site)
             .where((ReleaseStep.release == release.id) & ReleaseStep.site.is_null(False))}
    for name, old in _items_for(release):
        dml.add_item(release.id, name, release.release_version or "1.0",
                     _checksum(name, release.release_version or "1.0"), actor)
        for site in Site.select().where(Site.id.in_(list(sites))).order_by(Site.code):
            for k in range(1, rng.randint(2, 3) + 1):
                ci_name = f"{name} {site.code}-{k:02d}"
                if not CI.select().where(CI.name == ci_name).exists():
                    cmdb.create_ci({"name": ci_name, "ci_class": "software", "site": site.id,
                                    "ci_version": old, "status": "in_production"}, actor)


def _payroll(rng: random.Random, actor: Actor, chgs: list | None = None) -> None:
    """``chgs``: the release's changes, approved by the CAB (the small demo's story); without
    them two are made here, assessed by the risk service."""
    if Release.select().where(Release.name == "Payroll 5.1").exists():
        return
    team = (Team.select().where(Team.name == "Application Support").first()
            or Team.select().order_by(Team.name).first())
    manager = (team.lead if team is not None and team.lead_id else
               Person.select().where(Person.is_agent).order_by(Person.name).first())
    sites = list(Site.select().where(Site.code.in_(("STO", "GOT", "OSL"))).order_by(Site.code))
    sites = sites or list(Site.select().order_by(Site.code).limit(3))
    app = CI.select().where(CI.name.contains("Payroll")).first() or CI.select().first()
    from itsmdesk.demo.builder import anchor

    now = anchor()
    if chgs:
        start = min(c.planned_start for c in chgs)
    else:
        start = now - dt.timedelta(days=6)
        chgs = []
        for title in (f"Payroll 5.1: tax tables {now.year + 1}", "Payroll 5.1: new payslip layout"):
            change = changes.create_change({
                "title": title, "type": "normal", "planned_start": start,
                "planned_end": start + dt.timedelta(days=10),
                "backout_plan": "Reinstall 5.0.2 from the DML"}, actor, cis=[app] if app else None)
            risk.assess(change.id, actor)
            chgs.append(records.update(Change, change.id, None, {"status": "scheduled"}, actor))
    rel = releases.create_release({
        "name": "Payroll 5.1", "release_version": "5.1.0", "type": "minor",
        "description": f"Tax tables for {now.year + 1} and the new payslip layout, to three sites.",
        "backout_plan": "Per wave: reinstall Payroll client 5.0.2 from the DML, restore the "
                        "tax table snapshot taken before the wave, and tell the service desk.",
        "manager": manager.id if manager else None, "team": team.id if team else None,
        "planned_start": start, "planned_end": start + dt.timedelta(days=10)}, actor,
        changes=chgs)
    owner = {"owner_team": team.id if team else None}
    prep = release_plan.add_phase(rel.id, "Build and test", actor)
    build = release_plan.add_step(rel.id, {"name": "Build and sign package", "kind": "build",
                                           "phase": prep.id, "planned_start": start,
                                           "planned_end": start + dt.timedelta(days=1), **owner},
                                  actor)
    test = release_plan.add_step(rel.id, {"name": "Acceptance test", "kind": "test",
                                          "phase": prep.id,
                                          "owner_person": manager.id if manager else None,
                                          "planned_start": start + dt.timedelta(days=1),
                                          "planned_end": start + dt.timedelta(days=3)}, actor,
                                 depends_on=[build.id])
    rollout = release_plan.add_phase(rel.id, "Rollout", actor)
    prev, waves = test, []
    for i, site in enumerate(sites):
        t = start + dt.timedelta(days=4 + 2 * i)
        wave = release_plan.add_step(rel.id, {
            "name": f"{'Pilot' if i == 0 else 'Wave'}: {site.name}",
            "kind": "pilot" if i == 0 else "wave", "site": site.id, "phase": rollout.id,
            "planned_start": t, "planned_end": t + dt.timedelta(hours=10), **owner}, actor,
            depends_on=[prev.id])
        waves.append(wave)
        prev = wave
    release_plan.add_step(rel.id, {"name": "Backout (if needed)", "kind": "backout", **owner},
                          actor)
    _install(rel, rng, actor)
    for status in ("build", "test", "approved"):
        release_lifecycle.transition(rel.id, None, status, actor)
    for step, late_hours in ((build, 3), (test, -5)):  # actuals a little off the plan
        release_plan.update_step(step.id, None, {
            "status": "done", "actual_start": step.planned_start + dt.timedelta(hours=1),
            "actual_end": step.planned_end + dt.timedelta(hours=late_hours)}, actor)
    dml.deploy_wave(waves[0].id, actor)
    pilot = waves[0]
    release_plan.update_step(pilot.id, None, {
        "actual_start": pilot.planned_start + dt.timedelta(hours=1),
        "actual_end": pilot.planned_end + dt.timedelta(hours=2)}, actor)
    if len(waves) > 1 and waves[1].planned_start <= now:
        release_plan.update_step(waves[1].id, None, {
            "status": "in_progress", "actual_start": waves[1].planned_start}, actor)


def demo_release(rng: random.Random | None = None, actor: Actor = SYSTEM,
                 payroll_changes: list | None = None) -> None:
    rng = rng or random.Random(42)
    done = {i.release_id for i in ReleaseItem.select(ReleaseItem.release)}
    for release in Release.select().order_by(Release.ref):
        if release.id not in done:
            _install(release, rng, actor)
    _payroll(rng, actor, payroll_changes)
    for release in Release.select():
        release_lifecycle.refresh_risk(release.id, actor)
