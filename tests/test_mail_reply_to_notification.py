"""The two halves of mail as one: a notification goes out through a real SMTP server with a
Message-ID of intake's form, is put in the mail ledger, and the customer's reply to it (threaded
only by In-Reply-To: no reference in its subject) joins the same ticket as a work-log note; our
own notification coming back is known as ours (both back ends, and the CLI)."""

from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage
from email.utils import make_msgid

from mail_out_server import SmtpServer
from test_mail_out_outbox import configure

from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.models.mail import MailMessage
from itsmdesk.services import people
from itsmdesk.services.mail import files, intake, outgoing
from itsmdesk.services.servicedesk import incidents


def _reply_to(sent: EmailMessage, body: str) -> bytes:
    """Ann's reply, as her mail program writes it: Re: and the subject without the [ref]."""
    reply = EmailMessage()
    reply["From"] = "Ann Caller <ann@example.org>"
    reply["To"] = sent["From"]
    subject = str(sent["Subject"]).split("] ", 1)[1]
    reply["Subject"] = f"Re: {subject}"
    reply["Message-ID"] = make_msgid(domain="example.org")
    reply["In-Reply-To"] = sent["Message-ID"]
    reply["Date"] = "Mon, 01 Mar 2027 11:00:00 +0000"
    quoted = "\n".join("> " + line for line in sent.get_content().splitlines())
    reply.set_content(f"{body}\n\nOn Mon, 1 Mar 2027 at 10:00, Service desk wrote:\n{quoted}\n")
    return bytes(reply)


def _notified(server: SmtpServer) -> tuple[Incident, EmailMessage]:
    configure(server.port)
    ann = people.create_person({"name": "Ann Caller", "email": "ann@example.org"})
    ticket = incidents.create_incident({"title": "VPN down", "caller": ann.id})
    assert outgoing.send_queued().sent == ["ann@example.org"]
    [got] = server.messages
    return ticket, got.message


def test_a_reply_to_a_notification_joins_its_ticket(db, tmp_path):
    with SmtpServer() as server:
        ticket, sent = _notified(server)
    # the Message-ID names the ticket; the ledger knows it as ours, sent about the ticket
    assert sent["Message-ID"].startswith(f"<itsmdesk.{ticket.ref}.")
    assert sent["Message-ID"].endswith("@example.org>")
    assert sent["X-Itsmdesk-Event"] == "received"
    [out] = MailMessage.select().where(MailMessage.direction == "out")
    assert (out.message_key, out.ticket_id, out.status, out.sender) == (
        sent["Message-ID"].strip("<>"), ticket.id, "sent", "desk@example.org")
    assert out.recipients == "Ann Caller <ann@example.org>"
    assert ticket.ref not in sent["Subject"].split("] ", 1)[1]

    path = tmp_path / "reply.eml"
    path.write_bytes(_reply_to(sent, "It is the office on floor 3."))
    [result], problems = files.import_files([path])
    assert problems == []
    assert (result.status, result.ticket_ref) == ("note", ticket.ref)
    assert Incident.select().count() == 1  # no new ticket
    [note] = WorkLog.select().where(WorkLog.incident == ticket.id)
    assert note.public and note.text.endswith("It is the office on floor 3.")
    assert "Service desk wrote" not in note.text  # only the reply's own words
    assert note.author.email == "ann@example.org"
    # the ticket's thread: our notification, then the reply
    thread = intake.mail_thread(ticket.id)
    assert [(m.direction, m.status) for m in thread] == [("out", "sent"), ("in", "note")]

    # our own notification coming back (a copy to the desk's own mailbox) makes nothing
    again = intake.take_in(bytes(sent))
    assert again.duplicate and again.status == "sent"
    assert Incident.select().count() == 1 and WorkLog.select().count() == 1


def test_our_own_mail_not_in_the_ledger_is_still_known(db):
    """A mail of ours the ledger does not have (an announcement, a test mail): its Message-ID's
    form and its X-Itsmdesk header say it is ours; no ticket, no unmatched mail."""
    with SmtpServer() as server:
        configure(server.port)
        outgoing.check_smtp("desk@example.org")
        [got] = server.messages
    result = intake.take_in(bytes(got.message))
    assert result.status == "ignored" and result.reason.startswith("our own mail")
    assert Incident.select().count() == 0


def test_mail_import_cli_threads_the_reply(tmp_path, capsys):
    from itsmdesk.cli import main

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert main(["--db", url, "init"]) == 0
    with SmtpServer() as server:
        ticket, sent = _notified(server)
    path = tmp_path / "reply.eml"
    path.write_bytes(_reply_to(sent, "Thanks, it works again."))
    capsys.readouterr()
    assert main(["--db", url, "mail", "import", str(path), "--json"]) == 0
    [line] = json.loads(capsys.readouterr().out)
    assert (line["status"], line["ticket"]) == ("note", ticket.ref)
    assert Incident.select().count() == 1


