"""Shared builders for the release tests (a plain module, not fixtures)."""

import datetime as dt

from itsmdesk.models.change import Change
from itsmdesk.services import people
from itsmdesk.services.change import changes
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.release import dml, releases
from itsmdesk.services.release import plan as release_plan

T0 = dt.datetime(2026, 3, 2, 8)


def day(n: float, hour: int = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=n, hours=hour)


def set_change_status(change, status: str) -> None:
    Change.update(status=status).where(Change.id == change.id).execute()


def build_release(n_sites: int = 2, change_risks=("low", "high"), rtype: str = "minor"):
    """A release bundling changes, a plan (build, test, one wave per site, backout), one DML item
    and installed software CIs at each site.  Returns a dict of what was made."""
    sites = [people.create_site({"name": f"Site {i}", "code": f"S{i}"}) for i in range(n_sites)]
    team = people.create_team({"name": "Release team"})
    manager = people.create_person({"name": "Rita Release", "email": "rita@example.com"})
    svc = cmdb.create_ci({"name": "Payroll service", "ci_class": "business_service",
                          "criticality": "high"})
    app = cmdb.create_ci({"name": "Payroll app", "ci_class": "application"})
    cmdb.create_relation(svc, "depends_on", app)
    chgs = []
    for i, risk in enumerate(change_risks):
        chg = changes.create_change({"title": f"Payroll change {i}", "risk_level": risk,
                                     "status": "approved"}, cis=[app])
        chgs.append(chg)
    rel = releases.create_release({"name": "Payroll 5", "release_version": "5.0.0", "type": rtype,
                                   "manager": manager.id, "team": team.id,
                                   "backout_plan": "Reinstall 4.9 from the DML.",
                                   "planned_start": day(0), "planned_end": day(10)},
                                  changes=chgs)
    phase = release_plan.add_phase(rel.id, "Build and test")
    build = release_plan.add_step(rel.id, {"name": "Build", "kind": "build", "phase": phase.id,
                                           "owner_team": team.id, "planned_start": day(0),
                                           "planned_end": day(1)})
    test = release_plan.add_step(rel.id, {"name": "Test", "kind": "test", "phase": phase.id,
                                          "owner_person": manager.id, "planned_start": day(1),
                                          "planned_end": day(3)}, depends_on=[build.id])
    waves, prev = [], test
    for i, site in enumerate(sites):
        wave = release_plan.add_step(rel.id, {"name": f"Wave {site.code}", "kind": "wave",
                                              "site": site.id, "owner_team": team.id,
                                              "planned_start": day(4 + i),
                                              "planned_end": day(4 + i, 8)}, depends_on=[prev.id])
        waves.append(wave)
        prev = wave
    backout = release_plan.add_step(rel.id, {"name": "Backout", "kind": "backout",
                                             "owner_team": team.id})
    item = dml.add_item(rel.id, "Payroll client", "5.0.0", "sha256:" + "ab" * 32)
    installed = {}
    for site in sites:
        installed[site.code] = [
            cmdb.create_ci({"name": f"Payroll client {site.code}-PC-{k}", "ci_class": "software",
                            "site": site.id, "ci_version": "4.9.2"}) for k in range(2)]
    other = cmdb.create_ci({"name": "Other tool S0", "ci_class": "software", "site": sites[0].id,
                            "ci_version": "1.0"})
    return {"release": rel, "sites": sites, "team": team, "manager": manager, "changes": chgs,
            "phase": phase, "build": build, "test": test, "waves": waves, "backout": backout,
            "item": item, "installed": installed, "other": other, "service": svc, "app": app}
