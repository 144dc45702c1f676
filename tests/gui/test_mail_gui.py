"""E-mail in the GUI: the unmatched mail dock (make an incident or a request of a mail, discard
one, .eml files dropped on it), the mail settings page with Test connection against a real IMAP
server, a ticket form's Mail tab; no SQL on the GUI thread outside an operation."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from itsmdesk.models.incident import Incident
from itsmdesk.models.mail import MailMessage
from itsmdesk.services import records
from itsmdesk.services.mail import account, intake, rules
from itsmdesk.views.mail.panel import UnmatchedMailPanel
from itsmdesk.views.mail.settings_dialog import MailSettingsDialog
from itsmdesk.views.queue.incident_form import IncidentForm
from tests.conftest import FIXTURES
from tests.mail_helpers import PASSWORD, USER, Dovecot

MAIL = FIXTURES / "mail"


@pytest.fixture
def panel(ctx, qtbot):
    intake.take_in((MAIL / "latin1.eml").read_bytes())  # no rules: it waits
    intake.take_in((MAIL / "koi8r.eml").read_bytes())
    widget = UnmatchedMailPanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(420, 600)
    widget.show()
    return widget


def test_unmatched_mail_made_a_request_or_discarded(ctx, qtbot, panel, gui_sql):
    opened = []
    ctx.sig_open_record.connect(lambda kind, rid: opened.append((kind, rid)))
    assert panel.list.count() == 2
    first = panel.list.item(0)
    assert first.text().startswith("Skrivaren på plan 3 fungerar inte\nGöran Åström · ")
    assert first.toolTip().startswith("Göran Åström <goran@example.com>")  # the address there
    # the who-and-when line fits the 420 px dock on one line (the address made it wrap)
    second = first.text().split("\n")[1]
    assert panel.list.fontMetrics().horizontalAdvance(second) < panel.list.viewport().width()
    assert "Hälsningar, Göran" in panel.preview.toPlainText()
    gui_sql.clear()
    panel.buttons["request"].click()
    assert gui_sql.statements == []
    [ticket] = Incident.select()
    assert ticket.kind == "request" and ticket.title == "Skrivaren på plan 3 fungerar inte"
    assert opened == [("request", ticket.id)]
    assert panel.list.count() == 1  # read again from the change feed
    assert panel.list.item(0).text().startswith("Не работает почта")
    panel.buttons["discard"].click()
    assert panel.list.count() == 0 and not panel.buttons["discard"].isEnabled()
    assert MailMessage.get(MailMessage.message_key == "koi8.ivan@example.com").status == "discarded"


def test_eml_files_dropped_on_the_dock_are_taken_in_once(ctx, qtbot, panel):
    rules.save_rules([{"match": "to", "value": "desk@desk.example.com", "kind": "incident"}])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(MAIL / "new_plain.eml")),
                  QUrl.fromLocalFile(str(MAIL / "html_only.eml")),
                  QUrl.fromLocalFile("/nonexistent/notes.txt")])
    for _again in range(2):
        panel.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                                   Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert sorted(i.title for i in Incident.select()) == [
        "New laptop for the summer intern", "Printer on floor 3 is broken"]
    assert panel.status.text() == "0 mails taken in, 2 already there"


def test_ticket_form_shows_its_mail_thread(ctx, qtbot, gui_sql):
    rules.save_rules([{"match": "to", "value": "desk@desk.example.com", "kind": "incident"}])
    first = intake.take_in((MAIL / "new_plain.eml").read_bytes())
    intake.take_in((MAIL / "outlook_reply_cc.eml").read_bytes())
    gui_sql.clear()
    form = IncidentForm(ctx, first.ticket_id)
    qtbot.addWidget(form)
    thread = form.mail_thread
    assert thread.list.topLevelItemCount() == 2
    assert thread.list.topLevelItem(0).text(0) == "Alice Andersson"
    assert thread.list.topLevelItem(0).toolTip(0) == "alice@example.com"
    assert thread.list.topLevelItem(1).text(2) == "RE: Printer on floor 3 is broken"
    assert "after the restart" in thread.text.toPlainText()  # the newest shown
    assert gui_sql.statements == []


def test_mail_settings_test_connection_and_save(ctx, qtbot, tmp_path, monkeypatch, gui_sql):
    server = Dovecot(tmp_path / "imap").start()
    try:
        server.append((MAIL / "new_plain.eml").read_bytes())
        gui_sql.clear()
        dialog = MailSettingsDialog(ctx)
        qtbot.addWidget(dialog)
        assert dialog.save_button.isEnabled() and dialog.folder.text() == "INBOX"
        dialog.host.setText("127.0.0.1")
        dialog.port.setValue(server.port)
        dialog.security.setCurrentIndex(dialog.security.findData("none"))
        dialog.user.setText(USER)
        dialog.password.setText("wrong")
        dialog.test_connection()
        assert f"127.0.0.1:{server.port} could not be used" in dialog.test_result.text()
        dialog.password.setText(PASSWORD)
        dialog.test_connection()
        assert dialog.test_result.text() == "Connected: 1 mails in the folder."
        dialog.minutes.setValue(10)
        monkeypatch.setattr(account, "remember_password", lambda acc, secret: True)
        dialog.save()
        assert gui_sql.statements == []
        saved = account.imap_account()
        assert (saved.host, saved.port, saved.security, saved.user) == (
            "127.0.0.1", server.port, "none", USER)
        assert records.get_setting("mail.fetch_minutes") == 10
    finally:
        server.stop()


def test_fetch_schedule_follows_the_settings(ctx, qtbot, panel):
    from itsmdesk.services.mail.account import MailAccount

    assert not panel.timer.isActive()  # no mailbox set up: no schedule
    ctx.write(account.save_settings, MailAccount("imap", host="imap.example.com", user="d"), 7,
              None, ctx.actor)
    assert panel.timer.isActive() and panel.timer.interval() == 7 * 60 * 1000
    ctx.write(account.save_settings, account.imap_account(), 0, None, ctx.actor)
    assert not panel.timer.isActive()  # 0: only on demand


def test_fetch_in_batches_from_the_dock_and_a_drop_on_the_window(ctx, qtbot, tmp_path, settings,
                                                                  monkeypatch, gui_sql):
    """Mail comes in batches of 25, one write each, until the folder has no more; .eml files
    dropped on the main window are taken in by the dock."""
    from itsmdesk.services.mail.account import MailAccount
    from itsmdesk.views.mail import panel as panel_module
    from itsmdesk.views.main_window import MainWindow

    server = Dovecot(tmp_path / "imap").start()
    try:
        server.append(*(
            (f"From: p{n}@example.com\r\nTo: desk@desk.example.com\r\nSubject: Case {n}\r\n"
             f"Message-ID: <batch.{n}@example.com>\r\n\r\nBroken {n}.\r\n").encode()
            for n in range(30)))
        monkeypatch.setenv("ITSMDESK_MAIL_PASSWORD", PASSWORD)
        account.save_account(MailAccount("imap", host="127.0.0.1", port=server.port,
                                         security="none", user=USER))
        rules.save_rules([{"match": "to", "value": "desk@desk.example.com", "kind": "incident"}])
        window = MainWindow(ctx, settings)
        qtbot.addWidget(window)
        dock = window.panel("mailDock")
        batches = []
        real = panel_module.imap_fetch.fetch_if_configured
        monkeypatch.setattr(panel_module.imap_fetch, "fetch_if_configured",
                            lambda *a: batches.append(a[1]) or real(*a))
        gui_sql.clear()
        dock.fetch()
        qtbot.waitUntil(lambda: not dock._fetching, timeout=20000)
        assert gui_sql.statements == []
        assert batches == [25, 25] and Incident.select().count() == 30
        assert dock.status.text() == "30 new mails taken in"
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(MAIL / "html_only.eml"))])
        window.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                                    Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
        assert Incident.select().where(Incident.title == "New laptop for the summer intern").exists()
    finally:
        server.stop()
