"""Sync, step 1: a replica made from the hub (an SQLite file or PostgreSQL), offline edits on
both sides, one sync, and both databases hold the same records; field-level merge; the hub
wins a field changed on both sides and the replica's value is kept as a conflict; syncing
again changes nothing; a sync killed between push and pull, run again, doubles nothing."""

from __future__ import annotations

import json

import pytest

from itsmdesk.models import journal_guard
from itsmdesk.models import replica as storage
from itsmdesk.models.base import db as proxy
from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.migrations import LATEST_VERSION
from itsmdesk.services import people, records, replay
from itsmdesk.services.context import set_site
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.session import open_database
from itsmdesk.services.sync import engine, ops
from itsmdesk.services.sync.link import bound
from itsmdesk.services.sync.replica import create_replica, status


@pytest.fixture
def hub(db):
    """The hub: the test database (SQLite file or PostgreSQL), with a few records."""
    set_site("")
    ann = people.create_person({"name": "Ann Agent"})
    first = incidents.create_incident({"title": "Printer jams", "description": "Floor 2",
                                       "assignee": ann.id})
    second = incidents.create_incident({"title": "VPN slow", "description": "since Monday"})
    incidents.add_work_log(first.id, "Replaced the drum")
    database = proxy.obj
    yield database, db, {"first": first.id, "second": second.id}
    proxy.initialize(database)
    set_site("")


def on(database, site: str = ""):  # noqa: ANN201 - a context manager
    """Work on ``database`` as a workstation of ``site`` for a while."""
    return bound(database, site)


def _make_replica(hub, tmp_path):
    hub_db, info, ids = hub
    path = tmp_path / "osl.db"
    made = create_replica(info.url, "OSL", path)
    assert made.site == "OSL" and made.rows["incident"] >= 2 and made.journal_rows > 0
    replica, _info = open_database(f"sqlite:///{path}")
    proxy.initialize(hub_db)
    set_site("")
    return replica


def _dump(database) -> dict:
    with on(database):
        return replay.table_dump()


def _journal_count(database) -> int:
    return database.execute_sql('SELECT COUNT(*) FROM "journal"').fetchone()[0]


def _offline_edits(hub_db, replica, ids) -> dict:
    with on(replica, "OSL"):
        new = incidents.create_incident({"title": "Scanner offline at Oslo"})
        first = Incident.get_by_id(ids["first"])
        incidents.update_incident(first.id, first.version, {"title": "Printer jams (Oslo)"})
        first = Incident.get_by_id(ids["first"])
        incidents.update_incident(first.id, first.version, {"description": "Oslo: toner"})
        incidents.add_work_log(first.id, "Oslo looked at it")
        second = Incident.get_by_id(ids["second"])
        incidents.update_incident(second.id, second.version, {"urgency": 1})
    with on(hub_db):
        first = Incident.get_by_id(ids["first"])
        incidents.update_incident(first.id, first.version, {"description": "Hub: drum"})
        incidents.add_work_log(first.id, "Hub looked at it")
        second = Incident.get_by_id(ids["second"])
        incidents.update_incident(second.id, second.version, {"solution": "new router"})
    return {"new": new.id, "new_ref": new.ref}


