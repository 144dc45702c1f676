"""The Conflicts dock and the "Sync with hub" action on a replica (SQLite files for both the hub
and the replica): a conflict made on purpose is listed with both values, decided from the dock,
and after the next sync the hub has the decided value and neither side lists it; the sync
action runs the real ``itsmdesk sync`` process, is cancelled halfway, and a second sync
completes."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt

from itsmdesk.models.base import db as proxy
from itsmdesk.models.incident import Incident
from itsmdesk.services import people, replay
from itsmdesk.services.context import set_site
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.session import open_database
from itsmdesk.services.sync import decide, engine
from itsmdesk.services.sync.link import open_unbound
from itsmdesk.services.sync.replica import create_replica, status
from tests.test_sync_basic import on


@pytest.fixture
def sites(tmp_path):
    """(hub database, replica database, replica DbInfo, incident id): a hub file with one
    incident and a replica of it for OSL; the models bound to the replica (as in the app)."""
    set_site("")
    hub_url = f"sqlite:///{tmp_path / 'hub.db'}"
    hub_db, _info = open_database(hub_url)
    ann = people.create_person({"name": "Ann Agent"})
    made = incidents.create_incident({"title": "Printer jams", "description": "Floor 2",
                                      "assignee": ann.id})
    hub_db.close()
    create_replica(hub_url, "OSL", tmp_path / "osl.db", hub_url)
    replica, info = open_database(f"sqlite:///{tmp_path / 'osl.db'}")
    hub, _hub_info = open_unbound(hub_url)
    yield hub, replica, info, made.id
    hub.close()
    replica.close()
    proxy.initialize(None)
    set_site("")


def _dump(database) -> dict:
    with on(database):
        return replay.table_dump()


def test_conflict_listed_decided_from_the_dock_and_synced(qtbot, sites, settings):
    from itsmdesk.views.conflicts.panel import ConflictsPanel
    from itsmdesk.views.context import AppContext
    from itsmdesk.views.main_window import MainWindow

    hub, replica, info, incident_id = sites
    oslo = "Oslo: toner low\nsecond line\nthird line"
    with on(replica, "OSL"):
        incidents.update_incident(incident_id, None, {"description": oslo})
    with on(hub):
        incidents.update_incident(incident_id, None, {"description": "Hub: drum replaced"})
    assert len(engine.sync_with(replica, hub).conflicts) == 1

    ctx = AppContext(info, synchronous=True)
    window = MainWindow(ctx, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    # a replica with an open conflict: the dock shows itself, the status bar names the hub
    dock = window.docks["conflictsDock"]
    assert dock.isVisible()
    assert window.replica_label.isVisible()
    assert window.replica_label.text().startswith("Replica OSL of hub.db · last synced 20")
    assert "hub.db" in window.replica_label.toolTip()
    assert window.sync_action.isVisible()
    panel = window.panel("conflictsDock")
    assert isinstance(panel, ConflictsPanel)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1)
    cells = [panel.table.item(0, c).text() for c in range(panel.table.columnCount())]
    assert cells[0].startswith("INC-") and cells[1] == "Description"
    assert cells[2] == "Hub: drum replaced" and cells[3].startswith("Oslo: toner low ⏎")
    assert cells[5] == "OSL" and cells[6] == "changed on both sides"
    assert panel.hub_text.toPlainText() == "Hub: drum replaced"
    assert panel.replica_text.toPlainText() == oslo  # multi-line, whole
    assert panel.summary.text() == "1 open conflict(s) to decide"

    qtbot.mouseClick(panel.take_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 0)
    assert panel.summary.text() == "No open conflicts."
    with on(replica):
        assert Incident.get_by_id(incident_id).description == oslo
    panel.show_decided.setChecked(True)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1)
    assert "took the replica's value" in panel.heading.text()
    assert not panel.take_button.isEnabled()

    engine.sync_with(replica, hub)
    with on(hub):
        assert Incident.get_by_id(incident_id).description == oslo
        assert decide.conflicts().items == []
    with on(replica):
        assert decide.conflicts().items == []
    assert _dump(replica) == _dump(hub)
    window.close()


def test_dock_hidden_on_a_database_that_is_not_a_replica(qtbot, ctx, settings):
    from itsmdesk.views.main_window import MainWindow

    window = MainWindow(ctx, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert not window.docks["conflictsDock"].isVisible()
    assert not window.replica_label.isVisible()
    assert not window.sync_action.isVisible()
    window.close()


def test_sync_action_runs_the_sync_process_cancel_then_again(qtbot, sites, monkeypatch):
    from itsmdesk.views.conflicts.sync_dialog import SyncDialog
    from itsmdesk.views.context import AppContext

    # one batch per hub transaction (the sync process inherits it): many places to stop
    monkeypatch.setenv("ITSMDESK_SYNC_GROUP_ROWS", "1")
    hub, replica, info, incident_id = sites
    with on(replica, "OSL"):
        for n in range(400):
            incidents.update_incident(incident_id, None, {"title": f"Oslo edit {n}"})
    with on(hub):
        incidents.update_incident(incident_id, None, {"urgency": 1})
    waiting = status(replica)["unpushed_rows"]
    ctx = AppContext(info, synchronous=True)
    seen: list = []
    ctx.sig_changes.connect(seen.append)
    # The test holds the hub file's write lock to keep the sync process where it wants it
    # (the process waits for it: the busy timeout), whatever the machine's speed.
    hub_lock = sqlite3.connect(str(hub.database), isolation_level=None, timeout=30)
    hub_lock.execute("BEGIN IMMEDIATE")

    first = SyncDialog(ctx)
    qtbot.addWidget(first)
    first.show()
    first.start()
    qtbot.waitUntil(lambda: "to send" in first.phase_label.text()
                    or first.state != first.RUNNING, timeout=30_000)
    assert first.state == first.RUNNING  # (waiting for the hub: nothing sent yet)
    hub_lock.execute("COMMIT")

    def acknowledged() -> bool:  # the replica knows some batches are on the hub
        return status(replica)["unpushed_rows"] < waiting

    qtbot.waitUntil(lambda: acknowledged() or first.state != first.RUNNING, timeout=30_000)
    hub_lock.execute("BEGIN IMMEDIATE")  # the next hub transaction waits: Cancel lands there
    first.cancel()
    qtbot.waitUntil(lambda: first.state != first.RUNNING, timeout=30_000)
    hub_lock.execute("COMMIT")
    hub_lock.close()
    assert first.state == first.CANCELLED
    assert "Sync stopped" in first.result_label.text()
    assert 0 < status(replica)["unpushed_rows"] < waiting  # stopped halfway through the push
    with on(hub):
        assert Incident.get_by_id(incident_id).title != "Oslo edit 399"

    second = SyncDialog(ctx)
    qtbot.addWidget(second)
    second.show()
    second.start()
    qtbot.waitUntil(lambda: second.state != second.RUNNING, timeout=60_000)
    assert second.state == second.DONE, second.result_label.text()
    assert second.result_label.text().startswith("Synced: sent ")
    assert "no new conflicts" in second.result_label.text()
    assert second.summary["pushed"] > 0
    assert status(replica)["unpushed_rows"] == 0
    with on(hub):
        assert Incident.get_by_id(incident_id).title == "Oslo edit 399"
    with on(replica):
        assert Incident.get_by_id(incident_id).urgency == 1
    assert _dump(replica) == _dump(hub)
    # the panels were told: the incident, and the kind the Conflicts dock listens for
    assert any(incident_id in c.ids("incident") and c.touches("replica") for c in seen)


def test_hub_password_asked_and_passed_in_the_environment_only(qtbot, ctx, monkeypatch):
    """No ITSMDESK_PASSWORD and nothing in the keyring: the dialog asks, and the password goes
    into the sync process's environment, never onto its command line."""
    from PySide6.QtWidgets import QInputDialog

    from itsmdesk.services import credentials
    from itsmdesk.services.sync.overview import Overview
    from itsmdesk.views.conflicts import sync_dialog

    monkeypatch.delenv("ITSMDESK_PASSWORD", raising=False)
    monkeypatch.setattr(credentials, "stored_password", lambda _info: None)
    asked: list[str] = []

    def get_text(_parent, _title, label, *_args, **_kwargs):  # noqa: ANN001, ANN002, ANN003
        asked.append(label)
        return "s3cret", True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    dialog = sync_dialog.SyncDialog(ctx)
    qtbot.addWidget(dialog)
    started: list = []
    monkeypatch.setattr(dialog, "run", lambda environment=None: started.append(environment))
    dialog.state = dialog.RUNNING
    hub = "postgresql://ann@hub.example:5432/itsm"
    dialog._found_hub(Overview(True, "OSL", hub))
    assert asked == [f"Password for the hub {hub}:"]
    [environment] = started
    assert environment.value("ITSMDESK_PASSWORD") == "s3cret"
    program, arguments = sync_dialog.sync_command(ctx.info.url)
    assert "s3cret" not in " ".join([program, *arguments])
    assert arguments[-2:] == ["sync", "--progress-json"]

    # with the password in the environment already, nobody is asked
    monkeypatch.setenv("ITSMDESK_PASSWORD", "from-env")
    asked.clear()
    started.clear()
    dialog._found_hub(Overview(True, "OSL", hub))
    assert asked == [] and started[0].value("ITSMDESK_PASSWORD") == "from-env"


