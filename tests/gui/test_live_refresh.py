"""Two workstations on one PostgreSQL database: an edit made on one appears on the other --
in its queue row and in its open form -- through LISTEN/NOTIFY, without anyone pressing
refresh; a form with unsaved edits is not overwritten but offers Merge / Reload.

Two AppContexts with real reader/writer threads and a listener each (their own connections),
as two desktop clients would have.
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEventLoop, QTimer

pytestmark = [pytest.mark.gui, pytest.mark.parametrize("db", ["postgres"], indirect=True)]


def _wait(predicate, timeout_ms: int = 10_000) -> float:
    """Turn the event loop until ``predicate()``; seconds it took."""
    started = time.perf_counter()
    deadline = started + timeout_ms / 1000
    while not predicate():
        if time.perf_counter() > deadline:
            raise AssertionError("timed out waiting")
        loop = QEventLoop()
        QTimer.singleShot(10, loop.quit)
        loop.exec()
    return time.perf_counter() - started


@pytest.fixture
def two_desks(db, qapp):
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.views.context import AppContext

    tickets = [incidents.create_incident({"title": f"Ticket {i}", "impact": 2, "urgency": 2})
               for i in range(5)]
    a = AppContext(db)
    b = AppContext(db)
    assert a.live_feed is not None and b.live_feed is not None
    _wait(lambda: all(c.live_feed.listener.conn is not None for c in (a, b)))
    yield a, b, tickets
    for c in (a, b):
        c.ops.stop()


def _queue(ctx, qtbot):
    from itsmdesk.views.queue.panel import QueuePanel

    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1200, 600)
    panel.show()
    panel.select_queue("all_open")
    _wait(lambda: panel.model.rowCount() == 5)
    return panel


def _form(ctx, qtbot, record_id):
    from itsmdesk.views.queue.incident_form import IncidentForm

    form = IncidentForm(ctx, record_id)
    qtbot.addWidget(form)
    form.show()
    _wait(lambda: form.loaded)
    return form


def _title_in_queue(panel, record_id) -> str | None:
    col = panel.model.columns.index("title")
    for r in range(panel.model.rowCount()):
        if str(panel.model.row_at(r).id) == str(record_id):
            return panel.model.index(r, col).data()
    return None


def test_an_edit_on_one_desk_appears_in_the_other_desks_queue_and_form(two_desks, qtbot):
    from itsmdesk.services.servicedesk import incidents

    a, b, tickets = two_desks
    panel = _queue(b, qtbot)
    target = tickets[2]
    form = _form(b, qtbot, target.id)
    assert form.title_edit.text() == "Ticket 2"
    received = []
    b.live_feed.sig_received.connect(received.append)

    done = []
    a.write(incidents.update_incident, target.id, target.version, {"title": "Printer on fire"},
            on_done=done.append)
    _wait(lambda: done)
    took = _wait(lambda: _title_in_queue(panel, target.id) == "Printer on fire"
                 and form.title_edit.text() == "Printer on fire")
    assert took < 1.0, f"B saw A's edit after {took:.2f} s"
    assert received and target.id in received[0].ids("incident")
    assert not form.dirty and form.version == target.version + 1
    assert not form.changed_bar.isVisible()
    # A's own feed did not deliver its own write a second time
    assert a.live_feed.dropped_own >= 1

    # a new ticket on A: B's queue gains the row and its count follows
    assert panel.queue_list.currentItem().text().endswith("(5)")
    a.write(incidents.create_incident, {"title": "Scanner jammed", "impact": 2, "urgency": 2})
    took = _wait(lambda: panel.model.rowCount() == 6
                 and panel.queue_list.currentItem().text().endswith("(6)"))
    assert took < 1.0, f"B's queue followed after {took:.2f} s"


def test_a_dirty_form_is_not_overwritten_but_offers_merge_or_reload(two_desks, qtbot,
                                                                      monkeypatch):
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.views.forms.merge_dialog import MergeDialog

    a, b, tickets = two_desks
    target = tickets[1]
    form = _form(b, qtbot, target.id)
    form.title_edit.setText("B's title")
    assert form.dirty
    mine = form.edits()

    a.write(incidents.update_incident, target.id, target.version, {"title": "A's title"})
    _wait(lambda: form.changed_bar.isVisible())
    assert form.changed_label.text().startswith("Changed by ")
    assert " at " in form.changed_label.text()  # ... at HH:MM
    assert form.dirty and form.edits() == mine  # my edits untouched
    assert form.title_edit.text() == "B's title"  # not overwritten by theirs

    # Merge: the save meets their version and the merge dialog the stale-save path uses opens
    shown = []

    def fake_exec(dialog):  # noqa: ANN001, ANN202
        shown.append(dialog)
        return 0  # the person cancels the merge

    monkeypatch.setattr(MergeDialog, "exec", fake_exec)
    form.merge_button.click()
    _wait(lambda: shown)
    assert shown[0].theirs["title"] == "A's title" and shown[0].mine["title"] == "B's title"
    assert form.dirty  # cancelled: still mine

    # Reload: drop my edits, show theirs
    form.show_changed_elsewhere("Ann", None)
    form.reload_button.click()
    _wait(lambda: form.title_edit.text() == "A's title" and not form.dirty)
    assert not form.changed_bar.isVisible()


def test_a_ci_added_on_one_desk_appears_in_the_other_desks_cmdb_tree(two_desks, qtbot):
    from itsmdesk.services.cmdb import cis
    from itsmdesk.views.cmdb.panel import create_panel

    a, b, _tickets = two_desks
    cis.create_ci({"name": "ws-live-00", "ci_class": "workstation"})
    panel = create_panel(b, None)
    qtbot.addWidget(panel)
    panel.show()
    model = panel.tree.model_

    def rows() -> list[str]:
        return [model.index(r, 0).data() for r in range(model.rowCount())]

    _wait(lambda: "Workstation (1)" in rows())  # loaded
    a.write(cis.create_ci, {"name": "ws-live-01", "ci_class": "workstation"})
    took = _wait(lambda: "Workstation (2)" in rows())
    assert took < 1.0, f"B's CMDB tree followed after {took:.2f} s"
