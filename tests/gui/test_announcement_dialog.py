"""Writing an announcement in a dialog: what, when, which services, for whom (everyone or IT
staff, every site or one); editing it; bad input said in the dialog with nothing written; no SQL
on the GUI thread outside an operation."""

from __future__ import annotations

import datetime as dt

import pytest

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.servicedesk import Announcement, AnnouncementService
from itsmdesk.services import people
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import announcements
from itsmdesk.views.announcements.dialog import AnnouncementDialog
from itsmdesk.views.announcements.panel import AnnouncementsPanel

NOW = dt.datetime(2026, 6, 1, 10, 0)


@pytest.fixture
def desk(ctx):
    d = sample_desk()
    d["kiruna"] = people.create_site({"name": "Kiruna depot", "code": "KRN"})
    ctx.set_actor(Actor.for_person(d["agent"]))
    ctx.clock = lambda: NOW
    return d


def _dialog(ctx, qtbot, announcement_id=None) -> AnnouncementDialog:
    dialog = AnnouncementDialog(ctx, announcement_id)
    qtbot.addWidget(dialog)
    return dialog


def _check(dialog: AnnouncementDialog, name: str) -> None:
    from PySide6.QtCore import Qt

    [item] = [dialog.services.item(i) for i in range(dialog.services.count())
              if dialog.services.item(i).text() == name]
    item.setCheckState(Qt.CheckState.Checked)


def test_a_planned_outage_for_it_staff_at_one_site(ctx, qtbot, desk, gui_sql):
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot)
    services = [dialog.services.item(i).text() for i in range(dialog.services.count())]
    assert services == ["E-mail service"]  # business services only (not the mail server)
    assert [dialog.site.itemText(i) for i in range(dialog.site.count())] == \
        ["Every site", "Kiruna depot"]
    dialog.title_edit.setText("  E-mail unavailable Saturday night  ")
    dialog.kind.setCurrentIndex(dialog.kind.findData("planned_outage"))
    dialog.starts.set_value(dt.datetime(2026, 6, 6, 20, 0))
    dialog.open_ended.setChecked(False)
    dialog.ends.set_value(dt.datetime(2026, 6, 7, 2, 0))
    _check(dialog, "E-mail service")
    dialog.audience.setCurrentIndex(dialog.audience.findData("it_staff"))
    dialog.site.setCurrentIndex(dialog.site.findData(str(desk["kiruna"].id)))
    dialog.body.setPlainText("Mail queues up and arrives afterwards.")
    dialog.save()
    assert gui_sql.statements == []
    assert dialog.result() == dialog.DialogCode.Accepted
    row = Announcement.get(Announcement.title == "E-mail unavailable Saturday night")
    assert (row.kind, row.starts_at, row.ends_at, row.audience, row.site_id) == (
        "planned_outage", dt.datetime(2026, 6, 6, 20, 0), dt.datetime(2026, 6, 7, 2, 0),
        "it_staff", desk["kiruna"].id)
    assert [s.ci_id for s in AnnouncementService.select().where(
        AnnouncementService.announcement == row.id)] == [desk["service"].id]
    assert row.created_by == desk["agent"].id
    assert JournalEntry.select().where(JournalEntry.record_id == row.id).count() >= 2
    # the dock says whom it is for
    panel = AnnouncementsPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    text = panel.list.item(0).text()
    assert "Services: E-mail service" in text and "For: IT staff at Kiruna depot" in text


def test_bad_input_is_said_in_the_dialog_and_nothing_is_written(ctx, qtbot, desk, gui_sql):
    dialog = _dialog(ctx, qtbot)
    dialog.save()  # no title
    assert dialog.message.text() == "An announcement needs a title."
    dialog.title_edit.setText("Printer swap")
    dialog.starts.set_value(dt.datetime(2026, 6, 6, 20, 0))
    dialog.open_ended.setChecked(False)
    dialog.ends.set_value(dt.datetime(2026, 6, 6, 18, 0))  # before it starts
    dialog.save()
    assert dialog.message.text() == "An announcement cannot end before it starts"
    assert dialog.isVisible() is False or dialog.result() != dialog.DialogCode.Accepted
    assert Announcement.select().count() == 0
    assert dialog.title_edit.text() == "Printer swap"  # what was typed stays


def test_editing_shows_the_values_and_a_stale_edit_is_refused(ctx, qtbot, desk, gui_sql):
    ann = announcements.create_announcement(
        {"title": "Mail maintenance", "starts_at": NOW, "audience": "it_staff",
         "site": desk["kiruna"].id}, [desk["service"].id])
    gui_sql.clear()
    dialog = _dialog(ctx, qtbot, ann.id)
    assert gui_sql.statements == []
    assert dialog.title_edit.text() == "Mail maintenance" and dialog.open_ended.isChecked()
    assert dialog.audience.currentData() == "it_staff"
    assert dialog.site.currentData() == str(desk["kiruna"].id)
    values, services = dialog.values()
    assert services == [str(desk["service"].id)]
    # someone else edits it meanwhile
    announcements.update_announcement(ann.id, ann.version, {"title": "Mail maintenance (moved)"},
                                      actor=Actor.for_person(desk["boss"]))
    dialog.title_edit.setText("Mail maintenance tonight")
    dialog.save()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert "nothing was saved" in dialog.message.text()
    assert Announcement.get_by_id(ann.id).title == "Mail maintenance (moved)"
    # a fresh dialog edits the current version
    again = _dialog(ctx, qtbot, ann.id)
    again.title_edit.setText("Mail maintenance tonight")
    again.audience.setCurrentIndex(again.audience.findData("everyone"))
    again.site.setCurrentIndex(0)
    again.save()
    row = Announcement.get_by_id(ann.id)
    assert (row.title, row.audience, row.site_id, row.version) == (
        "Mail maintenance tonight", "everyone", None, ann.version + 2)


def test_a_repeated_create_is_not_made_twice(ctx, qtbot, desk):
    dialog = _dialog(ctx, qtbot)
    dialog.title_edit.setText("Door access down")
    values, services = dialog.values()
    first = announcements.create_announcement(values, services, new_id=dialog.new_id)
    second = announcements.create_announcement(values, services, new_id=dialog.new_id)
    assert first.id == second.id and Announcement.select().count() == 1