def test_status_bar_names_a_scoped_replicas_scope(qtbot, tmp_path):
    """A replica of a site's part of the hub says so in the status bar: "Replica OSL of hub.db ·
    scope: site OSL · last synced ..." (and in the tooltip); the sites and teams of a scope
    with several are listed."""
    from itsmdesk.services.sync.overview import Overview
    from itsmdesk.views.conflicts.replica_label import ReplicaLabel
    from itsmdesk.views.context import AppContext

    set_site("")
    hub_url = f"sqlite:///{tmp_path / 'hub.db'}"
    hub_db, _info = open_database(hub_url)
    people.create_site({"name": "Oslo", "code": "OSL"})
    hub_db.close()
    create_replica(hub_url, "OSL", tmp_path / "osl.db", hub_url, scope="site=OSL")
    replica, info = open_database(f"sqlite:///{tmp_path / 'osl.db'}")
    try:
        label = ReplicaLabel(AppContext(info, synchronous=True))
        qtbot.addWidget(label)
        assert not label.isHidden()
        assert label.text().startswith("Replica OSL of hub.db · scope: site OSL · last synced ")
        assert "Scope: site OSL (their CIs, tickets" in label.toolTip()

        state = Overview(True, "OSL", hub_url, None, 0, 0, "hub.db",
                         "site=OSL,BGO;teams=Oslo desk,Oslo network", ("OSL", "BGO"),
                         ("Oslo desk", "Oslo network"))
        label.show_state(state)
        assert label.text() == ("Replica OSL of hub.db · scope: sites OSL, BGO; teams Oslo "
                                "desk, Oslo network · last synced never")
        label.show_state(Overview(True, "OSL", hub_url, None, 0, 0, "hub.db", "teams=Oslo desk",
                                  (), ("Oslo desk",)))
        assert "· scope: team Oslo desk ·" in label.text()
        label.show_state(Overview(True, "OSL", hub_url, None, 0, 0, "hub.db"))
        assert label.text() == "Replica OSL of hub.db · last synced never"
        assert "Scope" not in label.toolTip()
    finally:
        replica.close()
        proxy.initialize(None)
        set_site("")


def test_conflict_reason_in_swedish(qapp):
    """A refused row's reason reads wholly in the reader's language (not "the author may not"
    around a Swedish action)."""
    from itsmdesk.i18n import install_translators, remove_translators
    from itsmdesk.views.conflicts.panel import reason_text

    translators = install_translators(qapp, "sv_SE")
    try:
        said = reason_text("not permitted: ticket.work")
        assert said.startswith("den som ändrade får inte ") and "author" not in said
        assert reason_text("changed on both sides") == "ändrat på båda sidor"
    finally:
        remove_translators(qapp, translators)
    assert reason_text("not permitted: ticket.work").startswith("the author may not ")
