"""Mail from a real IMAP server (dovecot on loopback, started by the tests): the corpus through
IMAP into tickets, each mail marked done only once taken, nothing taken twice, STARTTLS and
IMAPS with the test's own certificate, a 20 MB attachment, the mail moved to a done folder."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from itsmdesk.models.incident import Attachment, Incident, WorkLog
from itsmdesk.models.mail import MailMessage
from itsmdesk.services import records
from itsmdesk.services.mail import account, imap_fetch, rules
from itsmdesk.services.mail.account import MailAccount, MailServerError
from tests.conftest import FIXTURES
from tests.mail_helpers import PASSWORD, USER, Dovecot

MAIL = FIXTURES / "mail"
FIRST = ["new_plain.eml", "outlook_reply_cc.eml", "gmail_reply_cc.eml"]  # a thread, in order
CORPUS = [MAIL / n for n in FIRST] + sorted(p for p in MAIL.glob("*.eml") if p.name not in FIRST)
IGNORED = {"autoreply_oof.eml", "autoreply_precedence.eml", "autoreply_xautoreply.eml",
           "bounce.eml", "own_loop.eml"}


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    server = Dovecot(tmp_path_factory.mktemp("imap")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dovecot_tls(tmp_path_factory):
    server = Dovecot(tmp_path_factory.mktemp("imaps"), tls=True).start()
    yield server
    server.stop()


def _empty(server: Dovecot, folder: str = "INBOX") -> None:
    conn = server.client()
    try:
        typ, data = conn.select(folder)
        if int(data[0]) == 0:
            return
        conn.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        conn.expunge()
    finally:
        conn.logout()


@pytest.fixture
def mailbox(db, dovecot, monkeypatch):
    """The desk's mailbox set up on the plain server (password from the environment)."""
    _empty(dovecot)
    _empty(dovecot, "Done")
    monkeypatch.setenv("ITSMDESK_MAIL_PASSWORD", PASSWORD)
    account.save_account(MailAccount("imap", host="127.0.0.1", port=dovecot.port,
                                     security="none", user=USER))
    rules.save_rules([{"match": "to", "value": "desk@desk.example.com", "kind": "incident"}])
    records.set_setting("mail.smtp.from", "desk@desk.example.com")
    return dovecot


def test_corpus_through_imap_each_mail_once_and_marked_done(mailbox):
    mailbox.append(*(p.read_bytes() for p in CORPUS))
    report = imap_fetch.fetch()
    assert report.found == len(CORPUS)
    by_key = {r.key: r for r in report.results}
    assert {r.status for r in report.results if r.status == "ignored"} == {"ignored"}
    assert report.count("ignored") == len(IGNORED)
    # the Outlook and Gmail replies (with CC) and the [INC-] reply join one printer ticket
    printer = by_key["new1.alice@example.com"].ticket_id
    assert by_key["AM0PR01MB1234.outlook@EURPRD01.PROD.OUTLOOK.COM"].ticket_id == printer
    assert by_key["CAGmail+reply1@mail.gmail.com"].ticket_id == printer
    assert WorkLog.select().where(WorkLog.incident == printer).count() >= 2
    tickets = len(CORPUS) - len(IGNORED) - report.count("note")
    assert Incident.select().count() == tickets
    assert MailMessage.select().count() == len(CORPUS)
    flags = mailbox.flags()
    assert len(flags) == len(CORPUS)
    assert all(b"$ItsmdeskDone" in f and b"\\Seen" in f for f in flags.values())
    # nothing new: nothing taken; the same mail delivered again (To and Cc): taken no second time
    assert imap_fetch.fetch().found == 0
    mailbox.append((MAIL / "new_plain.eml").read_bytes())
    again = imap_fetch.fetch()
    assert again.found == 1 and again.results[0].duplicate
    assert Incident.select().count() == tickets
    assert all(b"$ItsmdeskDone" in f for f in mailbox.flags().values())


def test_taken_mail_is_never_taken_twice_even_if_not_marked(mailbox, monkeypatch):
    """The crash window between the commit and the mark: the next fetch marks, takes nothing."""
    mailbox.append((MAIL / "new_plain.eml").read_bytes(), (MAIL / "latin1.eml").read_bytes())
    monkeypatch.setattr(imap_fetch, "_mark_done", lambda *a: None)
    assert imap_fetch.fetch().count(duplicate=False) == 2
    monkeypatch.undo()
    monkeypatch.setenv("ITSMDESK_MAIL_PASSWORD", PASSWORD)
    second = imap_fetch.fetch()
    assert second.found == 2 and second.count(duplicate=True) == 2
    assert Incident.select().count() == 2
    assert imap_fetch.fetch().found == 0


