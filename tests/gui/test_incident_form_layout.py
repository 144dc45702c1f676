"""The ticket form in a narrow tab scrolls as one page (details, then suggestions, work log and
files: not two scroll areas stacked in one column); link fields hint at what to type rather
than showing a reference that looks linked; the work log takes notes as soon as a new ticket
is saved."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QScrollArea

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.incident import WorkLog
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.queue.incident_form import IncidentForm

pytestmark = pytest.mark.gui

REF = re.compile(r"[A-Z]{2,4}-\d+")


def _form(ctx, qtbot, record_id, width, height=700):
    form = IncidentForm(ctx, record_id)
    qtbot.addWidget(form)
    form.resize(width, height)
    form.show()
    qtbot.waitExposed(form)
    qtbot.wait(10)
    return form


def test_a_narrow_form_scrolls_as_one_page(ctx, qtbot):
    sample_desk()
    inc = incidents.create_incident({"title": "Printer jams"})
    for i in range(6):
        incidents.add_work_log(inc.id, f"Note {i}", Actor(), False, 0, None)
    form = _form(ctx, qtbot, inc.id, 560)
    assert form.splitter.orientation() == Qt.Orientation.Vertical
    details_tab = form.tabs.widget(0)
    areas = [details_tab] if isinstance(details_tab, QScrollArea) else []
    areas += details_tab.findChildren(QScrollArea)
    assert len(areas) == 1  # one scroll bar for the page
    page = areas[0]
    content = page.widget()
    # the side panel below the details, the work log with room for its notes
    details_bottom = form.details.mapTo(content, QPoint(0, form.details.height())).y()
    side_top = form.side.mapTo(content, QPoint(0, 0)).y()
    assert side_top >= details_bottom
    assert form.side.work_log.height() >= 3 * form.side.work_log.fontMetrics().height()
    assert form.side.width() >= page.viewport().width() - 20  # the column's whole width
    # the note box is reached by scrolling the one page
    page.verticalScrollBar().setValue(page.verticalScrollBar().maximum())
    qtbot.wait(10)
    assert not form.side.note_edit.visibleRegion().isEmpty()

    # wide, side by side
    form.resize(1200, 800)
    qtbot.wait(10)
    assert form.splitter.orientation() == Qt.Orientation.Horizontal
    assert form.side.mapTo(content, QPoint(0, 0)).x() >= form.details.width()


def test_link_fields_hint_instead_of_showing_a_reference(ctx, qtbot):
    sample_desk()
    form = _form(ctx, qtbot, None, 900)
    for edit in (form.problem_ref, form.change_ref, form.known_error_ref, form.parent_ref):
        hint = edit.placeholderText()
        assert hint and not REF.fullmatch(hint.strip()), hint  # not a bare "PRB-000001"
        assert "e.g." in hint and REF.search(hint)
        assert edit.text() == ""


def test_the_note_box_is_usable_once_a_new_ticket_is_saved(ctx, qtbot, monkeypatch):
    d = sample_desk()
    ctx.set_actor(d["actor"])
    form = _form(ctx, qtbot, None, 900)
    side = form.side
    assert not side.note_edit.isEnabled()
    assert "first" in side.note_edit.placeholderText()
    # the saved ticket is read back later (a slow link): the note box does not wait for it
    monkeypatch.setattr(form, "reload", lambda: None)
    form.title_edit.setText("Badge reader at the main door is dead")
    form.mark_dirty()
    form.save()
    assert form.record_id is not None
    assert side.note_edit.isEnabled() and side.add_note_button.isEnabled()
    assert "first" not in side.note_edit.placeholderText()
    assert form.title().startswith("INC-")  # "Saved INC-000001.", not "Saved Incident."
    monkeypatch.undo()
    side.note_edit.setPlainText("Called facilities")
    side.add_note()
    assert [w.text for w in WorkLog.select().where(WorkLog.incident == form.record_id)] == \
        ["Called facilities"]
    assert side.note_edit.toPlainText() == ""