def test_setup_smtp_cli_writes_what_both_halves_read(tmp_path, capsys):
    from itsmdesk.cli import main
    from itsmdesk.services.mail import account

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert main(["--db", url, "init"]) == 0
    with SmtpServer() as server:
        code = main(["--db", url, "mail", "setup-smtp", "--host", "127.0.0.1", "--port",
                     str(server.port), "--security", "none", "--from",
                     "Service desk <desk@example.org>", "--test"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert f"127.0.0.1:{server.port}: connected and logged in" in out
        assert main(["--db", url, "mail", "setup-smtp", "--port", "smtp"]) == 2
        assert "The setting mail.smtp.port is smtp; use a port number such as 587" in \
            capsys.readouterr().err
    acc = account.smtp_account()
    assert (acc.host, acc.port, acc.security, acc.sender) == (
        "127.0.0.1", server.port, "none", "Service desk <desk@example.org>")
    assert outgoing.smtp_settings() == acc
    assert account.own_domain() == "example.org"


def test_an_announcement_is_ours_and_its_organizer_is_the_from_address(db):
    """An outage announcement (about no ticket) has a Message-ID of our form, goes in no
    ticket's ledger, comes back as our own, and its invitation's organizer is the address of
    a From written with a name."""
    from icalendar import Calendar

    from itsmdesk.services import records
    from itsmdesk.services.cmdb import cis as cmdb
    from itsmdesk.services.mail import subscriptions
    from itsmdesk.services.servicedesk import announcements

    start = dt.datetime(2027, 3, 6, 22, 0)
    with SmtpServer() as server:
        configure(server.port)
        with records.atomic():
            records.set_setting(outgoing.FROM, "Service desk <desk@example.org>")
        cmdb.ensure_standard_classes()
        shop = cmdb.create_ci({"name": "Shop", "ci_class": "business_service"})
        ann = people.create_person({"name": "Ann", "email": "ann@example.org"})
        subscriptions.subscribe(shop.id, ann.id)
        announcements.create_announcement(
            {"title": "Shop down", "kind": "planned_outage", "starts_at": start,
             "ends_at": start + dt.timedelta(hours=1), "body": "Sorry."}, [shop.id])
        assert outgoing.send_queued(dt.datetime(2099, 1, 1)).sent == ["ann@example.org"]
        [got] = server.messages
    message = got.message
    assert message["Message-ID"].startswith("<itsmdesk.")
    assert message["From"] == "Service desk <desk@example.org>"
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(part.get_content()).walk("VEVENT")
    assert str(event["ORGANIZER"]) == "mailto:desk@example.org"
    assert MailMessage.select().count() == 0  # (no ticket: nothing to thread)
    back = intake.take_in(bytes(message))
    assert back.status == "ignored"  # (Auto-Submitted, and our own Message-ID and header)


class _Keyring:
    """A keyring backend in memory."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.kept.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.kept[(service, user)] = password


def test_one_password_lookup_for_the_smtp_login(db, monkeypatch):
    """The SMTP password is the keyring's entry smtp:<login>@<host>:<port> (the port used),
    else $ITSMDESK_SMTP_PASSWORD; the sender logs in with it."""
    from itsmdesk.services import credentials
    from itsmdesk.services.mail import account

    keyring = _Keyring()
    monkeypatch.setattr(credentials, "_backend", lambda: keyring)
    monkeypatch.setenv("ITSMDESK_SMTP_PASSWORD", "from-the-environment")
    form = account.save_smtp({"host": "smtp.example.org", "security": "starttls",
                              "user": "desk@example.org"}, None, "from-the-keyring")
    assert keyring.kept == {("itsmdesk", "smtp:desk@example.org@smtp.example.org:587"):
                            "from-the-keyring"}
    assert form.password_kept and form.values["port"] == ""
    acc = outgoing.smtp_settings()
    assert (acc.effective_port, acc.from_address) == (587, "desk@example.org")
    logins = []

    class Smtp:  # (what connect does with the session)
        def __init__(self, host: str, port: int, timeout: float) -> None:
            self.address = (host, port)

        def starttls(self, context: object) -> None:
            pass

        def login(self, user: str, password: str) -> None:
            logins.append((self.address, user, password))

    monkeypatch.setattr(outgoing.smtplib, "SMTP", Smtp)
    outgoing.connect(acc)
    keyring.kept.clear()
    outgoing.connect(acc)
    assert logins == [(("smtp.example.org", 587), "desk@example.org", "from-the-keyring"),
                      (("smtp.example.org", 587), "desk@example.org", "from-the-environment")]
