"""The SMTP settings widget and the app's periodic mail sender (offscreen, real SMTP server)."""

from __future__ import annotations

import datetime as dt

from mail_out_server import SmtpServer
from PySide6.QtCore import Qt

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
        assert records.get_setting(outgoing.PORT) == server.port
        assert records.get_setting(outgoing.FROM) == "desk@example.org"
        assert [m.rcpt_tos for m in server.messages] == [["ops@example.org"]]
        # a bad port is refused with a sentence, nothing saved
        widget.port.setText("smtp")
        widget.save()
        assert message_boxes[-1] == ("warning", "The setting mail.smtp.port is smtp; use a port "
                                                "number such as 587")
        assert records.get_setting(outgoing.PORT) == server.port


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


def test_the_service_form_lists_adds_and_removes_subscribers(ctx, qtbot, gui_sql):
    from itsmdesk.models.mail_outbox import ServiceSubscription
    from itsmdesk.services import people
    from itsmdesk.services.cmdb import cis as cmdb
    from itsmdesk.views.cmdb.ci_form import TAB_SUBSCRIBERS, create_form

    cmdb.ensure_standard_classes()
    shop = cmdb.create_ci({"name": "Shop", "ci_class": "business_service"})
    box = cmdb.create_ci({"name": "web-01", "ci_class": "server"})
    ann = people.create_person({"name": "Ann Andersson", "email": "ann@example.org"})
    bo = people.create_person({"name": "Bo Berg", "email": "bo@example.org"})
    from itsmdesk.services.mail import subscriptions

    subscriptions.subscribe(shop.id, ann.id)
    gui_sql.clear()
    server_form = create_form(ctx, box.id, None)
    qtbot.addWidget(server_form)
    assert server_form.loaded
    assert not server_form.tabs.isTabVisible(TAB_SUBSCRIBERS)  # a server has no subscribers
    form = create_form(ctx, shop.id, None)
    qtbot.addWidget(form)
    assert form.loaded
    assert form.tabs.isTabVisible(TAB_SUBSCRIBERS)
    assert form.tabs.tabText(TAB_SUBSCRIBERS) == "Subscribers (1)"
    tab = form.subscribers
    assert [tab.list.item(i).text() for i in range(tab.list.count())] == [
        "Ann Andersson <ann@example.org>"]
    tab.person.setText("Bo")
    tab._complete("Bo")
    tab.person.setText("Bo Berg <bo@example.org>")
    tab.add()
    assert [tab.list.item(i).text() for i in range(tab.list.count())] == [
        "Ann Andersson <ann@example.org>", "Bo Berg <bo@example.org>"]
    tab.list.item(0).setSelected(True)
    tab.remove()
    assert [tab.list.item(i).text() for i in range(tab.list.count())] == [
        "Bo Berg <bo@example.org>"]
    assert gui_sql.statements == []
    assert [r.person_id for r in ServiceSubscription.select()] == [bo.id]
    tab.list.item(0).setSelected(True)
    tab.remove()  # nobody left: the list says so in a line that is no person
    assert [tab.list.item(i).text() for i in range(tab.list.count())] == [
        "Nobody gets this service's announcements by mail yet: type a name or an address "
        "below, then Add."]
    assert tab.list.item(0).flags() == Qt.ItemFlag.NoItemFlags
    assert form.tabs.tabText(TAB_SUBSCRIBERS) == "Subscribers (0)"
    assert list(ServiceSubscription.select()) == []
