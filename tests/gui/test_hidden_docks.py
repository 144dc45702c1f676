"""Docks stacked behind another tab do no work until someone looks at them (Qt keeps them
"visible"; only the current tab has a visible region)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_a_dock_behind_a_tab_reads_nothing_until_it_is_raised(ctx, qtbot, settings):
    from itsmdesk.views.main_window import MainWindow

    w = MainWindow(ctx, settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    panel = w.panels["changesDock"]
    reads = []
    read_now = panel.lazy.refresh
    panel.lazy.refresh = lambda: (reads.append("changes"), read_now())
    ctx.changed_elsewhere("change", [])  # as after a save of a change
    assert reads == [] and panel.lazy.pending
    w.docks["changesDock"].raise_()
    qtbot.waitUntil(lambda: not panel.lazy.pending)
    assert reads == ["changes"]  # it read its lists once raised
    assert panel.changes.rowCount() >= 0
    ctx.changed_elsewhere("change", [])
    assert reads == ["changes", "changes"]  # and now that it is seen, right away