def test_replica_offline_edits_merge_on_sync(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        assert _dump(replica) == _dump(hub_db)  # the copy: same keys, versions, who/when
        assert journal_guard.first_broken(replica) is None
        assert status(replica)["pull_checkpoint"] > 0

        made = _offline_edits(hub_db, replica, ids)
        assert made["new_ref"] == "INC-OSL-000001"  # the site's own block
        report = engine.sync_with(replica, hub_db)
        assert report.pushed_batches == 5 and report.skipped_batches == 0
        assert report.pulled_rows >= 3 and report.echoed_rows > 0

        assert _dump(replica) == _dump(hub_db)
        with on(hub_db):
            first = Incident.get_by_id(ids["first"])
            # different fields merge; the same field changed on both sides: the hub's stays
            assert first.title == "Printer jams (Oslo)" and first.description == "Hub: drum"
            assert {w.text for w in WorkLog.select().where(WorkLog.incident == first.id)} == {
                "Replaced the drum", "Oslo looked at it", "Hub looked at it"}
            second = Incident.get_by_id(ids["second"])
            assert (second.urgency, second.solution) == (1, "new router")
            assert Incident.get_by_id(made["new"]).ref == "INC-OSL-000001"
            hub_conflicts = ops.conflicts()
        assert [(c["field"], c["hub"], c["replica"], c["site"]) for c in hub_conflicts] == [
            ("description", "Hub: drum", "Oslo: toner", "OSL")]
        assert [c["ref"] for c in report.conflicts] == [first.ref]
        with on(replica):
            assert [c["replica"] for c in ops.conflicts()] == ["Oslo: toner"]  # pulled too
        assert journal_guard.first_broken(replica) is None
        assert not journal_guard.triggers_missing(replica)
        assert status(replica)["unpushed_rows"] == 0

        # syncing again changes nothing on either side
        before = (_dump(hub_db), _dump(replica), _journal_count(hub_db), _journal_count(replica))
        again = engine.sync_with(replica, hub_db)
        assert (again.pushed_batches, again.pulled_rows, again.echoed_rows) == (0, 0, 0)
        assert (_dump(hub_db), _dump(replica), _journal_count(hub_db),
                _journal_count(replica)) == before

        # and the databases go on working: a new reference on each side after the sync
        with on(replica, "OSL"):
            assert incidents.create_incident({"title": "x"}).ref == "INC-OSL-000002"
        with on(hub_db):
            assert incidents.create_incident({"title": "y"}).ref == "INC-000003"
        engine.sync_with(replica, hub_db)
        assert _dump(replica) == _dump(hub_db)
    finally:
        replica.close()


def test_sync_killed_between_push_and_pull_doubles_nothing(hub, tmp_path, monkeypatch):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        start = status(replica)["push_checkpoint"]
        _offline_edits(hub_db, replica, ids)
        real_pull = engine.pull

        def killed(*args, **kwargs):
            raise KeyboardInterrupt("killed after the push")

        monkeypatch.setattr(engine, "pull", killed)
        with pytest.raises(KeyboardInterrupt):
            engine.sync_with(replica, hub_db)
        pushed = _journal_count(hub_db)
        # the hub committed the batches; the replica did not get to pull.  Forget that the
        # push checkpoint moved too, as if the kill came before the replica wrote it:
        storage.write_meta(replica, {"push_checkpoint": start})
        monkeypatch.setattr(engine, "pull", real_pull)
        report = engine.sync_with(replica, hub_db)
        assert report.skipped_batches == 5 and report.pushed_batches == 0
        assert _journal_count(hub_db) == pushed  # nothing applied twice
        assert _dump(replica) == _dump(hub_db)
        with on(hub_db):
            first = Incident.get_by_id(ids["first"])
            assert WorkLog.select().where(WorkLog.incident == first.id).count() == 3
            assert len(ops.conflicts()) == 1
            markers = (JournalEntry.select().where(JournalEntry.field == ops.SYNCED).count())
            assert markers == 5
        assert journal_guard.first_broken(replica) is None
    finally:
        replica.close()


def test_replica_on_an_older_schema_is_refused(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            incidents.create_incident({"title": "made offline"})
        replica.execute_sql("UPDATE schema_info SET value = ? WHERE key = 'schema_version'",
                            (str(LATEST_VERSION - 1),))
        before = _journal_count(hub_db)
        with pytest.raises(Exception) as caught:
            engine.sync_with(replica, hub_db)
        assert "upgrade itsmdesk here" in str(caught.value)
        assert _journal_count(hub_db) == before
    finally:
        replica.close()


def test_batch_json_round_trip(hub, tmp_path):
    hub_db, _info, _ids = hub
    rows = replay.read_journal(hub_db)
    op = ops.Batch("OSL", rows[0][12], LATEST_VERSION, 0, [r[1:] for r in rows[:3]])
    back = ops.Batch.from_json(json.loads(json.dumps(op.to_json())))
    assert back.to_json() == op.to_json()


def test_small_demo_replica_syncs_every_kind_of_write(db, tmp_path):
    """A replica of the small demo; offline on both sides: CI fields, a change's CIs (links
    added and removed), votes, relations made and deleted, a CAB action done (a child row
    changed), settings, a new change; after one sync both databases are equal."""
    import datetime as dt

    from itsmdesk.demo import builder
    from itsmdesk.models.change import CABAction, Change
    from itsmdesk.models.cmdb import CI, Relation
    from itsmdesk.models.people import Person
    from itsmdesk.services import records
    from itsmdesk.services.change import cab, changes
    from itsmdesk.services.cmdb import cis

    set_site("")
    builder.generate("small", 7)
    hub_db = proxy.obj
    path = tmp_path / "osl.db"
    create_replica(db.url, "OSL", path)
    replica, _info = open_database(f"sqlite:///{path}")
    try:
        with on(hub_db):
            some_cis = list(CI.select().order_by(CI.name).limit(6))
            change = Change.select().order_by(Change.ref).first()
            relations = list(Relation.select().order_by(Relation.id).limit(2))
            person = Person.select().order_by(Person.name).first()
            action = CABAction.select().where(CABAction.done == False).first()  # noqa: E712
        a, b, c = some_cis[:3]
        assert action is not None and len(relations) == 2
        with on(replica, "OSL"):
            cis.update_ci(a.id, None, {"description": "Oslo note"})
            cis.update_ci(b.id, None, {"description": "Oslo says"})
            changes.set_affected_cis(change.id, [c.id, some_cis[3].id])
            changes.cast_vote(change.id, person.id, "approve", "fine by Oslo")
            cis.create_relation(some_cis[4], "depends_on", some_cis[5])
            cis.delete_relation(relations[0].id)
            records.set_setting("oslo_only", {"n": 1})
            start = dt.datetime(2026, 6, 1, 20, 0)
            new_change = changes.create_change({"title": "Oslo switch swap",
                                                "planned_start": start,
                                                "planned_end": start + dt.timedelta(hours=2)})
            cab.set_action_done(action.id)
        with on(hub_db):
            cis.update_ci(a.id, None, {"status": "in_maintenance"})
            cis.update_ci(b.id, None, {"description": "Hub says"})
            cis.delete_relation(relations[1].id)
            records.set_setting("hub_only", {"n": 2})
        report = engine.sync_with(replica, hub_db)
        assert [c_["field"] for c_ in report.conflicts] == ["description"]
        assert _dump(replica) == _dump(hub_db)
        with on(hub_db):
            assert Change.get_by_id(new_change.id).ref.startswith("CHG-OSL-")
            assert CI.get_by_id(a.id).description == "Oslo note"
            assert CI.get_by_id(a.id).status == "in_maintenance"
            assert CI.get_by_id(b.id).description == "Hub says"
        assert journal_guard.first_broken(replica) is None
        assert engine.sync_with(replica, hub_db).pulled_rows == 0
    finally:
        replica.close()
        proxy.initialize(hub_db)
        set_site("")


def test_deletes_against_edits_and_child_rows_changed_on_both_sides(hub, tmp_path):
    """The replica deletes an incident the hub edited: the hub keeps it, a conflict says so and
    the replica gets it back (with its work log).  The hub deletes an incident the replica
    edited: it is gone on both, the edit listed as a conflict.  A work log note's text changed
    on both sides: the hub's stays; its other field changed on the replica merges."""
    from itsmdesk.services import records

    hub_db, _info, ids = hub
    with on(hub_db):
        third = incidents.create_incident({"title": "Disk full"})
        note = WorkLog.select().where(WorkLog.incident == ids["first"]).first()
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            records.delete(Incident, ids["first"], None)
            incidents.update_incident(third.id, None, {"description": "Oslo cleaned /tmp"})
        with on(hub_db):
            incidents.update_incident(ids["first"], None, {"urgency": 2})
            records.delete(Incident, third.id, None)
        report = engine.sync_with(replica, hub_db)
        assert sorted((c["field"], c["reason"]) for c in report.conflicts) == [
            ("*deleted*", "edited on the hub"), ("description", "deleted on the hub")]
        assert _dump(replica) == _dump(hub_db)
        with on(replica):
            back = Incident.get_by_id(ids["first"])
            assert back.urgency == 2 and WorkLog.select().where(
                WorkLog.incident == back.id).count() == 1
            assert Incident.get_or_none(Incident.id == third.id) is None
        assert journal_guard.first_broken(replica) is None

        with on(replica, "OSL"):
            records.update_child(WorkLog, note.id, {"text": "Oslo text", "time_spent_minutes": 15})
        with on(hub_db):
            records.update_child(WorkLog, note.id, {"text": "Hub text"})
        report = engine.sync_with(replica, hub_db)
        assert [(c["field"], c["hub"]) for c in report.conflicts] == [("work_log~text",
                                                                         "Hub text")]
        assert _dump(replica) == _dump(hub_db)
        with on(hub_db):
            row = WorkLog.get_by_id(note.id)
            assert (row.text, row.time_spent_minutes) == ("Hub text", 15)
    finally:
        replica.close()


def test_a_hub_row_committed_late_is_pulled_by_the_next_sync(hub, tmp_path):
    """PostgreSQL hands out journal ids when a transaction writes, not when it commits: a row
    with a lower id committed after a higher one was pulled must still reach the replica."""
    import uuid

    import psycopg2

    hub_db, info, ids = hub
    if info.backend != "postgresql":
        pytest.skip("SQLite writers are serialised: journal ids are in commit order")
    replica = _make_replica(hub, tmp_path)
    late = psycopg2.connect(info.url)
    try:
        with on(hub_db):
            first = Incident.get_by_id(ids["first"])
        cursor = late.cursor()  # a workstation's transaction, still open: its id comes first
        cursor.execute('UPDATE "incident" SET title = %s, version = version + 1, '
                       "updated_at = date_trunc('second', now()::timestamp), updated_by = NULL "
                       'WHERE id = %s', ("Printer jams (late)", str(first.id)))
        cursor.execute(
            'INSERT INTO "journal" (record_kind, record_id, record_ref, field, old, new, '
            'who_name, at, site, version, batch) VALUES '
            "('incident', %s, %s, 'title', %s, %s, 'Late Larry', "
            "date_trunc('second', now()::timestamp), '', %s, %s)",
            (str(first.id), first.ref, first.title, "Printer jams (late)", first.version + 1,
             str(uuid.uuid4())))
        with on(hub_db):  # meanwhile another write commits with a higher id
            incidents.update_incident(ids["second"], None, {"urgency": 1})
        engine.sync_with(replica, hub_db)
        with on(replica):
            assert Incident.get_by_id(ids["second"]).urgency == 1
            assert Incident.get_by_id(ids["first"]).title == "Printer jams"  # not there yet
        late.commit()
        engine.sync_with(replica, hub_db)
        with on(replica):
            assert Incident.get_by_id(ids["first"]).title == "Printer jams (late)"
        assert _dump(replica) == _dump(hub_db)
    finally:
        late.close()
        replica.close()


def test_a_hub_edit_between_two_hub_transactions_of_one_push_is_a_conflict(hub, tmp_path,
                                                                            monkeypatch):
    """A push of several hub transactions reads each record's hub history once and keeps the
    record as its group left it (ops.PushCache).  A workstation saving the record between two
    of them must still be seen: the replica's later edit of the same field is a conflict, and
    an edit of another field merges onto the workstation's version."""
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    with on(replica, "OSL"):
        for n in range(3):  # three batches on the same ticket; one batch per hub transaction
            first = Incident.get_by_id(ids["first"])
            incidents.update_incident(first.id, first.version, {"title": f"Oslo {n}"})
        first = Incident.get_by_id(ids["first"])
        incidents.update_incident(first.id, first.version, {"description": "Oslo says"})
    monkeypatch.setattr(engine, "GROUP_ROWS", 1)
    applied = []
    real = ops.apply_batches

    def between(batches, operator, cache=None):
        out = real(batches, operator, cache)
        applied.append(len(batches))
        if len(applied) == 1:  # a workstation saves the ticket after the first transaction
            with on(hub_db):
                now = Incident.get_by_id(ids["first"])
                incidents.update_incident(now.id, now.version, {"description": "Desk says",
                                                                "impact": 1})
        return out

    monkeypatch.setattr(ops, "apply_batches", between)
    report = engine.sync_with(replica, hub_db)
    assert len(applied) == 4
    conflicts = [(c["field"], c["hub"], c["replica"]) for c in report.conflicts]
    assert conflicts == [("description", "Desk says", "Oslo says")]
    for database in (hub_db, replica):
        with on(database):
            row = Incident.get_by_id(ids["first"])
            assert (row.title, row.description, row.impact) == ("Oslo 2", "Desk says", 1)
    assert _dump(hub_db) == _dump(replica)


def test_a_note_then_a_refused_delete_in_one_push_keeps_the_note(hub, tmp_path):
    """A site adds a note to a ticket, then deletes the ticket, which the hub edited meanwhile:
    the delete is refused (a person decides) and the ticket comes back at the site with every
    note, the site's own one too, although both batches went to the hub in one transaction
    (found by the property test: the note was not yet in the hub's tables when the refused
    delete's rows were made)."""
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    with on(replica, "OSL"):
        incidents.add_work_log(ids["second"], "Oslo looked at it")
        records.delete(Incident, ids["second"], None)
    with on(hub_db):
        incidents.update_incident(ids["second"], None, {"description": "hub edit"})
    report = engine.sync_with(replica, hub_db)
    assert [c["reason"] for c in report.conflicts] == ["edited on the hub"]
    for database in (hub_db, replica):
        with on(database):
            assert Incident.get_by_id(ids["second"]).description == "hub edit"
            notes = {w.text for w in WorkLog.select().where(WorkLog.incident == ids["second"])}
            assert notes == {"Oslo looked at it"}
    assert _dump(hub_db) == _dump(replica)
