"""Sync by a carried file: the replica's unsent writes to a signed file, applied at the hub
exactly like a network push, the hub's answer carried back; safe twice and out of order; a
damaged or foreign file refused untouched; the site's edits made after the bundle was written
kept in front (rebase) and still merged field by field at the hub."""

from __future__ import annotations

import gzip

import pytest

from itsmdesk.commands.sync import _waiting_batches
from itsmdesk.errors import ValidationError
from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.sync import bundle, engine, ops
from itsmdesk.services.sync.replica import status
from tests.test_sync_basic import _dump, _journal_count, _make_replica, on
from tests.test_sync_basic import hub as hub  # noqa: F401 - the fixture


def _carry(hub_db, replica, tmp_path, name="b1"):
    out = tmp_path / f"{name}.itsync"
    bundle.export_bundle(replica, out)
    with on(hub_db):
        done = bundle.import_bundle(hub_db, out, tmp_path / f"{name}.answer")
    return out, tmp_path / f"{name}.answer", done


def test_bundle_round_trip_twice_and_out_of_order(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            new = incidents.create_incident({"title": "Router down at Oslo"})
            incidents.update_incident(ids["first"], None, {"title": "Printer jams (Oslo)"})
            incidents.add_work_log(ids["first"], "Oslo looked at it")
        with on(hub_db):
            incidents.update_incident(ids["second"], None, {"solution": "hub fixed it"})
        b1, a1, done = _carry(hub_db, replica, tmp_path)
        assert (done.batches, done.applied, done.skipped) == (3, 3, 0)
        with on(hub_db):
            assert Incident.get_by_id(new.id).ref == "INC-OSL-000001"
            hub_rows = _journal_count(hub_db)
        # the same bundle again at the hub: nothing applied twice
        with on(hub_db):
            again = bundle.import_bundle(hub_db, b1, tmp_path / "again.answer")
        assert (again.applied, again.skipped) == (0, 3) and _journal_count(hub_db) == hub_rows

        # a second bundle (more work since), its answer imported before the first one's
        with on(replica, "OSL"):
            incidents.update_incident(new.id, None, {"description": "cable replaced"})
        b2, a2, done2 = _carry(hub_db, replica, tmp_path, "b2")
        assert (done2.applied, done2.skipped) == (1, 3)
        applied = bundle.import_answer(replica, a2)
        assert applied.pulled_rows > 0
        assert bundle.import_answer(replica, a1).nothing_new  # older answer: nothing to do
        assert bundle.import_answer(replica, a2).nothing_new  # twice: nothing to do
        assert _dump(replica) == _dump(hub_db)
        assert status(replica)["unpushed_rows"] == 0
        with on(replica):
            assert Incident.get_by_id(ids["second"]).solution == "hub fixed it"
        # and a network sync afterwards has nothing to do
        report = engine.sync_with(replica, hub_db)
        assert (report.pushed_batches, report.pulled_rows) == (0, 0)
    finally:
        replica.close()


def test_site_keeps_working_after_writing_its_bundle(hub, tmp_path):
    """Edits made after the bundle stay in front when the answer comes back, and reach the hub
    with the base they were made on: a field the hub changed meanwhile is a conflict."""
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            incidents.update_incident(ids["first"], None, {"title": "Oslo title"})
        _b1, a1, _done = _carry(hub_db, replica, tmp_path)
        with on(replica, "OSL"):  # after the bundle was written
            incidents.update_incident(ids["second"], None, {"description": "Oslo: later"})
            incidents.add_work_log(ids["second"], "Oslo note after the bundle")
        with on(hub_db):
            incidents.update_incident(ids["second"], None, {"description": "Hub: meanwhile"})
        # (the answer was written before the hub's edit; write a fresh one that carries it)
        b1 = tmp_path / "b1.itsync"
        with on(hub_db):
            bundle.import_bundle(hub_db, b1, a1)
        bundle.import_answer(replica, a1)
        with on(replica):  # the site's unsent edit is still what the site sees
            assert Incident.get_by_id(ids["second"]).description == "Oslo: later"
            assert Incident.get_by_id(ids["first"]).title == "Oslo title"
        assert status(replica)["unpushed_rows"] > 0
        # "sync --progress-json" counts the site's two writes waiting, not the hub's batches
        # the answer pulled in after them (they lie after the push checkpoint too)
        after = status(replica)["push_checkpoint"]
        assert replica.execute_sql('SELECT COUNT(DISTINCT batch) FROM "journal" WHERE id > ?',
                                   (after,)).fetchone()[0] > 2
        assert _waiting_batches(replica) == 2
        report = engine.sync_with(replica, hub_db)
        assert _waiting_batches(replica) == 0
        assert [(c["field"], c["hub"], c["replica"]) for c in report.conflicts] == [
            ("description", "Hub: meanwhile", "Oslo: later")]
        assert _dump(replica) == _dump(hub_db)
        with on(hub_db):
            assert WorkLog.select().where(WorkLog.text == "Oslo note after the bundle").count() == 1
            assert Incident.get_by_id(ids["second"]).description == "Hub: meanwhile"
    finally:
        replica.close()


def test_damaged_foreign_and_wrong_way_files_are_refused(hub, tmp_path):
    hub_db, _info, ids = hub
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            incidents.update_incident(ids["first"], None, {"title": "Oslo title"})
        good = tmp_path / "b.itsync"
        bundle.export_bundle(replica, good)
        raw = gzip.decompress(good.read_bytes())
        head, payload = raw.split(b"\n", 1)
        before = _dump(hub_db), _journal_count(hub_db)

        cut = tmp_path / "cut.itsync"
        cut.write_bytes(good.read_bytes()[:-20])
        tampered = tmp_path / "tampered.itsync"
        tampered.write_bytes(gzip.compress(head + b"\n" + payload.replace(b"Oslo title",
                                                                           b"Evil title")))
        resigned = tmp_path / "resigned.itsync"
        import hashlib
        import json
        header = json.loads(head)
        body = payload.rstrip(b"\n").replace(b"Oslo title", b"Evil title")
        header["sha256"] = hashlib.sha256(body).hexdigest()
        resigned.write_bytes(gzip.compress(json.dumps(header).encode() + b"\n" + body + b"\n"))
        junk = tmp_path / "junk.itsync"
        junk.write_text("hello")
        expected = {cut: "damaged", tampered: "checksum", resigned: "not signed",
                    junk: "not an itsmdesk sync file"}
        for path, words in expected.items():
            with on(hub_db), pytest.raises(ValidationError) as caught:
                bundle.import_bundle(hub_db, path, tmp_path / "x.answer")
            assert words in str(caught.value) and str(path) in str(caught.value)
        with pytest.raises(ValidationError, match="not the hub's answer"):
            bundle.import_answer(replica, good)
        assert (_dump(hub_db), _journal_count(hub_db)) == before
        assert not (tmp_path / "x.answer").exists()
    finally:
        replica.close()


def test_hub_refuses_rows_their_author_may_not_write(hub, tmp_path):
    """A replica is not trusted: a requester's edit of a CI made on the replica is not applied at
    the hub; it is a conflict 'not permitted', and the replica is put back to the hub's value."""
    from itsmdesk.services import accounts
    from itsmdesk.services.cmdb import cis
    from itsmdesk.services.context import SYSTEM, Actor

    hub_db, _info, ids = hub
    with on(hub_db):
        ci = cis.create_ci({"name": "oslo-sw1", "ci_class": "server"})
        admin = accounts.create_account("admin", "Ada Admin", "pw-admin-1", ["administrator"],
                                        SYSTEM)
        req = accounts.create_account("rita", "Rita Requester", "pw-rita-1", ["requester"],
                                      SYSTEM)
    assert ci is not None and admin and req
    replica = _make_replica(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            from itsmdesk.models.people import Person

            rita = Actor.for_person(Person.get(Person.login == "rita"), "OSL",
                                    roles=frozenset({"cmdb_owner"}))  # forged on the replica
            cis.update_ci(ci.id, None, {"description": "rita was here"}, rita)
        report = engine.sync_with(replica, hub_db)
        assert [(c["field"], c["reason"]) for c in report.conflicts] == [
            ("description", "not permitted: ci.edit")]
        with on(hub_db):
            from itsmdesk.models.cmdb import CI

            assert CI.get_by_id(ci.id).description != "rita was here"
            assert [c["reason"] for c in ops.conflicts()] == ["not permitted: ci.edit"]
        assert _dump(replica) == _dump(hub_db)
    finally:
        replica.close()
