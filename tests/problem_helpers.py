"""Small builders for the problem-management tests (records made through the services)."""

from __future__ import annotations

import datetime as dt

from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.servicedesk import incidents

T0 = dt.datetime(2026, 1, 1)


def ci(name: str, cls: str = "server"):  # noqa: ANN201
    return cmdb.create_ci({"name": name, "ci_class": cls})


def incident(title: str, at: dt.datetime, ci_=None, service=None, impact: int = 2,  # noqa: ANN001, ANN201
             resolved: dt.datetime | None = None, **extra):
    values = {"title": title, "opened_at": at, "impact": impact, "urgency": 2,
              "ci": ci_, "service": service}
    if resolved is not None:
        values.update(status="resolved", resolved_at=resolved)
    values.update(extra)
    return incidents.create_incident(values)


def h(hours: float) -> dt.timedelta:
    return dt.timedelta(hours=hours)
