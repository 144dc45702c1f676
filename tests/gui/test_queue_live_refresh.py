"""The queue dock after writes: rows refreshed in place by id, selection and current row kept;
rows that leave the queue go without losing the selection of the others; a hidden dock waits
until it is shown."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel

from itsmdesk.services.records import Changes
from itsmdesk.services.servicedesk import incidents

pytestmark = pytest.mark.gui


def _panel(ctx, qtbot):
    from itsmdesk.views.queue.panel import QueuePanel

    for i in range(12):
        incidents.create_incident({"title": f"Ticket {i:02d}", "impact": 2, "urgency": 2})
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.select_queue("all_open")
    assert panel.model.rowCount() == 12
    return panel


def _select(panel, rows, current):
    sel = panel.table.selectionModel()
    sel.clearSelection()
    for r in rows:
        sel.select(panel.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                   | QItemSelectionModel.SelectionFlag.Rows)
    sel.setCurrentIndex(panel.model.index(current, 0), QItemSelectionModel.SelectionFlag.NoUpdate)


def _selected_refs(panel):
    return sorted(r.get("ref") for r in panel.selected_rows())


def test_an_edit_elsewhere_refreshes_the_row_in_place(ctx, qtbot):
    panel = _panel(ctx, qtbot)
    _select(panel, [2, 3], 3)
    before = _selected_refs(panel)
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    row = panel.model.row_at(2)
    # another agent's edit, arriving through the change feed
    ctx.write(incidents.update_incident, row.id, row.version, {"title": "Printer on fire"})
    title_col = panel.model.columns.index("title")
    assert panel.model.index(2, title_col).data() == "Printer on fire"
    assert resets == []  # replaced in place: no reset
    assert _selected_refs(panel) == before
    assert panel.table.currentIndex().row() == 3


def test_a_ticket_leaving_the_queue_keeps_the_others_selected(ctx, qtbot):
    panel = _panel(ctx, qtbot)
    _select(panel, [1, 4, 5], 5)
    leaving = panel.model.row_at(4)
    kept = sorted(panel.model.row_at(r).get("ref") for r in (1, 5))
    current_ref = panel.model.row_at(5).get("ref")
    ctx.write(incidents.update_incident, leaving.id, leaving.version,
              {"status": "resolved", "resolution_code": "solved_permanently",
               "solution": "Replaced the toner"})
    assert panel.model.rowCount() == 11
    assert _selected_refs(panel) == kept
    assert panel.model.row_at(panel.table.currentIndex().row()).get("ref") == current_ref
    assert panel.queue_list.currentItem().text().endswith("(11)")


def test_a_hidden_queue_dock_does_no_work_until_shown(ctx, qtbot):
    panel = _panel(ctx, qtbot)
    panel.hide()
    row = panel.model.row_at(0)
    asked = []
    ctx.ops.sig_pending.connect(asked.append)
    incidents.update_incident(row.id, row.version, {"title": "Changed while hidden"})
    changes = Changes()
    changes.note("changed", "incident", row.id)
    ctx.broadcast(changes)  # as the feed from another workstation would
    assert asked == []  # no query while hidden
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.model.index(0, panel.model.columns.index("title")).data() == "Changed while hidden"
