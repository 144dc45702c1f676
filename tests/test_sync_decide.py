"""Deciding sync conflicts (services/sync/decide.py) and the commands ``itsmdesk replica
conflicts`` / ``replica decide``: a decision is one journalled write that syncs like any other,
and the conflict drops out of the open list on both sides after the next sync."""

from __future__ import annotations

import json

import pytest

from itsmdesk.errors import PermissionDeniedError, ValidationError
from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor, set_site
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.sync import decide, engine
from tests import test_sync_basic as basic
from tests.test_sync_basic import _dump, _make_replica, on

hub = basic.hub  # (the fixture: a hub database with two incidents)


def _conflict_on_description(hub_db, replica, incident_id, ours="Oslo: toner",
                             theirs="Hub: drum") -> None:
    with on(replica, "OSL"):
        incidents.update_incident(incident_id, None, {"description": ours})
    with on(hub_db):
        incidents.update_incident(incident_id, None, {"description": theirs})
    report = engine.sync_with(replica, hub_db)
    assert [c["field"] for c in report.conflicts] == ["description"]


def _open(database) -> list[decide.Conflict]:
    with on(database):
        return decide.conflicts().items


def test_take_the_replicas_value_on_the_replica_syncs_to_the_hub(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        _conflict_on_description(hub_db, replica, ids["first"])
        [mine] = _open(replica)
        [theirs] = _open(hub_db)
        assert mine.key == theirs.key  # the same conflict, named alike on both sides
        assert (mine.field, mine.hub, mine.replica, mine.site, mine.reason) == (
            "description", "Hub: drum", "Oslo: toner", "OSL", "changed on both sides")
        # the record changes again after the conflict: still decidable (version read inside)
        with on(replica, "OSL"):
            incidents.update_incident(ids["first"], None, {"urgency": 1})
            before = Incident.get_by_id(ids["first"]).version
            decided = decide.decide(mine.journal_id, "replica")
            assert decided.decision.take == "replica"
            row = Incident.get_by_id(ids["first"])
            assert (row.description, row.version) == ("Oslo: toner", before + 1)
            assert decide.conflicts().items == []
            assert len(decide.conflicts(include_decided=True).items) == 1
            with pytest.raises(ValidationError, match="decided already"):
                decide.decide(mine.journal_id, "hub")
        assert len(_open(hub_db)) == 1  # not synced yet
        engine.sync_with(replica, hub_db)
        with on(hub_db):
            assert Incident.get_by_id(ids["first"]).description == "Oslo: toner"
            assert Incident.get_by_id(ids["first"]).urgency == 1
        assert _open(hub_db) == [] and _open(replica) == []
        assert _dump(replica) == _dump(hub_db)
    finally:
        replica.close()


def test_keep_the_hubs_value_on_the_hub_writes_only_a_note(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        _conflict_on_description(hub_db, replica, ids["first"])
        [theirs] = _open(hub_db)
        with on(hub_db):
            version = Incident.get_by_id(ids["first"]).version
            journal = JournalEntry.select().count()
            decide.decide(theirs.journal_id, "hub")
            assert Incident.get_by_id(ids["first"]).version == version  # no data written
            assert JournalEntry.select().count() == journal + 1
            note = JournalEntry.select().order_by(JournalEntry.id.desc()).first()
            assert note.field == decide.DECIDED and json.loads(note.new)["take"] == "hub"
        assert len(_open(replica)) == 1
        engine.sync_with(replica, hub_db)
        assert _open(replica) == [] and _open(hub_db) == []
        with on(replica):
            assert Incident.get_by_id(ids["first"]).description == "Hub: drum"
        assert _dump(replica) == _dump(hub_db)
    finally:
        replica.close()


def test_take_the_replicas_value_on_the_hub_reaches_the_replica(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        _conflict_on_description(hub_db, replica, ids["first"], ours="line 1\nline 2")
        [theirs] = _open(hub_db)
        with on(hub_db):
            decide.decide(theirs.journal_id, "replica")
        engine.sync_with(replica, hub_db)
        with on(replica):
            assert Incident.get_by_id(ids["first"]).description == "line 1\nline 2"
        assert _open(replica) == [] and _open(hub_db) == []
        assert _dump(replica) == _dump(hub_db)
    finally:
        replica.close()


def test_child_row_and_refused_delete_conflicts(hub, tmp_path):
    """A work log note's text changed on both sides: taking the replica's goes through
    update_child.  A delete the hub refused: taking the replica's deletes the record on both
    sides after sync."""
    hub_db, _info, ids = hub
    with on(hub_db):
        note = WorkLog.select().where(WorkLog.incident == ids["first"]).first()
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            records.update_child(WorkLog, note.id, {"text": "Oslo text"})
            records.delete(Incident, ids["second"], None)
        with on(hub_db):
            records.update_child(WorkLog, note.id, {"text": "Hub text"})
            incidents.update_incident(ids["second"], None, {"urgency": 2})
        engine.sync_with(replica, hub_db)
        found = {c.field: c for c in _open(replica)}
        assert set(found) == {"work_log~text", "*deleted*"}
        child = found["work_log~text"]
        assert (child.hub, child.replica, child.child_id) == ("Hub text", "Oslo text",
                                                               str(note.id))
        with on(replica, "OSL"):
            assert Incident.get_or_none(Incident.id == ids["second"]) is not None  # restored
            decide.decide(child.journal_id, "replica")
            assert WorkLog.get_by_id(note.id).text == "Oslo text"
        with on(hub_db):
            deleted = next(c for c in decide.conflicts().items if c.is_delete)
            decide.decide(deleted.journal_id, "replica")
            assert Incident.get_or_none(Incident.id == ids["second"]) is None
        engine.sync_with(replica, hub_db)
        with on(hub_db):
            assert WorkLog.get_by_id(note.id).text == "Oslo text"
        with on(replica):
            assert Incident.get_or_none(Incident.id == ids["second"]) is None
        assert _open(replica) == [] and _open(hub_db) == []
        assert _dump(replica) == _dump(hub_db)
    finally:
        replica.close()


def test_deciding_needs_the_role_that_edits_the_record_and_pages_by_journal_id(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            for n in range(3):
                incidents.update_incident(ids["first"], None, {"description": f"osl {n}"})
                incidents.update_incident(ids["second"], None, {"description": f"osl {n}"})
        with on(hub_db):
            incidents.update_incident(ids["first"], None, {"description": "hub"})
            incidents.update_incident(ids["second"], None, {"description": "hub"})
        engine.sync_with(replica, hub_db)
        with on(hub_db):
            everything = decide.conflicts(100).items
            assert len(everything) == 6 and decide.open_count() == 6
            first = decide.conflicts(4)
            second = decide.conflicts(4, before=first.next_before)
            assert [c.journal_id for c in first.items + second.items] == [
                c.journal_id for c in everything]
            assert second.next_before is None
            clerk = Actor(None, "Rita Requester", roles=frozenset({"requester"}))
            with pytest.raises(PermissionDeniedError, match="work on tickets"):
                decide.decide(everything[0].journal_id, "replica", clerk)
            agent = Actor(None, "Ann Agent", roles=frozenset({"agent"}))
            decide.decide(everything[0].journal_id, "hub", agent)
            assert decide.open_count() == 5
            with pytest.raises(ValidationError, match="'hub' or 'replica'"):
                decide.decide(everything[1].journal_id, "both", agent)
    finally:
        replica.close()


def test_cli_conflicts_and_decide(tmp_path, capsys):
    from itsmdesk.cli import main
    from itsmdesk.models.base import db as proxy
    from itsmdesk.services.session import open_database

    set_site("")
    hub_url = f"sqlite:///{tmp_path / 'hub.db'}"
    replica_url = f"sqlite:///{tmp_path / 'osl.db'}"
    assert main(["--db", hub_url, "init"]) == 0
    hub_db, _info = open_database(hub_url)
    made = incidents.create_incident({"title": "Printer", "description": "start"})
    hub_db.close()
    assert main(["replica", "create", "--from", hub_url, "--site", "OSL",
                 str(tmp_path / "osl.db")]) == 0
    replica, _info = open_database(replica_url)
    incidents.update_incident(made.id, None, {"description": "from Oslo"})
    replica.close()
    hub_db, _info = open_database(hub_url)
    incidents.update_incident(made.id, None, {"description": "from the hub"})
    hub_db.close()
    proxy.initialize(None)
    set_site("")
    capsys.readouterr()
    assert main(["--db", replica_url, "sync", "--progress-json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"phase": "start", "done": 0, "total": 1}
    summary = lines[-1]
    assert (summary["phase"], summary["pushed"], summary["conflicts"]) == ("summary", 1, 1)
    assert summary["changed"]["incident"]["changed"] == [str(made.id)]
    assert main(["--db", replica_url, "replica", "conflicts"]) == 0
    out = capsys.readouterr().out
    assert "the hub kept 'from the hub'; OSL had 'from Oslo'" in out
    conflict_id = int(out.split()[0].lstrip("#"))
    assert main(["--db", replica_url, "replica", "conflicts", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["journal_id"] == conflict_id and listed["decision"] is None
    assert main(["--db", replica_url, "replica", "decide", str(conflict_id), "--take",
                 "replica"]) == 0
    assert "took the replica's value" in capsys.readouterr().out
    assert main(["--db", replica_url, "replica", "conflicts"]) == 0
    assert "(none)" in capsys.readouterr().out
    assert main(["--db", replica_url, "replica", "conflicts", "--all"]) == 0
    assert "decided" in capsys.readouterr().out
    assert main(["--db", replica_url, "replica", "decide", str(conflict_id), "--take",
                 "hub"]) == 2
    assert "decided already" in capsys.readouterr().err
    assert main(["--db", replica_url, "sync"]) == 0
    assert main(["--db", hub_url, "replica", "conflicts"]) == 0
    assert "(none)" in capsys.readouterr().out
    hub_db, _info = open_database(hub_url)
    assert Incident.get_by_id(made.id).description == "from Oslo"
    hub_db.close()
    proxy.initialize(None)
    set_site("")


def test_an_edit_of_a_record_the_hub_deleted_goes_to_a_person(hub, tmp_path):
    """The hub deletes an incident a site edited offline: the edit is a conflict, and a person
    who takes the site's side gets the record back (as it was deleted, with the site's value);
    the next sync brings it back to the hub too."""
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            incidents.update_incident(ids["second"], None, {"title": "VPN slow (Oslo too)"})
        with on(hub_db):
            records.delete(Incident, ids["second"], None)
        engine.sync_with(replica, hub_db)
        with on(replica):
            assert Incident.get_or_none(Incident.id == ids["second"]) is None  # the hub's delete
            [gone] = [c for c in decide.conflicts().items if c.reason == decide.DELETED_ON_HUB]
            assert gone.replica_decidable and gone.replica == "VPN slow (Oslo too)"
            decide.decide(gone.journal_id, "replica")
            back = Incident.get_by_id(ids["second"])
            assert (back.title, back.description) == ("VPN slow (Oslo too)", "since Monday")
        engine.sync_with(replica, hub_db)
        assert _dump(replica) == _dump(hub_db)
        with on(hub_db):
            assert Incident.get_by_id(ids["second"]).title == "VPN slow (Oslo too)"
            assert decide.conflicts().items == []
    finally:
        replica.close()


def test_a_note_added_to_a_record_the_hub_deleted_brings_it_back(hub, tmp_path):
    """The site's note on an incident the hub deleted is a conflict a person may decide for
    the site: the incident comes back (as it was deleted) with the note, on both sides."""
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            incidents.add_work_log(ids["second"], "Oslo: still slow")
        with on(hub_db):
            records.delete(Incident, ids["second"], None)
        engine.sync_with(replica, hub_db)
        with on(replica):
            assert Incident.get_or_none(Incident.id == ids["second"]) is None
            [note] = decide.conflicts().items
            assert (note.field, note.reason) == ("work_log+", decide.DELETED_ON_HUB)
            assert note.replica_decidable
            decide.decide(note.journal_id, "replica")
        engine.sync_with(replica, hub_db)
        assert _dump(replica) == _dump(hub_db)
        with on(hub_db):
            assert Incident.get_by_id(ids["second"]).title == "VPN slow"
            assert [w.text for w in WorkLog.select().where(WorkLog.incident == ids["second"])
                    ] == ["Oslo: still slow"]
            assert decide.conflicts().items == []
    finally:
        replica.close()


@pytest.mark.parametrize("where", ["replica", "hub"])
def test_a_record_the_hub_deleted_comes_back_with_its_child_rows(hub, tmp_path, where):
    """Taking the site's edit over the hub's delete brings back the record's work log as the
    hub had it when it deleted it (rows added, changed and removed before the delete, from the
    journal), in the decision's batch, and the next sync brings it to the other side.  Decided
    on either side, the same rows: what the site wrote that the hub did not take (a note text
    the hub kept its own of, a note added after the delete) is still only a conflict."""
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(hub_db):
            [drum] = WorkLog.select().where(WorkLog.incident == ids["first"])
        with on(replica, "OSL"):
            records.update_child(WorkLog, drum.id, {"text": "Oslo: drum"})
        with on(hub_db):
            records.update_child(WorkLog, drum.id, {"text": "Replaced the drum twice"})
            incidents.add_work_log(ids["first"], "Hub: ordered toner", public=True, minutes=5)
            gone = incidents.add_work_log(ids["first"], "typo")
            records.remove_child(WorkLog, gone.id)
        engine.sync_with(replica, hub_db)
        with on(replica, "OSL"):
            incidents.update_incident(ids["first"], None, {"title": "Printer jams (Oslo)"})
            incidents.add_work_log(ids["first"], "Oslo: after the hub's delete")
        with on(hub_db):
            before = {(w.id, w.text, w.public, w.time_spent_minutes) for w in
                      WorkLog.select().where(WorkLog.incident == ids["first"])}
            records.delete(Incident, ids["first"], None)
            assert not WorkLog.select().where(WorkLog.incident == ids["first"]).exists()
        engine.sync_with(replica, hub_db)
        side = replica if where == "replica" else hub_db
        with on(side):
            [c] = [c for c in decide.conflicts().items
                   if c.reason == decide.DELETED_ON_HUB and c.field == "title"]
            decide.decide(c.journal_id, "replica")
            back = Incident.get_by_id(ids["first"])
            assert (back.title, back.description) == ("Printer jams (Oslo)", "Floor 2")
            logs = list(WorkLog.select().where(WorkLog.incident == ids["first"]))
            assert {(w.id, w.text, w.public, w.time_spent_minutes) for w in logs} == before
            assert len(before) == 2
            batches = set(JournalEntry.select(JournalEntry.batch)
                          .where((JournalEntry.record_id == ids["first"])
                                 & (JournalEntry.field.in_(
                                     [records.CREATED, "work_log+", "title"])))
                          .order_by(JournalEntry.id.desc()).limit(4).tuples())
            assert len(batches) == 1  # one decision, one batch
        engine.sync_with(replica, hub_db)
        assert _dump(replica) == _dump(hub_db)
        for database in (hub_db, replica):
            with on(database):
                assert Incident.get_by_id(ids["first"]).title == "Printer jams (Oslo)"
                assert {(w.id, w.text, w.public, w.time_spent_minutes) for w in WorkLog.select()
                        .where(WorkLog.incident == ids["first"])} == before
                assert sorted((c.field, c.reason) for c in decide.conflicts().items) == [
                    ("work_log+", decide.DELETED_ON_HUB),
                    ("work_log~text", "changed on both sides")]
        # the note the site added after the hub's delete: its side taken too, on the same side
        with on(side):
            [note] = [c for c in decide.conflicts().items if c.field == "work_log+"]
            assert note.replica_decidable
            decide.decide(note.journal_id, "replica")
        engine.sync_with(replica, hub_db)
        assert _dump(replica) == _dump(hub_db)
        for database in (hub_db, replica):
            with on(database):
                texts = {w.text for w in WorkLog.select().where(WorkLog.incident == ids["first"])}
                assert texts == {t for _i, t, _p, _m in before} | {"Oslo: after the hub's delete"}
                assert [c.field for c in decide.conflicts().items] == ["work_log~text"]
    finally:
        replica.close()


def test_restored_child_rows_drop_links_to_records_gone_since(db):
    """A child row's link to a record deleted after it was journalled (the database emptied or
    dropped the row then, unjournalled): emptied when it may be empty, the row left out when
    it may not."""
    from itsmdesk.models.change import Change, ChangeCI
    from itsmdesk.models.cmdb import CI
    from itsmdesk.models.people import Person
    from tests import change_helpers as ch

    a, b = ch.ci("srv-a"), ch.ci("srv-b")
    change = ch.change("Patch", cis=[a, b])
    author = ch.person("Bo Writer")
    incident = incidents.create_incident({"title": "Disk full"})
    incidents.add_work_log(incident.id, "cleaned /tmp", actor=Actor(author.id, "Bo Writer"))
    records.delete(CI, a.id, None)
    records.delete(Person, author.id, None)
    records.delete(Change, change.id, None)
    records.delete(Incident, incident.id, None)

    def restore(kind, model, record_id):
        c = decide.Conflict(0, kind, record_id, None, "title", decide.DELETED_ON_HUB, None, "x",
                            None, "OSL", "b", None, None, None)
        with records.atomic():
            return decide._restore_deleted(c, model, SYSTEM)

    assert restore("change", Change, change.id).title == "Patch"
    assert [r.ci_id for r in ChangeCI.select().where(ChangeCI.change == change.id)] == [b.id]
    restore("incident", Incident, incident.id)
    [log] = WorkLog.select().where(WorkLog.incident == incident.id)
    assert (log.text, log.author_id) == ("cleaned /tmp", None)


def test_a_delete_the_hub_refused_earlier_does_not_empty_the_restored_record(hub, tmp_path):
    """The site deleted the record, the hub refused (edited there) and put it back there with
    its work log; later the hub deleted it while the site edited it.  Taken from the site,
    the record comes back with its work log, decided on the site (whose journal holds its own
    refused delete) as on the hub."""
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            records.delete(Incident, ids["first"], None)
        with on(hub_db):
            incidents.update_incident(ids["first"], None, {"urgency": 2})
        engine.sync_with(replica, hub_db)
        with on(replica):
            assert WorkLog.select().where(WorkLog.incident == ids["first"]).count() == 1
        with on(replica, "OSL"):
            incidents.update_incident(ids["first"], None, {"title": "Printer jams (Oslo)"})
        with on(hub_db):
            records.delete(Incident, ids["first"], None)
        engine.sync_with(replica, hub_db)
        with on(replica):
            [c] = [c for c in decide.conflicts().items if c.reason == decide.DELETED_ON_HUB]
            decide.decide(c.journal_id, "replica")
            assert [w.text for w in WorkLog.select().where(WorkLog.incident == ids["first"])] \
                == ["Replaced the drum"]
        engine.sync_with(replica, hub_db)
        assert _dump(replica) == _dump(hub_db)
    finally:
        replica.close()
