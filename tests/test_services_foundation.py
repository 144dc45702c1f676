"""Every process's basic service writes leave the expected journal rows (both back ends)."""

from __future__ import annotations

import datetime as dt

import pytest

from itsmdesk.errors import ValidationError
from itsmdesk.models import CI, ChangeCI, JournalEntry, Relation
from itsmdesk.services import people
from itsmdesk.services.change import changes
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import Actor
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.problem import problems
from itsmdesk.services.release import releases


def fields_of(record_id):
    return {r.field for r in JournalEntry.select().where(JournalEntry.record_id == record_id)}


def test_people_and_teams(db):
    lead = people.create_person({"name": "Lena Lead", "email": "lena@example.com"})
    member = people.create_person({"name": "Max Member"})
    team = people.create_team({"name": "Network Operations", "lead": lead}, [lead, member])
    assert [p.name for p in people.team_members(team.id)] == ["Lena Lead", "Max Member"]
    assert "team_member+" in fields_of(team.id)
    site = people.create_site({"name": "Kiruna Depot", "code": "KRN"})
    with pytest.raises(ValidationError):
        people.create_site({"name": "Other", "code": "KRN"})
    assert site.code == "KRN"


def test_cmdb_cis_relations_and_class_attributes(db):
    app = cmdb.create_ci({"name": "ERP", "ci_class": "application", "criticality": "critical"})
    srv = cmdb.create_ci({"name": "srv-01", "ci_class": "server",
                          "attributes": {"cpu_cores": "32", "ram_gb": 256}})
    assert CI.get_by_id(srv.id).attributes == {"cpu_cores": 32, "ram_gb": 256}
    rel = cmdb.create_relation(app, "runs_on", srv)
    assert Relation.get_by_id(rel.id).propagates == "target_to_source"
    outgoing, incoming = cmdb.relations_of(app.id)
    assert [r.target.name for r in outgoing] == ["srv-01"] and incoming == []
    assert "!relation+" in fields_of(app.id)
    with pytest.raises(ValidationError, match="Unknown CI class"):
        cmdb.create_ci({"name": "x", "ci_class": "spaceship"})
    with pytest.raises(ValidationError, match="not a valid int"):
        cmdb.create_ci({"name": "y", "ci_class": "server", "attributes": {"cpu_cores": "many"}})
    with pytest.raises(ValidationError, match="already exists"):
        cmdb.create_ci({"name": "ERP", "ci_class": "application"})
    with pytest.raises(ValidationError, match="not one of"):
        cmdb.create_relation(app, "loves", srv)
    updated = cmdb.update_ci(app.id, app.version, {"ci_version": "7.5", "status": "in_maintenance"})
    assert {"ci_version", "status"} <= fields_of(app.id) and updated.version == app.version + 1


def test_problem_and_known_error(db):
    from itsmdesk.services.servicedesk import incidents

    prb = problems.create_problem({"title": "Scanner drops"})
    ke = problems.create_known_error({"title": "DHCP storm", "problem": prb, "error_code": "E17"})
    assert prb.ref == "PRB-000001" and ke.ref == "KE-000001"
    inc = incidents.create_incident({"title": "Scanner offline"})
    assert problems.link_incidents(prb.id, [inc.id]) == 1
    assert "problem" in fields_of(inc.id)


def test_change_with_cis_window_and_vote(db):
    ci = cmdb.create_ci({"name": "core-rtr", "ci_class": "network_device"})
    voter = people.create_person({"name": "Cab Member"})
    start = dt.datetime(2026, 12, 1, 22, 0)
    chg = changes.create_change({"title": "Upgrade firmware", "type": "normal",
                                 "planned_start": start, "planned_end": start + dt.timedelta(hours=2)},
                                cis=[ci])
    assert chg.ref == "CHG-000001"
    assert [r.ci_id for r in ChangeCI.select().where(ChangeCI.change == chg.id)] == [ci.id]
    with pytest.raises(ValidationError, match="must come after"):
        changes.update_change(chg.id, chg.version, {"planned_end": start - dt.timedelta(hours=1)})
    changes.cast_vote(chg.id, voter.id, "approve", "fine", actor=Actor.for_person(voter))
    assert "approval+" in fields_of(chg.id)
    with pytest.raises(ValidationError, match="not a valid recurrence"):
        changes.create_window({"name": "w", "kind": "maintenance", "starts_at": start,
                               "ends_at": start + dt.timedelta(hours=1), "rrule": "FREQ=SOMETIMES"})
    win = changes.create_window({"name": "Sunday", "kind": "maintenance", "starts_at": start,
                                 "ends_at": start + dt.timedelta(hours=4), "rrule": "FREQ=WEEKLY;BYDAY=SU"})
    assert win.rrule.startswith("FREQ=WEEKLY")
    meeting = changes.create_meeting({"title": "CAB", "starts_at": start}, attendees=[voter],
                                     changes=[chg])
    assert meeting.ref == "CAB-000001"


def test_release_and_article(db):
    chg = changes.create_change({"title": "c"})
    rel = releases.create_release({"name": "Shop 4.2", "release_version": "4.2.0", "type": "major"},
                                  changes=[chg])
    step = releases.add_step(rel.id, {"name": "Build", "kind": "build"})
    assert rel.ref == "REL-000001" and step.release_id == rel.id
    assert "release_change+" in fields_of(rel.id)
    art = knowledge.create_article({"title": "Reset password", "body": "Go to the portal."})
    art2 = knowledge.update_article(art.id, art.version, {"body": "Use self-service."})
    assert art2.version == 2 and "body" in fields_of(art.id)
