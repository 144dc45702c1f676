"""Scoped replicas (issue 16): a replica of the Oslo site's part of the hub holds Oslo's teams'
CIs and tickets and not Stockholm's; edits sync both ways; a hub ticket reassigned into the
scope arrives whole (work log and all); hub edits outside the scope are not applied and break
nothing; a refetch (the hub's history trimmed) keeps unsent local edits.  Each on an SQLite-file
hub and a PostgreSQL hub (the ``db`` fixture)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from itsmdesk.models import journal_guard
from itsmdesk.models.base import db as proxy
from itsmdesk.models.cmdb import CI
from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.models.people import Person, Team
from itsmdesk.services import people, replay
from itsmdesk.services.cmdb import cis
from itsmdesk.services.context import set_site
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.session import open_database
from itsmdesk.services.sync import engine, scope
from itsmdesk.services.sync.replica import create_replica, status
from tests.test_sync_basic import on


@pytest.fixture
def hub(db):
    """A hub with two sites: Oslo (a desk team, a printer, tickets) and Stockholm (the same)."""
    set_site("")
    cis.ensure_standard_classes()
    osl = people.create_site({"name": "Oslo", "code": "OSL"})
    sto = people.create_site({"name": "Stockholm", "code": "STO"})
    olga = people.create_person({"name": "Olga Oslo", "site": osl.id, "is_agent": True})
    sven = people.create_person({"name": "Sven Sto", "site": sto.id, "is_agent": True})
    oslo_desk = people.create_team({"name": "Oslo desk", "lead": olga.id}, [olga])
    sto_desk = people.create_team({"name": "Stockholm desk", "lead": sven.id}, [sven])
    cls = _any_class()
    printer = cis.create_ci({"name": "osl-printer", "ci_class": cls, "owner_team": oslo_desk.id})
    router = cis.create_ci({"name": "sto-router", "ci_class": cls, "owner_team": sto_desk.id})
    ids = {"osl_team": oslo_desk.id, "sto_team": sto_desk.id, "printer": printer.id,
           "router": router.id, "olga": olga.id}
    ids["osl_inc"] = incidents.create_incident({"title": "Oslo printer jams",
                                                "team": oslo_desk.id}).id
    ids["about_ci"] = incidents.create_incident({"title": "Toner", "ci": printer.id}).id
    ids["sto_inc"] = incidents.create_incident({"title": "Stockholm VPN", "team": sto_desk.id}).id
    ids["sto_other"] = incidents.create_incident({"title": "Stockholm router",
                                                  "team": sto_desk.id, "ci": router.id}).id
    incidents.add_work_log(ids["sto_inc"], "Sven restarted the VPN")
    incidents.add_work_log(ids["osl_inc"], "Olga opened the printer")
    database = proxy.obj
    yield database, db, ids
    proxy.initialize(database)
    set_site("")


def _any_class() -> str:
    from itsmdesk.models.cmdb import CIClass

    return CIClass.select(CIClass.name).order_by(CIClass.name).first().name


def _make(hub, tmp_path, spec: str = "site=OSL"):
    hub_db, info, _ids = hub
    path = tmp_path / "osl.db"
    made = create_replica(info.url, "OSL", path, scope=spec)
    replica, _info = open_database(f"sqlite:///{path}")
    proxy.initialize(hub_db)
    set_site("")
    return replica, path, made


def _selected(hub_db, spec: str = "site=OSL"):
    return scope.select(hub_db, scope.parse(spec))


def _scoped_dump(database, selected) -> dict:
    """``replay.table_dump`` of ``database`` over the scope's records only (and the reference
    data whose references to scoped records hold).  Reference counters are left out: a scoped
    replica does not count the hub's numbers of records outside its scope (its own site block
    is the only one it numbers in)."""
    keep = scope.row_filter(selected)
    with on(database):
        dump = replay.table_dump()
    from itsmdesk.models import ALL_MODELS

    out = {}
    for model in ALL_MODELS:
        rows = dump.get(model._meta.table_name)
        if rows is None or model._meta.table_name == "ref_counter":
            continue
        if not rows:
            out[model._meta.table_name] = rows
            continue
        names = list(rows[0])
        test = keep(model, [model._meta.fields[n] for n in names])
        out[model._meta.table_name] = [r for r in rows if test is None
                                       or test(tuple(r[n] for n in names))]
    return out


def _titles(database) -> set[str]:
    with on(database):
        return {i.title for i in Incident.select()}


def test_scoped_replica_holds_the_sites_part(hub, tmp_path):
    hub_db, _info, ids = hub
    replica, path, made = _make(hub, tmp_path)
    try:
        assert made.scope == "site=OSL"
        assert _titles(replica) == {"Oslo printer jams", "Toner"}  # not Stockholm's
        with on(replica):
            assert {c.name for c in CI.select()} == {"osl-printer"}
            assert Team.select().count() == 2 and Person.select().count() >= 2  # reference data
            assert WorkLog.select().count() == 1
        with on(hub_db):
            assert Incident.select().count() == 4 and CI.select().count() == 2
        assert _scoped_dump(replica, _selected(hub_db)) == _scoped_dump(hub_db, _selected(hub_db))
        assert journal_guard.first_broken(replica) is None
        assert status(replica)["scope"] == "site=OSL"
        # by team names the same part
        other = create_replica(hub[1].url, "OSL", tmp_path / "teams.db", scope="teams=Oslo desk")
        assert other.rows["incident"] == 2 and other.rows["ci"] == 1
    finally:
        replica.close()


def test_edits_both_ways_and_a_ticket_entering_the_scope(hub, tmp_path):
    hub_db, _info, ids = hub
    replica, path, _made = _make(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            inc = Incident.get_by_id(ids["osl_inc"])
            incidents.update_incident(inc.id, inc.version, {"title": "Oslo printer jams (2)"})
            new = incidents.create_incident({"title": "Oslo scanner", "team": ids["osl_team"]})
        with on(hub_db):
            inc = Incident.get_by_id(ids["osl_inc"])
            incidents.update_incident(inc.id, inc.version, {"description": "hub: drum"})
            sto = Incident.get_by_id(ids["sto_inc"])  # into the scope: Oslo's team takes it
            incidents.update_incident(sto.id, sto.version, {"team": ids["osl_team"]})
            other = Incident.get_by_id(ids["sto_other"])  # out of the scope: not applied
            incidents.update_incident(other.id, other.version, {"title": "Router (hub)"})
            incidents.add_work_log(other.id, "Stockholm only")
            hub_new = incidents.create_incident({"title": "Hub made for Oslo",
                                                 "team": ids["osl_team"]})
        report = engine.sync_with(replica, hub_db)
        assert report.out_of_scope > 0 and report.fetched_rows >= 3
        assert _titles(replica) == {"Oslo printer jams (2)", "Toner", "Oslo scanner",
                                    "Stockholm VPN", "Hub made for Oslo"}
        with on(replica):
            assert Incident.get_by_id(ids["osl_inc"]).description == "hub: drum"
            arrived = Incident.get_by_id(ids["sto_inc"])
            assert arrived.team_id == ids["osl_team"]
            assert [w.text for w in WorkLog.select().where(WorkLog.incident == arrived.id)] == [
                "Sven restarted the VPN"]  # whole, with its work log
        with on(hub_db):
            assert Incident.get_by_id(new.id).title == "Oslo scanner"
        sel = _selected(hub_db)
        assert _scoped_dump(replica, sel) == _scoped_dump(hub_db, sel)
        # later rows about the arrived ticket apply normally, both ways
        with on(hub_db):
            sto = Incident.get_by_id(ids["sto_inc"])
            incidents.update_incident(sto.id, sto.version, {"urgency": 1})
            incidents.add_work_log(sto.id, "Hub again")
            incidents.add_work_log(hub_new.id, "For Oslo")
        with on(replica, "OSL"):
            incidents.add_work_log(ids["sto_inc"], "Oslo took it")
        engine.sync_with(replica, hub_db)
        sel = _selected(hub_db)
        assert _scoped_dump(replica, sel) == _scoped_dump(hub_db, sel)
        with on(replica):
            assert Incident.get_by_id(ids["sto_inc"]).urgency == 1
            assert WorkLog.select().where(WorkLog.incident == ids["sto_inc"]).count() == 3
        assert status(replica)["unpushed_rows"] == 0
        assert journal_guard.first_broken(replica) is None
        again = engine.sync_with(replica, hub_db)
        assert (again.pushed_batches, again.pulled_rows, again.fetched_rows) == (0, 0, 0)
    finally:
        replica.close()


def _trim(hub_db) -> None:
    """The hub trims its history: journal rows up to the current last one are removed."""
    top = hub_db.execute_sql('SELECT MAX(id) FROM "journal"').fetchone()[0]
    if journal_guard.is_sqlite(hub_db):
        journal_guard.remove_triggers(hub_db)
    with hub_db.atomic():
        hub_db.execute_sql(f'DELETE FROM "journal" WHERE id < {int(top)}')


def test_refetch_keeps_unsent_edits(hub, tmp_path):
    hub_db, _info, ids = hub
    replica, path, _made = _make(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            inc = Incident.get_by_id(ids["about_ci"])
            incidents.update_incident(inc.id, inc.version, {"title": "Toner (Oslo)"})
            local = incidents.create_incident({"title": "Made in Oslo", "team": ids["osl_team"]})
        with on(hub_db):
            sto = Incident.get_by_id(ids["sto_inc"])
            incidents.update_incident(sto.id, sto.version, {"team": ids["osl_team"]})
            inc = Incident.get_by_id(ids["osl_inc"])
            incidents.update_incident(inc.id, inc.version, {"description": "hub"})
        _trim(hub_db)
        with on(hub_db):
            assert scope.hub_cannot_serve(hub_db, status(replica)["pull_checkpoint"])
        done = scope.refetch(replica, hub_db)
        assert done.reapplied >= 2
        assert _titles(replica) == {"Oslo printer jams", "Toner (Oslo)", "Made in Oslo",
                                    "Stockholm VPN"}
        with on(replica):
            assert Incident.get_by_id(ids["osl_inc"]).description == "hub"
        assert status(replica)["unpushed_rows"] > 0  # still to be sent
        report = engine.sync_with(replica, hub_db)
        assert report.pushed_batches >= 2 and not report.refetched
        with on(hub_db):
            assert Incident.get_by_id(local.id).title == "Made in Oslo"
            assert Incident.get_by_id(ids["about_ci"]).title == "Toner (Oslo)"
        sel = _selected(hub_db)
        assert _scoped_dump(replica, sel) == _scoped_dump(hub_db, sel)
        assert journal_guard.first_broken(replica) is None

        # the sync notices by itself when the hub cannot serve the checkpoint
        with on(hub_db):
            inc = Incident.get_by_id(ids["osl_inc"])
            incidents.update_incident(inc.id, inc.version, {"urgency": 2})
            incidents.update_incident(inc.id, inc.version + 1, {"urgency": 3})
        _trim(hub_db)
        report = engine.sync_with(replica, hub_db)
        assert report.refetched
        with on(replica):
            assert Incident.get_by_id(ids["osl_inc"]).urgency == 3
        sel = _selected(hub_db)
        assert _scoped_dump(replica, sel) == _scoped_dump(hub_db, sel)
    finally:
        replica.close()


def test_replica_status_shows_the_scope(hub, tmp_path):
    replica, path, _made = _make(hub, tmp_path, "teams=Oslo desk")
    replica.close()
    out = subprocess.run([sys.executable, "-m", "itsmdesk", "--db", f"sqlite:///{path}",
                          "replica", "status"], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "ITSMDESK_LANG": "en"})
    assert "scope: teams=Oslo desk" in out.stdout
    hub_db = hub[0]
    with on(hub_db):
        sto = Incident.get_by_id(hub[2]["sto_inc"])
        incidents.update_incident(sto.id, sto.version, {"team": hub[2]["osl_team"]})
        incidents.add_work_log(sto.id, "now Oslo's")
    _trim(hub_db)  # (the replica's checkpoint is now below the hub's first journal row - 1)
    out = subprocess.run([sys.executable, "-m", "itsmdesk", "--db", f"sqlite:///{path}",
                          "sync"], capture_output=True, text=True,
                         env={**__import__("os").environ, "ITSMDESK_LANG": "en"})
    assert out.returncode == 0, out.stderr
    assert "fetched again from the hub" in out.stdout
    out = subprocess.run([sys.executable, "-m", "itsmdesk", "--db", f"sqlite:///{path}",
                          "replica", "refetch"], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "ITSMDESK_LANG": "en"})
    assert "unsent journal rows applied again" in out.stdout
    replica, _info = open_database(f"sqlite:///{path}")
    try:
        assert "Stockholm VPN" in _titles(replica)
    finally:
        replica.close()
        proxy.initialize(hub_db)


def test_carried_answer_on_a_scoped_replica(hub, tmp_path):
    """A carried answer has no hub to fetch from: rows outside the scope are not applied and
    break nothing, the replica's own edits arrive at the hub, and a record that entered the
    scope arrives whole with the next network sync."""
    from itsmdesk.services.sync import bundle

    hub_db, _info, ids = hub
    replica, path, _made = _make(hub, tmp_path)
    try:
        with on(replica, "OSL"):
            inc = Incident.get_by_id(ids["osl_inc"])
            incidents.update_incident(inc.id, inc.version, {"title": "Carried"})
        with on(hub_db):
            other = Incident.get_by_id(ids["sto_other"])
            incidents.update_incident(other.id, other.version, {"title": "Router (hub)"})
            incidents.add_work_log(other.id, "Stockholm only")
            incidents.create_incident({"title": "New in Stockholm", "team": ids["sto_team"]})
            sto = Incident.get_by_id(ids["sto_inc"])
            incidents.update_incident(sto.id, sto.version, {"team": ids["osl_team"]})
        out = tmp_path / "osl.itsync"
        bundle.export_bundle(replica, out)
        with on(hub_db):
            bundle.import_bundle(hub_db, out, tmp_path / "osl.answer")
        bundle.import_answer(replica, tmp_path / "osl.answer")
        assert _titles(replica) == {"Carried", "Toner"}
        with on(hub_db):
            assert Incident.get_by_id(ids["osl_inc"]).title == "Carried"
        assert journal_guard.first_broken(replica) is None
        report = engine.sync_with(replica, hub_db)  # the link is back
        assert report.fetched_rows >= 2 and "Stockholm VPN" in _titles(replica)
        with on(replica):
            assert WorkLog.select().where(WorkLog.incident == ids["sto_inc"]).count() == 1
        sel = _selected(hub_db)
        assert _scoped_dump(replica, sel) == _scoped_dump(hub_db, sel)
    finally:
        replica.close()


def test_changes_follow_the_sites_cis_and_references_hold(hub, tmp_path):
    """A change given one of Oslo's CIs enters the scope whole; a change of Stockholm's CI does
    not; an Oslo ticket pointed at Stockholm's router brings the router along (its foreign key
    holds), without the router's own tickets."""
    from itsmdesk.models.change import Change, ChangeCI
    from itsmdesk.services.change import changes

    hub_db, _info, ids = hub
    with on(hub_db):
        before = changes.create_change({"title": "Swap the Oslo drum"}, cis=[ids["printer"]])
        import datetime as dt

        start = dt.datetime(2026, 12, 24, 8, 0)
        changes.create_window({"name": "Router freeze", "kind": "blackout", "starts_at": start,
                               "ends_at": start + dt.timedelta(days=2), "ci": ids["router"]})
    replica, path, made = _make(hub, tmp_path)
    try:
        assert made.rows["change"] == 1
        # reference data is whole: the window comes, and the CI it names with it
        assert made.rows["schedule_window"] == 1 and made.rows["ci"] == 2
        assert made.rows["incident"] == 2  # but not the router's tickets
        with on(hub_db):
            ours = changes.create_change({"title": "Oslo firmware"})
            changes.set_affected_cis(ours.id, [ids["printer"]])  # enters with its CI
            changes.create_change({"title": "Stockholm router swap"}, cis=[ids["router"]])
            inc = Incident.get_by_id(ids["osl_inc"])
            incidents.update_incident(inc.id, inc.version, {"ci": ids["router"]})
        report = engine.sync_with(replica, hub_db)
        assert report.out_of_scope > 0
        with on(replica):
            assert {c.title for c in Change.select()} == {before.title, "Oslo firmware"}
            assert ChangeCI.select().where(ChangeCI.change == ours.id).count() == 1
            assert {c.name for c in CI.select()} == {"osl-printer", "sto-router"}
            assert Incident.get_by_id(ids["osl_inc"]).ci_id == ids["router"]
            assert not Incident.select().where(Incident.id == ids["sto_other"]).exists()
        assert not replica.execute_sql("PRAGMA foreign_key_check").fetchall()
        assert journal_guard.first_broken(replica) is None
    finally:
        replica.close()


def test_a_team_renamed_on_the_hub_does_not_stop_the_sync(hub, tmp_path):
    hub_db, _info, ids = hub
    replica, path, _made = _make(hub, tmp_path, "teams=Oslo desk")
    try:
        with on(hub_db):
            team = Team.get_by_id(ids["osl_team"])
            people.update_team(team.id, team.version, {"name": "Oslo service desk"})
        engine.sync_with(replica, hub_db)
        with on(hub_db):
            incidents.create_incident({"title": "After the rename", "team": ids["osl_team"]})
        report = engine.sync_with(replica, hub_db)  # the scope's team name matches nothing now
        assert report.out_of_scope > 0
        assert _titles(replica) == {"Oslo printer jams", "Toner"}  # what was here stays
        scope.refetch(replica, hub_db)
        assert _titles(replica) == set()  # the rules no longer name a team of the hub
    finally:
        replica.close()
