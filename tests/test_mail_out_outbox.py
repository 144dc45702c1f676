"""The outbox and its sender against a real SMTP server on loopback (both back ends)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from mail_out_server import SmtpServer, self_signed

from itsmdesk.models.incident import Incident
from itsmdesk.models.mail_outbox import MailOutbox
from itsmdesk.services import records
from itsmdesk.services.mail import outgoing
from itsmdesk.services.servicedesk import incidents

NOW = dt.datetime(2027, 3, 1, 10, 0)  # a Monday (after the rows are queued)


def configure(port: int, security: str = "none", cafile: str = "") -> None:
    with records.atomic():
        records.set_setting(outgoing.HOST, "127.0.0.1")
        records.set_setting(outgoing.PORT, str(port))
        records.set_setting(outgoing.SECURITY, security)
        records.set_setting(outgoing.FROM, "desk@example.org")
        if cafile:
            records.set_setting(outgoing.CAFILE, cafile)


def _ticket() -> Incident:
    return incidents.create_incident({"title": "Printer on fire"})


def test_queued_in_the_write_and_sent_after_it(db):
    with SmtpServer() as server:
        configure(server.port)
        ticket = _ticket()
        with records.atomic():
            row = outgoing.enqueue("resolved", "ann@example.org", "Resolved", "It works.",
                                   about=ticket, to_name="Ann")
        assert server.messages == []  # queued, not sent
        result = outgoing.send_queued(NOW)
        assert result.sent == ["ann@example.org"]
        [got] = server.messages
        assert got.rcpt_tos == ["ann@example.org"]
        assert got.message["Subject"] == "Resolved"
        assert got.message["Message-ID"] == row.message_id
        assert got.message.get_content().strip() == "It works."
        stored = MailOutbox.get_by_id(row.id)
        assert (stored.status, stored.attempts, stored.sent_at) == ("sent", 1, NOW)
        lines = [h.new for h in records.history("incident", ticket.id) if h.field == "!mail"]
        assert lines == ["notification 'resolved' sent to ann@example.org at "
                         "2027-03-01 10:00 UTC"]
        assert outgoing.send_queued(NOW).sent == []  # sent once
        assert len(server.messages) == 1


def test_rolled_back_write_mails_nobody(db):
    with SmtpServer() as server:
        configure(server.port)
        with pytest.raises(RuntimeError), records.atomic():
            outgoing.enqueue("received", "bob@example.org", "Received", "Thanks.")
            raise RuntimeError("the write fails after queueing")
        assert MailOutbox.select().count() == 0
        assert outgoing.send_queued(NOW).sent == []
        assert server.messages == []


def test_temporary_refusal_is_retried_with_backoff(db):
    with SmtpServer() as server:
        configure(server.port)
        with records.atomic():
            row = outgoing.enqueue("received", "cy@example.org", "Received", "Thanks.")
        server.recorder.refuse.append("451 4.3.0 Try again later")
        first = outgoing.send_queued(NOW)
        assert (first.sent, first.retrying) == ([], ["cy@example.org"])
        stored = MailOutbox.get_by_id(row.id)
        assert stored.status == "queued" and stored.last_error.startswith("451")
        assert stored.not_before == NOW + dt.timedelta(minutes=1)
        assert outgoing.send_queued(NOW).sent == []  # not due yet
        later = outgoing.send_queued(NOW + dt.timedelta(minutes=1))
        assert later.sent == ["cy@example.org"]
        [got] = server.messages
        assert got.message["Message-ID"] == row.message_id  # the same message, tried again
        assert MailOutbox.get_by_id(row.id).attempts == 2


def test_permanent_refusal_fails_and_says_so_in_the_history(db):
    with SmtpServer() as server:
        configure(server.port)
        ticket = _ticket()
        with records.atomic():
            row = outgoing.enqueue("resolved", "gone@example.org", "Resolved", "x", about=ticket)
        server.recorder.refuse.append("550 5.1.1 No such user")
        assert outgoing.send_queued(NOW).failed == ["gone@example.org"]
        assert MailOutbox.get_by_id(row.id).status == "failed"
        [line] = [h.new for h in records.history("incident", ticket.id) if h.field == "!mail"]
        assert line.startswith("notification 'resolved' to gone@example.org failed: 550")


def test_a_crash_after_the_server_took_it_resends_the_same_message_id(db):
    with SmtpServer() as server:
        configure(server.port)
        with records.atomic():
            row = outgoing.enqueue("received", "dee@example.org", "Received", "Thanks.")
        settings = outgoing.smtp_settings()
        real_mark = outgoing._mark

        def crash(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
            raise KeyboardInterrupt  # the process dies before marking the row sent

        outgoing._mark = crash
        try:
            with pytest.raises(KeyboardInterrupt):
                outgoing.send_queued(NOW, settings=settings)
        finally:
            outgoing._mark = real_mark
        assert MailOutbox.get_by_id(row.id).status == "sending"
        assert outgoing.send_queued(NOW + dt.timedelta(minutes=1)).sent == []  # claim is fresh
        # (the claim's time is the database's own clock: look far enough ahead)
        assert outgoing.send_queued(NOW + outgoing.STALE_CLAIM).sent == [
            "dee@example.org"]
        assert [m.message["Message-ID"] for m in server.messages] == [row.message_id] * 2


def test_starttls_with_a_private_certificate(db, tmp_path):
    cert, key = self_signed(tmp_path)
    with SmtpServer(tls=(cert, key)) as server:
        configure(server.port, "starttls", str(cert))
        assert outgoing.check_smtp("ops@example.org") == f"127.0.0.1:{server.port}"
        with records.atomic():
            outgoing.enqueue("received", "eve@example.org", "Received", "Thanks.")
        assert outgoing.send_queued(NOW).sent == ["eve@example.org"]
        assert [m.rcpt_tos for m in server.messages] == [["ops@example.org"],
                                                         ["eve@example.org"]]
        # without the private CA the server's certificate is not trusted: said, not sent
        with records.atomic():
            records.set_setting(outgoing.CAFILE, "")
        with pytest.raises(Exception, match="did not accept the test"):
            outgoing.check_smtp("ops@example.org")


def test_smtps_with_a_private_certificate(db, tmp_path):
    cert, key = self_signed(tmp_path)
    with SmtpServer(tls=(cert, key), implicit=True) as server:
        configure(server.port, "ssl", str(cert))
        with records.atomic():
            outgoing.enqueue("received", "fay@example.org", "Received", "Thanks.")
        assert outgoing.send_queued(NOW).sent == ["fay@example.org"]
        assert [m.rcpt_tos for m in server.messages] == [["fay@example.org"]]
        assert server.messages[0].message["Message-ID"].endswith("@example.org>")


def test_nothing_is_queued_without_a_server(db):
    assert not outgoing.enabled()
    assert outgoing.send_queued(NOW).error is None  # nothing due: nothing to say
    assert SimpleNamespace(rows=MailOutbox.select().count()).rows == 0
