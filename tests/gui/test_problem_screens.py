"""The problems dock fits its columns (the title takes the free width, the others their
contents, the widest give way when the dock is narrow) and problems show their priority as
P1..P5 in the list and the form."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEventLoop, QTimer

from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.problem import problems

pytestmark = pytest.mark.gui

TITLES = ("Handheld scanners lose connection to the warehouse Wi-Fi every morning",
          "Mapped drives disappear after the nightly group policy refresh",
          "Checkout fails with error 500 when the payment token expires")


def _settle(ms: int = 30) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _problems():
    cmdb.ensure_standard_classes()
    service = cmdb.create_ci({"name": "Warehouse Management and Logistics",
                              "ci_class": "business_service"})
    return [problems.create_problem({"title": title, "priority": n + 1, "service": service.id,
                                     "status": "root_cause_known"})
            for n, title in enumerate(TITLES)]


def _panel(ctx, qtbot, width):
    from itsmdesk.views.problems.panel import ProblemsPanel

    panel = ProblemsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(width, 500)
    panel.show()
    qtbot.waitExposed(panel)
    _settle()
    return panel


# the left dock's width beside an open record at 1400x900 and at 1920x1080
@pytest.mark.parametrize("width", [520, 640])
def test_problem_list_columns_fit_a_narrow_dock(ctx, qtbot, width):
    made = _problems()
    panel = _panel(ctx, qtbot, width)
    table, model = panel.problem_table, panel.problem_model
    header = table.horizontalHeader()
    assert model.rowCount() == len(made)
    columns = [key for key, _h in model.columns]
    title = columns.index("title")
    viewport = table.viewport().width()
    widths = [header.sectionSize(c) for c in range(len(columns))]
    # everything is in view: no column pushed off to the right
    assert sum(widths) <= viewport + 1
    # the title keeps a readable share (it was squeezed to about six characters)
    metrics = table.fontMetrics()
    assert widths[title] >= 0.33 * viewport
    assert widths[title] >= metrics.horizontalAdvance("Handheld scanners lose")
    # references and priorities are never cut
    for key in ("ref", "priority"):
        c = columns.index(key)
        assert widths[c] >= table.sizeHintForColumn(c), key
    # headings are readable
    for c in range(len(columns)):
        assert widths[c] >= header.sectionSizeHint(c) - 1, columns[c]


def test_problem_list_wide_dock_shows_everything_whole(ctx, qtbot):
    _problems()
    panel = _panel(ctx, qtbot, 1200)
    table, model = panel.problem_table, panel.problem_model
    header = table.horizontalHeader()
    columns = [key for key, _h in model.columns]
    for c, key in enumerate(columns):
        assert header.sectionSize(c) >= table.sizeHintForColumn(c), key
    assert sum(header.sectionSize(c) for c in range(len(columns))) <= table.viewport().width() + 1


def test_problem_priority_reads_p2_in_list_and_form(ctx, qtbot):
    from itsmdesk.views.problems.problem_form import ProblemForm

    made = _problems()
    panel = _panel(ctx, qtbot, 900)
    model = panel.problem_model
    columns = [key for key, _h in model.columns]
    assert "priority" in columns
    shown = {model.index(r, 0).data(): model.index(r, columns.index("priority")).data()
             for r in range(model.rowCount())}
    assert shown == {p.ref: f"P{n + 1}" for n, p in enumerate(made)}
    form = ProblemForm(ctx, made[1].id)
    qtbot.addWidget(form)
    assert form.loaded
    assert form.priority.text() == "P2" and form.priority.value() == 2
    form.priority.setValue(1)
    assert form.priority.text() == "P1" and form.edits() == {"priority": 1}
