"""The CMDB tree's columns fit the dock: names and classes whole when there is room (no
empty quarter beside cut names), the name keeping its share when the dock is narrow."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEventLoop, QTimer

from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.views.cmdb.panel import create_panel

pytestmark = pytest.mark.gui

NAMES = [("Handheld Scanner Gateway", "application"), ("VPN Concentrator Service", "application"),
         ("Exchange Online Connector", "application"),
         ("Warehouse Management and Logistics", "business_service"),
         ("Customer Support Portal", "business_service")]


def _settle(ms: int = 30) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _tree(ctx, qtbot, width):
    cmdb.ensure_standard_classes()
    for name, cls in NAMES:
        cmdb.create_ci({"name": name, "ci_class": cls})
    panel = create_panel(ctx, None)
    qtbot.addWidget(panel)
    panel.resize(width, 600)
    panel.show()
    qtbot.waitExposed(panel)
    tree = panel.tree
    model = tree.model()
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        if model.rowCount(index):
            tree.expand(index)
    _settle()
    return tree


@pytest.mark.parametrize("width", [540, 640])
def test_names_and_classes_whole_and_no_empty_space(ctx, qtbot, width):
    tree = _tree(ctx, qtbot, width)
    header = tree.header()
    viewport = tree.viewport().width()
    names = tree.sizeHintForColumn(0)
    # the expanded CIs' names are whole (they were cut while a quarter of the dock was empty)
    assert header.sectionSize(0) >= names
    assert header.sectionSize(1) >= tree.sizeHintForColumn(1)
    # the columns share the whole width and nothing more
    total = sum(header.sectionSize(c) for c in range(3))
    assert viewport - 2 <= total <= viewport + 1
    # the status column is not the one holding the spare width
    assert header.sectionSize(2) <= max(tree.sizeHintForColumn(2), header.sectionSizeHint(2)) + 1


def test_narrow_dock_keeps_the_name_readable(ctx, qtbot):
    tree = _tree(ctx, qtbot, 300)
    header = tree.header()
    viewport = tree.viewport().width()
    assert header.sectionSize(0) >= 0.33 * viewport
    assert sum(header.sectionSize(c) for c in range(3)) <= viewport + 1