def _big_mail(size: int) -> bytes:
    payload = base64.encodebytes(bytes(range(256)) * (size // 256))
    return (b"From: Olle <olle@example.com>\r\nTo: desk@desk.example.com\r\n"
            b"Subject: Disk image of the broken laptop\r\nMessage-ID: <big.olle@example.com>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BIG\r\n\r\n"
            b"--BIG\r\nContent-Type: text/plain\r\n\r\nThe image is attached.\r\n"
            b"--BIG\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=disk.img\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + payload.replace(b"\n", b"\r\n")
            + b"--BIG--\r\n")


def test_twenty_megabyte_attachment(mailbox, monkeypatch):
    size = 20 * 1024 * 1024
    mailbox.append(_big_mail(size))
    report = imap_fetch.fetch()
    [result] = report.results
    files = {a.filename: a.size for a in
             Attachment.select(Attachment.filename, Attachment.size)
             .where(Attachment.incident == result.ticket_id)}
    assert files == {}  # over the 10 MB default: named in a note, not kept
    note = WorkLog.get(WorkLog.incident == result.ticket_id)
    assert f"disk.img ({size} bytes) was not kept" in note.text


def test_done_folder_and_wrong_password(mailbox, monkeypatch):
    account.save_account(replace(account.imap_account(), done_folder="Done"))
    mailbox.append((MAIL / "new_plain.eml").read_bytes())
    assert imap_fetch.fetch().count("ticket") == 1
    assert mailbox.count("INBOX") == 0 and mailbox.count("Done") == 1
    monkeypatch.setenv("ITSMDESK_MAIL_PASSWORD", "wrong")
    with pytest.raises(MailServerError, match=f"127.0.0.1:{mailbox.port} could not be used"):
        imap_fetch.fetch()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_starttls_and_imaps_with_own_certificate(sqlite_db, dovecot_tls, security):
    port = dovecot_tls.port if security == "starttls" else dovecot_tls.ssl_port
    acc = MailAccount("imap", host="127.0.0.1", port=port, security=security, user=USER,
                      cafile=str(dovecot_tls.cert))
    _empty(dovecot_tls)
    dovecot_tls.append((MAIL / "koi8r.eml").read_bytes())
    assert imap_fetch.test_connection(acc, PASSWORD) == 1
    rules.save_rules([{"match": "from", "value": "@example.com", "kind": "incident"}])
    report = imap_fetch.fetch(acc=acc, password=PASSWORD)
    assert Incident.get_by_id(report.results[0].ticket_id).title == "Не работает почта"
    untrusted = replace(acc, cafile="")  # a self-signed certificate is not trusted by default
    with pytest.raises(MailServerError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        imap_fetch.test_connection(untrusted, PASSWORD)


def test_unconfigured_mailbox_said(db):
    with pytest.raises(MailServerError, match="No IMAP mailbox is set up"):
        imap_fetch.fetch()




def test_a_mail_that_cannot_be_taken_is_parked_not_retried(mailbox, monkeypatch):
    from itsmdesk.errors import ValidationError
    from itsmdesk.services.mail import intake

    def refuse(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise ValidationError("Mail rule: there is no team {name}", name="Gone")

    monkeypatch.setattr(intake, "create_ticket", refuse)
    mailbox.append((MAIL / "new_plain.eml").read_bytes())
    [result] = imap_fetch.fetch().results
    assert result.status == "unmatched" and result.reason == "Mail rule: there is no team Gone"
    assert Incident.select().count() == 0 and imap_fetch.fetch().found == 0
    assert [m.subject for m in intake.unmatched()] == ["Printer on floor 3 is broken"]


def test_password_from_the_keyring_never_from_a_setting(mailbox, monkeypatch):
    from itsmdesk.models.base import Setting
    from itsmdesk.services import credentials

    class Store:
        def __init__(self) -> None:
            self.kept: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, user: str) -> str | None:
            return self.kept.get((service, user))

        def set_password(self, service: str, user: str, secret: str) -> None:
            self.kept[(service, user)] = secret

    store = Store()
    monkeypatch.setattr(credentials, "_backend", lambda: store)
    monkeypatch.delenv("ITSMDESK_MAIL_PASSWORD")
    acc = account.imap_account()
    assert account.save_settings(acc, 3, PASSWORD)
    assert store.kept == {("itsmdesk", f"imap:{USER}@127.0.0.1:{mailbox.port}"): PASSWORD}
    from itsmdesk.models.journal import JournalEntry

    assert not any(PASSWORD in str(s.value) for s in Setting.select())
    assert not any(PASSWORD in f"{j.old} {j.new}" for j in JournalEntry.select())
    view = account.settings_view()
    assert view.imap_password_known and view.fetch_minutes == 3
    mailbox.append((MAIL / "new_plain.eml").read_bytes())
    assert imap_fetch.fetch().count("ticket") == 1
