"""A tiny, fixed service desk (people, teams, CIs, calendar) for tests and examples.

``sample_desk()`` builds it through the services and returns the records by role.
"""

from __future__ import annotations

from typing import Any

from itsmdesk.services import people
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import calendars


def sample_desk(calendar: bool = False) -> dict[str, Any]:
    cmdb.ensure_standard_classes()
    boss = people.create_person({"name": "Maja Lead", "email": "maja@example.org", "is_agent": True})
    agent = people.create_person({"name": "Olle Agent", "email": "olle@example.org",
                                  "is_agent": True, "manager": boss.id})
    agent2 = people.create_person({"name": "Sara Agent", "email": "sara@example.org",
                                   "is_agent": True, "manager": boss.id})
    caller = people.create_person({"name": "Karin Caller", "email": "karin@example.org"})
    desk = people.create_team({"name": "Service Desk", "lead": boss.id}, [boss, agent, agent2])
    network = people.create_team({"name": "Network", "lead": boss.id}, [agent2])
    svc_class = next(c for c in cmdb.list_classes() if c.is_service)
    other = next(c for c in cmdb.list_classes() if not c.is_service)
    service = cmdb.create_ci({"name": "E-mail service", "ci_class": svc_class})
    server = cmdb.create_ci({"name": "mail-srv-01", "ci_class": other})
    out = {"boss": boss, "agent": agent, "agent2": agent2, "caller": caller, "desk": desk,
           "network": network, "service": service, "server": server,
           "actor": Actor.for_person(agent)}
    if calendar:
        out["calendar"] = calendars.create_calendar(
            {"name": "Default", "timezone": "Europe/Stockholm",
             "working_hours": calendars.OFFICE_HOURS})
    return out
