"""Both halves of mail in the GUI: Tools → Mail settings… is one dialog, an IMAP tab and an
SMTP tab, each with its test button, Save saving both into the settings both halves read
(services/mail/account.py); a ticket's Mail tab lists its notifications (queued, then sent) in
time order with the mail that came in."""

from __future__ import annotations

import os

from mail_out_server import SmtpServer

from itsmdesk.services import records
from itsmdesk.services.mail import account, outgoing
from itsmdesk.views.mail.settings_dialog import MailSettingsDialog

SHOTS = os.environ.get("ITSMDESK_SHOTS")  # a folder: the dialog's tabs rendered there


def test_mail_settings_has_imap_and_smtp_tabs_and_saves_both(ctx, qtbot, gui_sql, monkeypatch,
                                                             message_boxes):
    monkeypatch.setattr(account, "remember_password", lambda acc, secret: True)
    with SmtpServer() as server:
        gui_sql.clear()
        dialog = MailSettingsDialog(ctx)
        qtbot.addWidget(dialog)
        tabs = dialog.tabs
        assert [tabs.tabText(i) for i in range(tabs.count())] == [
            "Incoming mail (IMAP)", "Outgoing mail (SMTP)"]
        assert dialog.test_button.text() == "Test connection"
        smtp = dialog.smtp
        assert smtp.test_button.text() == "Send test mail"
        assert smtp.save_button.isHidden()  # the dialog's Save saves the tab
        dialog.host.setText("imap.example.org")
        dialog.user.setText("desk@example.org")
        smtp.host.setText("127.0.0.1")
        smtp.port.setText(str(server.port))
        smtp.security.setCurrentIndex(smtp.security.findData("none"))
        smtp.sender.setText("Service desk <desk@example.org>")
        dialog.show()
        tabs.setCurrentIndex(1)
        if SHOTS:
            dialog.resize(dialog.sizeHint().expandedTo(dialog.size()))
            for i in range(tabs.count()):
                tabs.setCurrentIndex(i)
                dialog.grab().save(os.path.join(SHOTS, f"mail_settings_{i}.png"))
        # a bad port on the SMTP tab: said, nothing of either tab saved, the dialog stays
        smtp.port.setText("smtp")
        dialog.save()
        assert message_boxes[-1] == ("warning", "The setting mail.smtp.port is smtp; use a port "
                                                "number such as 587")
        assert dialog.save_button.isEnabled() and dialog.result() == 0
        assert gui_sql.statements == []
        assert records.get_setting("mail.imap.host") is None  # (the test's own read)
        gui_sql.clear()
        smtp.port.setText(str(server.port))
        dialog.save()
        assert dialog.result() == 1  # accepted: both saved
        smtp.test_to.setText("ops@example.org")
        smtp.send_test()
        qtbot.waitUntil(lambda: "took the test mail" in smtp.status.text())
        assert gui_sql.statements == []
    sent = account.smtp_account()
    assert (sent.host, sent.port, sent.security, sent.from_address) == (
        "127.0.0.1", server.port, "none", "Service desk <desk@example.org>")
    assert outgoing.smtp_settings() == sent  # outgoing reads the same account
    assert account.imap_account().host == "imap.example.org"
    assert [m.rcpt_tos for m in server.messages] == [["ops@example.org"]]
    assert account.own_addresses() == {"desk@example.org"}
    # the test mail is of our own form: coming back, intake knows it
    assert server.messages[0].message["Message-ID"].startswith("<itsmdesk.")


def test_mail_tab_shows_notifications_with_the_replies(ctx, qtbot, gui_sql):
    from test_mail_out_outbox import configure
    from test_mail_reply_to_notification import _reply_to

    from itsmdesk.services import people
    from itsmdesk.services.mail import intake
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.views.queue.incident_form import IncidentForm

    with SmtpServer() as server:
        configure(server.port)
        ann = people.create_person({"name": "Ann Caller", "email": "ann@example.org"})
        ticket = incidents.create_incident({"title": "VPN down", "caller": ann.id})
        gui_sql.clear()
        form = IncidentForm(ctx, ticket.id)
        qtbot.addWidget(form)
        thread = form.mail_thread
        rows = lambda: [thread.list.topLevelItem(i).text(0)  # noqa: E731
                        for i in range(thread.list.topLevelItemCount())]
        assert rows() == ["To be sent to Ann Caller"]
        assert thread.list.topLevelItem(0).toolTip(0) == "Ann Caller <ann@example.org>"
        ctx.write(outgoing.send_queued)  # (the app's sender: a write operation)
        qtbot.waitUntil(lambda: rows() == ["Sent to Ann Caller"])
        [sent] = server.messages
        ctx.write(intake.take_in, _reply_to(sent.message, "It is floor 3."))
        qtbot.waitUntil(lambda: len(rows()) == 2)
        assert rows() == ["Sent to Ann Caller", "Ann Caller"]
        assert thread.list.topLevelItem(1).text(2).startswith("Re: We have received")
        assert "It is floor 3." in thread.text.toPlainText()  # the newest shown
        if SHOTS:
            form.resize(1400, 900)
            form.show()
            form.tabs.setCurrentWidget(thread)
            form.grab().save(os.path.join(SHOTS, "mail_tab.png"))
        thread.list.setCurrentItem(thread.list.topLevelItem(0))
        assert "Hello Ann Caller" in thread.text.toPlainText()
        assert gui_sql.statements == []
