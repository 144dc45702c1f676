"""Change calendar geometry: multi-day changes in a band across the days (week and day views),
timed changes keep the hour grid and the column; the timeline stacks overlapping bars so every
bar and label can be seen."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QPoint, Qt

from itsmdesk.models.change import Change
from itsmdesk.views.calendar.canvas import local
from itsmdesk.views.calendar.panel import CalendarPanel
from tests.change_helpers import T0, change, ci


def _panel(ctx, qtbot, mode, size=(1200, 330), anchor=None):
    panel = CalendarPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(*size)  # the calendar dock at its default height
    panel.show()
    panel.set_anchor(anchor or local(T0).date(), mode)
    return panel


def _rects(panel, item_id):
    return [r for r, item in panel.canvas.hits if item.id == item_id]


def test_week_view_puts_a_ten_day_change_in_a_band_and_keeps_the_grid(ctx, qtbot):
    # T0 is a Monday 08:00; the long change starts the Saturday before and runs ten days
    long = change("Datacentre migration wave 2", start_h=-50, hours=240, status="scheduled")
    short = change("Patch web servers", start_h=2, hours=2, status="approved")
    a = change("Renew TLS certificates", start_h=24 + 1, hours=3, status="scheduled")
    b = change("Restart payroll batch", start_h=24 + 2, hours=3, status="scheduled")
    panel = _panel(ctx, qtbot, "week")
    canvas = panel.canvas
    _first, days, cw, hh = canvas._grid
    # one bar for the long change, in the band above the hour grid, across the whole week
    bars = _rects(panel, long.id)
    assert len(bars) == 1
    top = canvas._grid_top
    bar = bars[0]
    assert bar.height() == canvas.CHIP_H and bar.bottom() < top
    assert bar.left() <= canvas.GUTTER + 3 and bar.right() >= canvas.GUTTER + days * cw - 4
    canvas.grab()  # painted once: the label written in the bar is the whole title
    assert canvas._elided(next(i for _r, i in canvas.hits if i.id == long.id), bar.width() - 9,
                          canvas._metrics) == f"{long.ref} {long.title}"
    # the hour grid keeps most of the height: a two-hour change is readable
    assert hh * 24 >= 0.6 * (canvas.height() - canvas.HEADER)
    [s] = _rects(panel, short.id)
    assert s.top() >= top and s.width() >= cw - 6  # nothing beside it: the whole column
    assert s.height() >= 2 * hh - 1
    # two changes overlapping on Tuesday share that column, side by side
    [ra], [rb] = _rects(panel, a.id), _rects(panel, b.id)
    assert not ra.intersects(rb) and ra.width() >= cw / 2 - 4 and rb.width() >= cw / 2 - 4
    assert not any(r.intersects(bar) for r in (s, ra, rb))


def test_day_view_band_and_drag_moves_band_bar_by_days(ctx, qtbot):
    long = change("Storage array replacement", start_h=-30, hours=72, status="scheduled")
    timed = change("Firewall rule review", start_h=1, hours=1, status="scheduled")
    panel = _panel(ctx, qtbot, "day")
    canvas = panel.canvas
    [bar] = _rects(panel, long.id)
    [t] = _rects(panel, timed.id)
    assert bar.bottom() < canvas._grid_top <= t.top()
    assert bar.width() >= canvas.width() - canvas.GUTTER - 6
    # a bar in the band dragged down does not become a timed change at another hour
    week = _panel(ctx, qtbot, "week")
    [wbar] = _rects(week, long.id)
    _first, _days, cw, _hh = week.canvas._grid
    start = QPoint(week.canvas.GUTTER + int(cw * 2.5), wbar.center().y())
    end = start + QPoint(int(cw), 40)
    qtbot.mousePress(week.canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(week.canvas, end)
    qtbot.mouseRelease(week.canvas, Qt.MouseButton.LeftButton, pos=end)
    moved = Change.get_by_id(long.id)
    assert moved.planned_start == T0 + dt.timedelta(hours=-30, days=1)


def test_band_overflow_counts_more_and_opens_the_day(ctx, qtbot):
    made = [change(f"Long {n}", start_h=-10, hours=48, status="scheduled") for n in range(12)]
    panel = _panel(ctx, qtbot, "week")
    canvas = panel.canvas
    shown = {item.id for _r, item in canvas.hits}
    assert 1 <= len(shown) < len(made)
    assert canvas._grid_top - canvas.HEADER <= 0.35 * (canvas.height() - canvas.HEADER)
    day = local(T0).date()
    more = [(r, text, d) for r, text, d in canvas.more if d == day]
    assert more and more[0][1] == f"+{len(made) - len(shown)} more"
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=more[0][0].center())
    assert panel.mode() == "day"


def test_timeline_stacks_overlapping_bars_and_labels(ctx, qtbot):
    payroll = ci("Payroll")
    p1 = change("Payroll upgrade", start_h=0, hours=30, cis=[payroll], status="scheduled")
    p2 = change("Payroll database patch", start_h=6, hours=2, cis=[payroll], status="scheduled")
    n1 = change("Office Wi-Fi firmware", start_h=0, hours=1, status="scheduled")
    n2 = change("Printer driver roll-out", start_h=3, hours=1, status="scheduled")
    n3 = change("Much later change", start_h=24 * 6, hours=1, status="scheduled")
    panel = _panel(ctx, qtbot, "timeline")
    canvas = panel.canvas
    canvas.grab()
    row_of = {}
    for rect, item in canvas.hits:
        row_of.setdefault(item.id, []).append(rect)
    for group in ((p1, p2), (n1, n2, n3)):
        rects = [row_of[c.id][0] for c in group]
        for i, r in enumerate(rects):
            for other in rects[i + 1:]:
                assert not r.intersects(other)
        texts = [canvas.label_rect(r, item) for r, item in canvas.hits
                 if item.id in {c.id for c in group}]
        drawn = [t for t in texts if t is not None]
        for i, t in enumerate(drawn):
            for other in drawn[i + 1:] + [r for r in rects]:
                assert not t.intersects(other), (t, other)
    # the change far to the right shares the first lane (no needless stacking)
    assert row_of[n3.id][0].top() == row_of[n1.id][0].top()
    # the rows are as tall as their lanes; the canvas grows and the dock scrolls
    assert len(canvas.row_tops) == len(canvas.row_names) + 1
    assert canvas.minimumHeight() >= canvas.row_tops[-1]
    panel.set_anchor(local(T0).date(), "week")
    assert canvas.minimumHeight() == 300
