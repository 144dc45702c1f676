"""``list relations``, ``list windows`` and ``history`` show names where ids were: CI names,
people's names, the references of the records an id points at."""

from __future__ import annotations

import datetime as dt
import json
import re

from itsmdesk.cli import main
from itsmdesk.models.change import Change
from itsmdesk.models.servicedesk import Announcement
from itsmdesk.services import records
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import Actor
from itsmdesk.services.history import named_history
from itsmdesk.services.servicedesk import escalation, incidents
from tests.change_helpers import T0, ci, person

UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def test_list_relations_and_windows_by_name(db, capsys):
    app, dbs = ci("erp-app", "application"), ci("erp-db", "database")
    rel = cmdb.create_relation(app, "depends_on", dbs)
    change_service.create_window({"name": "ERP freeze", "kind": "blackout", "ci": dbs.id,
                                  "starts_at": T0, "ends_at": T0 + dt.timedelta(days=1)})
    assert main(["--db", db.url, "list", "relations"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["SOURCE", "TYPE", "TARGET", "PROPAGATES"]
    assert out[1].split() == ["erp-app", "depends_on", "erp-db", "target_to_source"]
    assert main(["--db", db.url, "list", "relations", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert (row["source"], row["target"], row["id"]) == ("erp-app", "erp-db", str(rel.id))
    assert main(["--db", db.url, "list", "windows"]) == 0
    out = capsys.readouterr().out
    assert "ERP freeze" in out and "erp-db" in out and not UUID.search(out)


def test_history_names_what_ids_point_at(db, capsys):
    agent = person("Agnes Agent")
    actor = Actor.for_person(agent)
    app, dbs = ci("crm-app", "application"), ci("crm-db", "database")
    rel = cmdb.create_relation(app, "depends_on", dbs)
    lines = named_history("relation", rel.id)
    created = next(e for e in lines if e.action == "created")
    assert created.new == "crm-app depends_on crm-db"
    assert {(e.field, e.new) for e in lines if e.action == "set"} >= {
        ("source", "crm-app"), ("target", "crm-db")}

    chg = change_service.create_change({"title": "Upgrade CRM", "planned_start": T0,
                                        "planned_end": T0 + dt.timedelta(hours=2)}, cis=[app])
    ann = Announcement.get_by_id(records.create(Announcement, {
        "title": "CRM down", "kind": "change", "change_id": chg.id, "starts_at": T0}, actor).id)
    lines = named_history("announcement", ann.id)
    assert ("change_id", chg.ref) in {(e.field, e.new) for e in lines}

    inc = incidents.create_incident({"title": "CRM slow"})
    note = escalation.notify(agent, "look at this", inc)
    lines = named_history("notification", note.id)
    assert ("record_id", inc.ref) in {(e.field, e.new) for e in lines}
    assert ("person", "Agnes Agent") in {(e.field, e.new) for e in lines}

    records.update(Announcement, ann.id, None, {"change_id": None}, actor)
    assert main(["--db", db.url, "history", chg.ref]) == 0
    out = capsys.readouterr().out
    assert "crm-app" in out and not UUID.search(out)
    assert main(["--db", db.url, "history", "crm-app"]) == 0
    out = capsys.readouterr().out
    assert "depends_on crm-db" in out and not UUID.search(out)
    # the deleted relation keeps its name in its history
    cmdb.delete_relation(rel.id)
    gone = next(e for e in named_history("relation", rel.id) if e.action == "deleted")
    assert gone.old == "crm-app depends_on crm-db"
    for kind, rid in (("announcement", ann.id), ("notification", note.id),
                      ("relation", rel.id), ("change", Change.get_by_id(chg.id).id)):
        for e in named_history(kind, rid):
            for value in (e.old, e.new):
                assert not (value and UUID.fullmatch(str(value))), (kind, e)
