"""The announcements dock (add, withdraw, copy, open the source record) and quick open: no SQL
on the GUI thread outside an operation (``gui_sql``); adding and withdrawing are writes whose
broadcast makes the dock read its list again."""

import datetime as dt

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.servicedesk import Announcement
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import announcements, incidents
from itsmdesk.views.announcements.panel import AnnouncementsPanel, menu_actions
from itsmdesk.views.quick_open import QuickOpen

NOW = dt.datetime(2026, 6, 1, 10, 0)


@pytest.fixture
def desk(ctx, monkeypatch):
    d = sample_desk()
    ctx.set_actor(Actor.for_person(d["agent"]))
    ctx.clock = lambda: NOW
    errors = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: errors.append(a[2])))
    d["errors"] = errors
    return d


def _panel(ctx, qtbot):
    panel = AnnouncementsPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def _texts(panel):
    return [panel.list.item(i).text() for i in range(panel.list.count())]


def test_add_and_withdraw_through_the_dock(ctx, qtbot, desk, monkeypatch, gui_sql):
    gui_sql.clear()
    panel = _panel(ctx, qtbot)
    assert _texts(panel) == ["No current announcements."]
    dialog = panel.add()
    qtbot.addWidget(dialog)
    dialog.title_edit.setText("Mail maintenance")
    dialog.body.setPlainText("Tonight 22-23")
    dialog.starts.set_value(NOW)
    dialog.save()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert gui_sql.statements == []
    assert _texts(panel)[0].startswith("Mail maintenance\nNOW")  # read again after the write
    assert panel.list.item(0).toolTip() == "Tonight 22-23"
    row = Announcement.get(Announcement.title == "Mail maintenance")
    assert row.created_by == desk["agent"].id
    gui_sql.clear()
    panel.list.setCurrentRow(0)
    panel.withdraw()
    assert gui_sql.statements == []
    assert _texts(panel) == ["No current announcements."]
    assert not Announcement.get_by_id(row.id).active
    assert not desk["errors"]


def test_stale_withdraw_and_empty_title_show_the_sentence(ctx, qtbot, desk, monkeypatch,
                                                         gui_sql):
    ann = announcements.create_announcement({"title": "Printer swap", "starts_at": NOW})
    panel = _panel(ctx, qtbot)
    announcements.update_announcement(ann.id, ann.version, {"title": "Printer swap (moved)"},
                                      actor=Actor.for_person(desk["boss"]))
    gui_sql.clear()
    panel.list.setCurrentRow(0)
    panel.withdraw()  # the list still shows the version before Maja's edit
    assert gui_sql.statements == []
    assert len(desk["errors"]) == 1 and "nothing was saved" in desk["errors"][0]
    assert Announcement.get_by_id(ann.id).active


def test_copy_and_open_the_source_record(ctx, qtbot, desk, gui_sql):
    inc = incidents.create_incident({"title": "Mail down"})
    announcements.create_announcement({"title": "Mail outage", "starts_at": NOW,
                                       "source_ref": inc.ref})
    opened = []
    ctx.sig_open_record.connect(lambda kind, rid: opened.append((kind, rid)))
    statuses = []
    ctx.sig_status.connect(statuses.append)
    gui_sql.clear()
    panel = _panel(ctx, qtbot)
    panel.copy("text")
    assert "Mail outage" in QApplication.clipboard().text()
    assert statuses == ["Announcements copied to the clipboard"]
    panel.list.itemActivated.emit(panel.list.item(0))
    assert gui_sql.statements == []
    assert opened == [("incident", inc.id)]


def test_menu_action_opens_the_dialog(ctx, qtbot, desk, gui_sql):
    from PySide6.QtWidgets import QMainWindow

    from itsmdesk.views.announcements.dialog import AnnouncementDialog

    window = QMainWindow()
    qtbot.addWidget(window)
    window.panels = {"announcementsDock": _panel(ctx, qtbot)}
    window.panel = window.panels.get  # (MainWindow.panel: the dock's panel, built if waiting)
    [(menu, action)] = menu_actions(ctx, window)
    gui_sql.clear()
    action.trigger()
    [dialog] = window.panels["announcementsDock"].findChildren(AnnouncementDialog)
    dialog.title_edit.setText("Wi-Fi work")
    dialog.starts.set_value(NOW)
    dialog.save()
    assert gui_sql.statements == []
    assert menu == "Records" and _texts(window.panels["announcementsDock"])[0].startswith("Wi-Fi")

def test_quick_open_searches_off_the_gui_thread(ctx, qtbot, desk, gui_sql):
    inc = incidents.create_incident({"title": "Scanner jams every morning"})
    opened = []
    ctx.sig_open_record.connect(lambda kind, rid: opened.append((kind, rid)))
    gui_sql.clear()
    dialog = QuickOpen(ctx)
    qtbot.addWidget(dialog)
    dialog.edit.setText("scanner")
    dialog.search()
    assert dialog.results.count() == 1 and inc.ref in dialog.results.item(0).text()
    assert dialog.results.item(0).text().startswith("[Incident]")
    dialog.open_current()
    assert gui_sql.statements == []
    assert opened == [("incident", inc.id)] and dialog.result() == 1
