"""Main window: docks and object names, default layout without stale tab bars, quick open,
status bar person picker and connection state, announcements dock."""

import datetime as dt

from PySide6.QtWidgets import QTabBar

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import announcements, incidents
from itsmdesk.views.main_window import MainWindow
from itsmdesk.views.panels import PANELS


def _window(ctx, qtbot, settings):
    w = MainWindow(ctx, settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_default_layout_has_one_tab_bar_per_area(ctx, qtbot, settings):
    w = _window(ctx, qtbot, settings)
    assert {d.objectName() for d in w.docks.values()} == {p.object_name for p in PANELS}
    bars = [b for b in w.findChildren(QTabBar) if b.parent() is w and b.isVisible()]
    titles = [tuple(b.tabText(i) for i in range(b.count())) for b in bars]
    assert len(titles) == len(set(titles)), titles  # no duplicated tab bar
    assert w.docks["queuesDock"].isVisible()
    assert w.width() == 1400 and w.height() == 900
    w.save_layout()
    assert settings.value("layout/version", 0, int) >= 2


def test_quick_open_finds_and_opens(ctx, qtbot, settings):
    sample_desk()
    inc = incidents.create_incident({"title": "Scanner jams every morning"})
    w = _window(ctx, qtbot, settings)
    w.quick_open()
    dialog = w.quick_open_dialog
    dialog.edit.setText("scanner")
    dialog.search()
    assert dialog.results.count() >= 1
    assert inc.ref in dialog.results.item(0).text()
    dialog.open_current()
    assert w.tabs.currentWidget().property("recordKey") == f"incident:{inc.id}"
    w.quick_open()
    w.quick_open_dialog.edit.setText(inc.ref.lower())
    w.quick_open_dialog.search()
    assert w.quick_open_dialog.results.count() == 1


def test_status_bar_person_and_connection(ctx, qtbot, settings):
    d = sample_desk()
    w = _window(ctx, qtbot, settings)
    assert "system" in w.person_button.text()
    assert w.connection_label.property("connected") is True
    ctx.set_actor(Actor.for_person(d["agent"]))
    assert "Olle Agent" in w.person_button.text()
    assert settings.value("session/person_id") == str(d["agent"].id)
    w.set_connected(False, "server gone")
    assert "Disconnected" in w.connection_label.text()


def test_announcements_dock_and_form_banner(ctx, qtbot, settings):
    d = sample_desk()
    now = dt.datetime(2026, 6, 1, 10, 0)
    ctx.clock = lambda: now
    announcements.create_announcement({"title": "Mail maintenance", "starts_at": now,
                                       "ends_at": now + dt.timedelta(hours=2)}, [d["service"].id])
    w = _window(ctx, qtbot, settings)
    panel = w.panels["announcementsDock"]
    panel.refresh()
    assert "Mail maintenance" in panel.list.item(0).text()
    inc = incidents.create_incident({"title": "No mail", "service": d["service"].id})
    form = w.open_record("incident", inc.id)
    assert form.announcement.isVisibleTo(form)
    assert "Mail maintenance" in form.announcement.text()


def test_no_two_actions_share_a_shortcut(ctx, qtbot, settings):
    """A shortcut bound twice is ambiguous in Qt and then fires neither action.  Window-wide
    shortcuts must be unique, and a panel's own shortcut must not shadow a window-wide one."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction

    w = _window(ctx, qtbot, settings)
    window_wide: dict[str, str] = {}
    local: list[tuple[str, str]] = []
    for action in w.findChildren(QAction):
        for seq in action.shortcuts():
            key = seq.toString()
            if not key:
                continue
            name = action.objectName() or action.text()
            if action.shortcutContext() in (Qt.ShortcutContext.WindowShortcut,
                                            Qt.ShortcutContext.ApplicationShortcut):
                assert key not in window_wide, f"{key}: {window_wide[key]} and {name}"
                window_wide[key] = name
            else:
                local.append((key, name))
    assert "Ctrl+K" in window_wide and "Ctrl+I" in window_wide
    clashes = [(k, n, window_wide[k]) for k, n in local if k in window_wide]
    assert not clashes, clashes


def test_record_forms_fit_beside_the_docks(demo_ctx, qtbot, settings):
    """Opening any record at 1400x900 with the default docks must not widen the window (a form
    whose minimum width is too large pushes the main window past the screen)."""
    from itsmdesk.models.change import Change
    from itsmdesk.models.cmdb import CI
    from itsmdesk.models.incident import Incident
    from itsmdesk.models.problem import Problem
    from itsmdesk.models.release import Release

    w = _window(demo_ctx, qtbot, settings)
    for kind, model in (("incident", Incident), ("problem", Problem), ("ci", CI),
                        ("change", Change), ("release", Release)):
        form = demo_ctx.open_record(kind, model.select().first().id) or w.tabs.currentWidget()
        qtbot.wait(10)
        assert w.width() <= 1400, (kind, w.width(), form.minimumSizeHint().width())
    long = [w.tabs.tabText(i) for i in range(w.tabs.count()) if len(w.tabs.tabText(i)) > 36]
    assert not long, long


def _ticket_tab(w, form):
    return w.tabs.indexOf(form)


def test_incident_tab_closing_with_unsaved_edits(ctx, qtbot, settings, monkeypatch, gui_sql):
    """Cancel keeps the tab and the edits, Discard closes without saving, Save closes once the
    save went through -- none of it waits on the database on the GUI thread."""
    from PySide6.QtWidgets import QMessageBox

    from itsmdesk.models.incident import Incident

    d = sample_desk()
    ctx.set_actor(Actor.for_person(d["agent"]))
    inc = incidents.create_incident({"title": "Printer jams"}, d["actor"])
    w = _window(ctx, qtbot, settings)
    gui_sql.clear()
    form = w.open_record("incident", inc.id)
    assert form.loaded and form.title_edit.text() == "Printer jams"
    form.title_edit.setText("Printer jams on floor 2")
    assert w.tabs.tabText(_ticket_tab(w, form)).startswith("• ")  # (first: never elided)
    answers = []

    def answer(button):
        def ask(_parent, title, text, *args, **kwargs):
            answers.append(text)
            return button
        monkeypatch.setattr(QMessageBox, "question", ask)

    answer(QMessageBox.StandardButton.Cancel)
    w.close_tab(_ticket_tab(w, form))
    assert _ticket_tab(w, form) >= 0 and form.dirty
    assert answers == [f"{inc.ref} has unsaved changes. Save them?"]
    answer(QMessageBox.StandardButton.Save)
    w.close_tab(_ticket_tab(w, form))
    assert _ticket_tab(w, form) < 0
    form = w.open_record("incident", inc.id)
    assert form.title_edit.text() == "Printer jams on floor 2"
    form.title_edit.setText("Something else")
    answer(QMessageBox.StandardButton.Discard)
    w.close_tab(_ticket_tab(w, form))
    assert _ticket_tab(w, form) < 0
    assert gui_sql.statements == []
    assert Incident.get_by_id(inc.id).title == "Printer jams on floor 2"


def test_incident_tab_stale_edit_merges_then_closes(ctx, qtbot, settings, monkeypatch, gui_sql):
    from PySide6.QtWidgets import QMessageBox

    from itsmdesk.models.incident import Incident
    from itsmdesk.views.forms import merge_dialog

    d = sample_desk()
    ctx.set_actor(Actor.for_person(d["agent"]))
    inc = incidents.create_incident({"title": "VPN drops", "team": d["desk"].id}, d["actor"])
    w = _window(ctx, qtbot, settings)
    form = w.open_record("incident", inc.id)
    # Maja saves the ticket (another workstation: no change feed here) after it was opened
    incidents.save_incident(inc.id, form.version, {"title": "VPN drops at home",
                                                   "assignee": d["agent2"].id},
                            Actor.for_person(d["boss"]))
    gui_sql.clear()
    form.title_edit.setText("VPN drops every hour")
    form.assignee.setCurrentIndex(form.assignee.findText("Olle Agent"))
    form.channel.setCurrentIndex(form.channel.findData("email"))
    seen = {}

    def pick(dialog):
        seen["conflicts"] = sorted(dialog.conflicts)
        seen["texts"] = [b.text() for g in dialog.choices.values() for b in g.buttons()]
        dialog.choose_mine("assignee")  # the title stays theirs
        return True

    monkeypatch.setattr(merge_dialog.MergeDialog, "exec", pick)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Save)
    w.close_tab(_ticket_tab(w, form))
    assert gui_sql.statements == []
    assert seen["conflicts"] == ["assignee", "title"]
    assert "Sara Agent" in seen["texts"] and "Olle Agent" in seen["texts"]  # names, not ids
    row = Incident.get_by_id(inc.id)
    assert (row.title, row.assignee_id, row.channel) == ("VPN drops at home", d["agent"].id,
                                                         "email")
    assert _ticket_tab(w, form) < 0


def test_new_request_tab_is_found_again_after_saving(ctx, qtbot, settings):
    d = sample_desk()
    ctx.set_actor(Actor.for_person(d["agent"]))
    w = _window(ctx, qtbot, settings)
    form = w.open_record("request", None)
    assert w.tabs.tabText(_ticket_tab(w, form)) == "New request"
    form.title_edit.setText("Access to the finance share")
    form.save()
    assert form.title().startswith("REQ-")
    assert w.tabs.tabText(_ticket_tab(w, form)).startswith(form.title() + " ")  # ref, then title
    assert w.open_record("request", form.record_id) is form
