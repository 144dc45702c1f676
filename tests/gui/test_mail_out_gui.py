"""The SMTP settings widget and the app's periodic mail sender (offscreen, real SMTP server)."""

from __future__ import annotations

import datetime as dt

from mail_out_server import SmtpServer

from itsmdesk.models.mail_outbox import MailOutbox
from itsmdesk.services import records
from itsmdesk.services.mail import outgoing
from itsmdesk.views.mail.sender import MailSender
from itsmdesk.views.mail.smtp_settings import SmtpSettingsWidget


def test_smtp_widget_saves_settings_and_sends_a_test_mail(ctx, qtbot, gui_sql, monkeypatch,
                                                          message_boxes):
    monkeypatch.setenv("ITSMDESK_SMTP_PASSWORD", "not-kept-anywhere")
    with SmtpServer() as server:
        gui_sql.clear()
        widget = SmtpSettingsWidget(ctx)
        qtbot.addWidget(widget)
        widget.host.setText("127.0.0.1")
        widget.port.setText(str(server.port))
        widget.security.setCurrentIndex(widget.security.findData("none"))
        widget.sender.setText("desk@example.org")
        widget.save()
        assert widget.status.text() == "Saved."
        widget.test_to.setText("ops@example.org")
        widget.send_test()
        qtbot.waitUntil(lambda: "took the test mail" in widget.status.text())
        assert gui_sql.statements == []  # (the checks below read on the test's own account)
        assert records.get_setting(outgoing.PORT) == str(server.port)
        assert records.get_setting(outgoing.FROM) == "desk@example.org"
        assert [m.rcpt_tos for m in server.messages] == [["ops@example.org"]]
        # a bad port is refused with a sentence, nothing saved
        widget.port.setText("smtp")
        widget.save()
        assert message_boxes[-1] == ("warning", "The setting mail.smtp.port is smtp; use a port "
                                                "number such as 587")
        assert records.get_setting(outgoing.PORT) == str(server.port)


def test_the_sender_delivers_the_outbox_as_an_operation(ctx, qtbot):
    with SmtpServer() as server:
        with records.atomic():
            records.set_setting(outgoing.HOST, "127.0.0.1")
            records.set_setting(outgoing.PORT, str(server.port))
            records.set_setting(outgoing.SECURITY, "none")
            outgoing.enqueue("received", "ann@example.org", "Received", "Thanks.")
        ctx.clock = lambda: dt.datetime(2099, 1, 1)
        sender = MailSender(ctx, interval_ms=3_600_000)
        sender.run()
        qtbot.waitUntil(lambda: sender.last is not None)
        assert sender.last.sent == ["ann@example.org"]
        assert MailOutbox.get().status == "sent"
        assert [m.rcpt_tos for m in server.messages] == [["ann@example.org"]]
