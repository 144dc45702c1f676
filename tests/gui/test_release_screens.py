"""Release form layout: the "Move to" combo shows its statuses whole; the Gantt's month
headings never run into each other (a plan starting on the last day of a month)."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QEventLoop, QLocale, QTimer
from PySide6.QtWidgets import QGraphicsScene, QStyle, QStyleOptionComboBox

from itsmdesk.models.release import Release
from itsmdesk.services.release.plan import PlanRow
from itsmdesk.views.releases.gantt import MONTH_ROLE, build_scene
from itsmdesk.views.releases.release_form import ReleaseForm
from tests.release_helpers import build_release

pytestmark = pytest.mark.gui


def _row(name: str, start: dt.datetime, end: dt.datetime) -> PlanRow:
    return PlanRow(name, 1, name, "wave", None, 0, 0, "", None, None, None, None, start, end,
                   None, None, "planned", (), ())


def _headings(scene: QGraphicsScene) -> list:
    """The month headings: the texts on the chart's top line."""
    found = [i for i in scene.items() if hasattr(i, "text") and i.pos().y() == 0]
    assert all(i.data(MONTH_ROLE) for i in found)
    return sorted(found, key=lambda i: i.pos().x())


def _settle(ms: int = 20) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _utc(local: dt.datetime) -> dt.datetime:
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def test_month_headings_do_not_overlap_when_the_plan_starts_on_the_30th(qapp):
    scene = QGraphicsScene()
    rows = [_row("Build", _utc(dt.datetime(2026, 11, 30, 8)), _utc(dt.datetime(2026, 12, 2, 17))),
            _row("Wave", _utc(dt.datetime(2026, 12, 3, 8)), _utc(dt.datetime(2026, 12, 9, 17)))]
    build_scene(scene, rows)
    headings = _headings(scene)
    assert headings, "no month headings"
    boxes = [h.sceneBoundingRect() for h in headings]
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert a.right() < b.left(), (headings[0].text(), headings[1].text())
    december = QLocale().toString(dt.date(2026, 12, 1), "MMMM yyyy")
    assert december in [h.text() for h in headings]  # the month with room is written in full


def test_month_headings_shortened_rather_than_dropped(qapp):
    scene = QGraphicsScene()
    # one day of October, then November: "Oct" fits one day, the full name does not
    rows = [_row("Pilot", _utc(dt.datetime(2026, 10, 31, 8)), _utc(dt.datetime(2026, 11, 5, 17)))]
    build_scene(scene, rows)
    texts = [h.text() for h in _headings(scene)]
    october = QLocale().toString(dt.date(2026, 10, 1), "MMM")
    assert len(texts) == 2 and texts[0].startswith(october)
    assert texts[0] != QLocale().toString(dt.date(2026, 10, 1), "MMMM yyyy")


def test_move_to_combo_shows_its_statuses_whole(qtbot, ctx):
    made = build_release(n_sites=2)
    Release.update(status="test").where(Release.id == made["release"].id).execute()
    form = ReleaseForm(ctx, made["release"].id)
    qtbot.addWidget(form)
    form.resize(700, 800)
    combo = form.transition_combo
    while combo.count():  # in the app the form is on screen before the release is read
        combo.removeItem(0)
    form.show()
    qtbot.waitExposed(form)
    _settle()  # laid out as it is: an empty combo
    form.reload()
    _settle()
    assert combo.count() >= 1
    metrics = combo.fontMetrics()
    longest = max(metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count()))
    # the combo's text field (what is left beside the arrow) holds the longest status
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    assert field.width() >= longest
