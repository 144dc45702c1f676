"""Small builders for the change-management tests (CIs, people, changes, a meeting)."""

from __future__ import annotations

import datetime as dt

from itsmdesk.services import people
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.cmdb import cis as cmdb

T0 = dt.datetime(2030, 3, 4, 8, 0)

PLANS = {"implementation_plan": "Step 1. Step 2.", "backout_plan": "Undo step 2.",
         "test_plan": "Smoke test."}


def ci(name: str, cls: str = "server", crit: str = "medium"):
    cmdb.ensure_standard_classes()
    return cmdb.create_ci({"name": name, "ci_class": cls, "criticality": crit})


def person(name: str):
    return people.create_person({"name": name, "email": f"{name.lower().replace(' ', '.')}@x.test"})


def change(title: str, start_h: float = 0, hours: float = 2, cis=(), **values):
    start = T0 + dt.timedelta(hours=start_h)
    data = {"title": title, "planned_start": start, "planned_end": start + dt.timedelta(hours=hours),
            **PLANS}
    data.update(values)
    return change_service.create_change(data, cis=list(cis))


def stack():
    """A business service on an app on a server: shop <- app <- srv."""
    srv = ci("srv-1")
    app = ci("app-1", "application", "high")
    shop = ci("Shop", "business_service", "critical")
    cmdb.create_relation(app, "runs_on", srv)
    cmdb.create_relation(shop, "depends_on", app)
    return srv, app, shop
