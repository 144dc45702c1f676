"""The change calendar dock: views, filters, conflicts, drag to reschedule with undo, export.
The dock runs no SQL on the GUI thread outside an operation (``gui_sql``)."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar
from PySide6.QtCore import QPoint, Qt

from itsmdesk.models.change import Change
from itsmdesk.services import records
from itsmdesk.services.change import changes as change_service
from itsmdesk.views.calendar.canvas import local
from itsmdesk.views.calendar.panel import CalendarPanel
from tests.change_helpers import T0, change, ci


def _panel(ctx, qtbot, mode="month"):
    panel = CalendarPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    panel.set_anchor(local(T0).date(), mode)
    return panel


def test_views_show_changes_conflicts_and_windows(ctx, qtbot, gui_sql):
    srv = ci("srv-cal")
    a = change("Alpha", cis=[srv], status="scheduled", risk_level="high")
    b = change("Beta", cis=[srv], start_h=1, status="approved")
    change_service.create_window({"name": "Freeze", "kind": "blackout",
                                  "starts_at": T0 + dt.timedelta(days=3),
                                  "ends_at": T0 + dt.timedelta(days=4)})
    gui_sql.clear()
    panel = _panel(ctx, qtbot)
    refs = {item.ref for _r, item in panel.canvas.hits}
    assert {a.ref, b.ref} <= refs
    assert all(item.conflict for _r, item in panel.canvas.hits if item.ref in (a.ref, b.ref))
    assert panel.conflicts.count() == 1 and a.ref in panel.conflicts.item(0).text()
    assert any(colour.alpha() for _r, colour in panel.canvas.backgrounds)
    for mode in ("week", "day", "timeline"):
        panel.set_anchor(local(T0).date(), mode)
        assert {a.ref, b.ref} <= {item.ref for _r, item in panel.canvas.hits}, mode
    panel.rows_box.setCurrentIndex(0)
    assert "srv-cal" in [text for _r, text, _a in panel.canvas.labels]
    # filter by status hides the other change
    panel.status_box.setCurrentIndex(panel.status_box.findData("approved"))
    assert {item.ref for _r, item in panel.canvas.hits} == {b.ref}
    assert gui_sql.statements == []


def test_drag_reschedules_and_undo_restores(ctx, qtbot, gui_sql):
    c = change("Drag me", status="scheduled")
    statuses = []
    ctx.sig_status.connect(statuses.append)
    gui_sql.clear()
    panel = _panel(ctx, qtbot, "week")
    rect = panel.canvas.rect_of(c.id)
    assert rect is not None
    _first, _days, cw, hh = panel.canvas._grid
    start = rect.center()
    end = start + QPoint(int(cw), int(hh * 2))  # one day later, two hours later
    qtbot.mousePress(panel.canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(panel.canvas, end)
    qtbot.mouseRelease(panel.canvas, Qt.MouseButton.LeftButton, pos=end)
    assert gui_sql.statements == []
    assert panel.undo_stack.count() == 1 and statuses and statuses[-1].startswith(c.ref)
    # the write's broadcast made the dock read its range again: the item is where it was put
    assert panel.canvas.rect_of(c.id) != rect
    moved = Change.get_by_id(c.id)
    assert moved.planned_start == T0 + dt.timedelta(days=1, hours=2)
    assert moved.planned_end - moved.planned_start == dt.timedelta(hours=2)
    assert any(h.field == "planned_start" for h in records.history("change", c.id))
    gui_sql.clear()
    panel.undo_stack.undo()
    assert gui_sql.statements == []
    assert Change.get_by_id(c.id).planned_start == T0
    gui_sql.clear()
    panel.undo_stack.redo()
    assert gui_sql.statements == []
    assert Change.get_by_id(c.id).planned_start == T0 + dt.timedelta(days=1, hours=2)


def test_refused_move_is_not_undoable(ctx, qtbot, monkeypatch, gui_sql):
    c = change("Done", status="closed")
    shown = []
    monkeypatch.setattr("itsmdesk.views.messages.show_error",
                        lambda parent, exc, title=None: shown.append(exc))
    panel = _panel(ctx, qtbot, "week")
    item = next(i for _r, i in panel.canvas.hits if i.id == c.id)
    loaded = []
    panel.sig_loaded.connect(loaded.append)
    gui_sql.clear()
    panel.reschedule(item, local(T0) + dt.timedelta(days=1))
    assert gui_sql.statements == []
    assert shown and panel.undo_stack.count() == 0
    assert loaded  # read again: the dragged item goes back
    assert Change.get_by_id(c.id).planned_start == T0


def test_export_ics_from_dock(ctx, qtbot, tmp_path):
    c = change("Export", status="scheduled")
    panel = _panel(ctx, qtbot)
    path = tmp_path / "dock.ics"
    assert panel.export_ics(str(path)) == 1
    cal = Calendar.from_ical(path.read_bytes())
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [f"{c.id}@itsmdesk"]


def test_busy_day_shows_a_chip_and_more_opens_the_day(ctx, qtbot):
    """A short month cell still shows one change and "+n more" beside the day number; clicking
    "+n more" shows that day, where every change is listed."""
    made = [change(f"Busy {n}", start_h=n * 0.25, status="scheduled") for n in range(5)]
    panel = CalendarPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1200, 330)  # the calendar dock at its default height
    panel.show()
    panel.set_anchor(local(T0).date(), "month")
    day = local(T0).date()
    shown = [item.ref for _r, item in panel.canvas.hits if item.ref.startswith("CHG")]
    assert 1 <= len(shown) < len(made)
    more = [(rect, text, d) for rect, text, d in panel.canvas.more if d == day]
    assert more and more[0][1] == f"+{len(made) - len(shown)} more"
    qtbot.mouseClick(panel.canvas, Qt.MouseButton.LeftButton, pos=more[0][0].center())
    assert panel.mode() == "day" and panel.canvas.anchor == day
    assert {item.ref for _r, item in panel.canvas.hits} >= {c.ref for c in made}


def test_undo_after_someone_else_moved_it_shows_the_conflict(ctx, qtbot, monkeypatch, gui_sql):
    shown = []
    monkeypatch.setattr("itsmdesk.views.messages.show_error",
                        lambda parent, exc, title=None: shown.append(exc))
    c = change("Contested", status="scheduled")
    panel = _panel(ctx, qtbot, "week")
    item = next(i for _r, i in panel.canvas.hits if i.id == c.id)
    panel.reschedule(item, local(T0) + dt.timedelta(days=1))
    assert panel.undo_stack.count() == 1 and not shown
    row = Change.get_by_id(c.id)
    change_service.reschedule(c.id, row.version, T0 + dt.timedelta(days=2),
                              T0 + dt.timedelta(days=2, hours=2))
    gui_sql.clear()
    panel.undo_stack.undo()
    assert gui_sql.statements == []
    from itsmdesk.errors import ConflictError
    from itsmdesk.views.messages import error_text

    assert len(shown) == 1 and isinstance(shown[0], ConflictError)
    assert "nothing was saved" in error_text(shown[0])
    assert Change.get_by_id(c.id).planned_start == T0 + dt.timedelta(days=2)


def test_conflicts_view_says_what_it_compared_and_edits_the_stretch(ctx, qtbot, gui_sql):
    from itsmdesk.models.journal import JournalEntry
    from itsmdesk.services.change import conflicts

    srv = ci("srv-stretch")
    a = change_service.create_change({"title": "No end A", "planned_start": T0,
                                      "status": "scheduled"}, cis=[srv])
    b = change_service.create_change({"title": "No end B", "status": "approved",
                                      "planned_start": T0 + dt.timedelta(minutes=30)}, cis=[srv])
    gui_sql.clear()
    panel = _panel(ctx, qtbot)
    assert panel.conflicts.count() == 1 and a.ref in panel.conflicts.item(0).text()
    assert panel.compared_label.text() == (
        "Compared: the 2 change(s) in this range still on the calendar (draft to implementing). "
        "1 of 1 conflicting pair(s) involve a change without an end.")
    assert panel.stretch_box.value() == 60
    panel.stretch_box.setValue(15)  # 08:00-08:15 and 08:30-08:45: no longer overlapping
    panel.stretch_box.editingFinished.emit()
    assert gui_sql.statements == []
    qtbot.waitUntil(lambda: panel.conflicts.count() == 0)
    assert conflicts.stretch_minutes() == 15
    assert JournalEntry.select().where(
        (JournalEntry.record_kind == "setting")
        & (JournalEntry.record_ref == conflicts.STRETCH_SETTING)).count() == 1
    assert "0 of 0 conflicting pair(s)" in panel.compared_label.text()
    assert b.ref  # both still shown on the canvas
    assert {a.ref, b.ref} <= {item.ref for _r, item in panel.canvas.hits}
