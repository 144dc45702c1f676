"""Every date field reads ISO (yyyy-MM-dd, with HH:mm for times) whatever the locale: the CAB
meeting's action due date read "11 12 2026" while the rest of the app wrote 2026-12-11."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QDateTimeEdit

pytestmark = pytest.mark.gui

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")


def _date_fields(widget) -> list[QDateTimeEdit]:  # QDateEdit is a QDateTimeEdit
    return widget.findChildren(QDateTimeEdit)


@pytest.mark.parametrize("kind", ["cab_meeting", "change", "release"])
def test_form_date_fields_are_iso(ctx, qtbot, kind):
    from itsmdesk.views.changes.cab_meeting_form import CABMeetingForm
    from itsmdesk.views.changes.change_form import ChangeForm
    from itsmdesk.views.releases.release_form import ReleaseForm

    form = {"cab_meeting": CABMeetingForm, "change": ChangeForm, "release": ReleaseForm}[kind](
        ctx, None)
    qtbot.addWidget(form)
    fields = _date_fields(form)
    assert fields
    for field in fields:
        assert field.displayFormat().startswith("yyyy-MM-dd"), (field.objectName(),
                                                                field.displayFormat())
        assert ISO.match(field.text()) or field.text() in ("", "—"), field.text()  # or empty


def test_cab_action_due_date_is_iso(ctx, qtbot):
    from itsmdesk.views.changes.cab_meeting_form import CABMeetingForm

    form = CABMeetingForm(ctx, None)
    qtbot.addWidget(form)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", form.action_due.text()), form.action_due.text()
