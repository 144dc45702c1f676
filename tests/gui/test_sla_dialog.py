"""The SLA targets dialog shows each target's calendar, keeps it, and saving it unchanged
writes nothing (issue 17)."""

from PySide6.QtWidgets import QDialog, QDialogButtonBox

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import calendars, sla
from itsmdesk.views.dialogs.settings_dialogs import SlaDialog


def test_sla_dialog_shows_calendars_and_an_unchanged_save_writes_nothing(ctx, qtbot):
    d = sample_desk(calendar=True)  # "Default"
    ctx.set_actor(Actor.for_person(d["boss"]))
    night = calendars.create_calendar({"name": "Night desk", "timezone": "UTC",
                                       "working_hours": {"6": [["22:00", "06:00"]]}})
    sla.set_target("incident", 2, 30, 480, night.id)
    before = JournalEntry.select().count()
    dialog = SlaDialog(ctx)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.settings is not None)
    assert dialog.calendar_labels[2].text() == "Night desk"
    assert dialog.calendar_labels[1].text() == "Default"
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert JournalEntry.select().count() == before
    assert sla.target("incident", 2).calendar_id == night.id
