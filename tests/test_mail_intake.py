"""E-mail intake from .eml files: what each mail of the corpus becomes, threading, exactly once,
reopening, the unmatched queue (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from itsmdesk.config import Settings
from itsmdesk.errors import ValidationError
from itsmdesk.models.incident import Attachment, Incident, WorkLog
from itsmdesk.models.mail import MailMessage
from itsmdesk.models.people import Person
from itsmdesk.services import records
from itsmdesk.services.mail import files, intake, rules
from tests.conftest import FIXTURES

MAIL = FIXTURES / "mail"


def raw(name: str) -> bytes:
    return (MAIL / name).read_bytes()


@pytest.fixture
def desk(db):
    """Rules: everything sent to the desk's address is an incident; 'laptop' is a request."""
    from itsmdesk.services.servicedesk.categories import create_category

    create_category("Hardware", "request")
    rules.save_rules([
        {"match": "subject", "value": "laptop, new phone", "kind": "request",
         "category": "Hardware"},
        {"match": "to", "value": "desk@desk.example.com", "kind": "incident"},
    ])
    records.set_setting("mail.smtp.from", "desk@desk.example.com")
    return db


def ticket(result) -> Incident:  # noqa: ANN001
    return Incident.get_by_id(result.ticket_id)


def test_new_mail_makes_ticket_with_person_text_and_original(desk):
    result = intake.take_in(raw("new_plain.eml"))
    assert result.status == "ticket" and result.ticket_ref == "INC-000001"
    inc = ticket(result)
    assert inc.kind == "incident" and inc.channel == "email"
    assert inc.title == "Printer on floor 3 is broken"
    assert "prints blank pages" in inc.description
    alice = Person.get(Person.email == "alice@example.com")
    assert inc.caller_id == alice.id and alice.name == "Alice Andersson"
    files_ = {a.filename: bytes(a.data) for a in Attachment.select().where(Attachment.incident == inc.id)}
    assert files_ == {"Printer on floor 3 is broken.eml": raw("new_plain.eml")}
    row = MailMessage.get(MailMessage.message_key == "new1.alice@example.com")
    assert (row.ticket_id, row.direction, row.sender, row.raw) == (inc.id, "in", "alice@example.com", None)
    assert records.history("incident", inc.id)  # journalled through the funnel


def test_same_mail_twice_is_taken_once(desk):
    first = intake.take_in(raw("new_plain.eml"))
    again = intake.take_in(raw("new_plain.eml"))
    assert again.duplicate and again.ticket_id == first.ticket_id
    assert Incident.select().count() == 1 and MailMessage.select().count() == 1
    no_id = intake.take_in(raw("no_message_id.eml"))
    assert no_id.key.startswith("sha256:") and intake.take_in(raw("no_message_id.eml")).duplicate
    assert Incident.select().count() == 2


def test_outlook_and_gmail_replies_with_cc_join_the_ticket_as_notes(desk):
    first = intake.take_in(raw("new_plain.eml"))
    outlook = intake.take_in(raw("outlook_reply_cc.eml"))
    gmail = intake.take_in(raw("gmail_reply_cc.eml"))  # answers the Outlook reply, not the first
    by_subject = intake.take_in(raw("subject_ref_reply.eml"))
    assert {outlook.status, gmail.status, by_subject.status} == {"note"}
    assert {outlook.ticket_id, gmail.ticket_id, by_subject.ticket_id} == {first.ticket_id}
    assert Incident.select().count() == 1
    notes = [w.text for w in WorkLog.select().where(WorkLog.incident == first.ticket_id)
             .order_by(WorkLog.created_at, WorkLog.id)]
    assert len(notes) == 3
    outlook_note = next(n for n in notes if "after the restart" in n)
    assert "prints blank pages" not in outlook_note  # the quoted original left out
    gmail_note = next(n for n in notes if "toner" in n)
    assert "wrote:" not in gmail_note and "Bertil Berg <bertil@example.com>" in gmail_note
    bertil = Person.get(Person.email == "bertil@example.com")  # a new requester
    assert WorkLog.get(WorkLog.text == gmail_note).author_id == bertil.id
    # the sender matched whatever the case of the address
    assert Person.select().where(Person.email ** "alice@example.com").count() == 1
    assert [m.subject for m in intake.mail_thread(first.ticket_id)][:2] == [
        "Printer on floor 3 is broken", "RE: Printer on floor 3 is broken"]


@pytest.mark.parametrize("name", ["autoreply_oof.eml", "autoreply_precedence.eml",
                                  "autoreply_xautoreply.eml", "bounce.eml", "own_loop.eml"])
def test_auto_replies_bounces_and_loops_never_make_tickets(desk, name):
    intake.take_in(raw("new_plain.eml"))
    result = intake.take_in(raw(name))
    assert result.status == "ignored" and result.reason
    assert Incident.select().count() == 1
    assert WorkLog.select().count() == 0


@pytest.mark.parametrize("name,title,words", [
    ("latin1.eml", "Skrivaren på plan 3 fungerar inte", "Hälsningar, Göran"),
    ("cp1252.eml", "“Invoice” system down", "100 € – and"),
    ("koi8r.eml", "Не работает почта", "Почта не работает с утра."),
    ("undeclared_8bit.eml", "Lösenordet går inte att byta", "försöker byta på måndag"),
    ("html_only.eml", "New laptop for the summer intern", "- 16 GB RAM"),
    ("broken_boundary.eml", "Screen flickers", "flickers when the laptop is docked"),
    ("bad_base64.eml", "Error screenshot attached", "attached screenshot"),
    ("forwarded.eml", "Fwd: VPN drops every 10 minutes", "disconnects every ten minutes"),
])
def test_charsets_html_and_broken_mime_become_readable_tickets(desk, name, title, words):
    result = intake.take_in(raw(name))
    inc = ticket(result)
    assert inc.title == title and words in inc.description
    assert "<" not in inc.description and "alert(1)" not in inc.description
    names = {a.filename for a in Attachment.select().where(Attachment.incident == inc.id)}
    assert f"{records.get(Incident, inc.id).title[:80]}.eml".replace("“", "“") in names or \
        any(n.endswith(".eml") for n in names)
    if name == "forwarded.eml":
        assert "VPN drops every 10 minutes.eml" in names
    if name == "broken_boundary.eml":
        assert "dxdiag.txt" in names


def test_rules_kind_and_category_and_unmatched_queue(desk):
    request = ticket(intake.take_in(raw("html_only.eml")))  # 'laptop' in the subject
    assert request.kind == "request" and request.ref.startswith("REQ-")
    assert request.category.name == "Hardware"
    rules.save_rules([{"match": "from", "value": "@example.com", "kind": "incident"}])
    other = raw("autoreply_precedence.eml").replace(b"Precedence: bulk\r\n", b"")
    waiting = intake.take_in(other)
    assert waiting.status == "unmatched" and waiting.ticket_id is None
    [line] = intake.unmatched()
    assert line.sender == "news@vendor.example.net" and "Buy now." in line.text
    made = intake.ticket_from_unmatched(line.id, line.version, {"kind": "request"})
    assert made.status == "ticket" and ticket(made).title == "Our autumn offers"
    assert MailMessage.get_by_id(line.id).raw is None and intake.unmatched() == []
    with pytest.raises(ValidationError, match="no longer waiting"):
        intake.discard(line.id, None)


def test_discard_and_bad_rules_refused(desk):
    rules.save_rules([])
    waiting = intake.take_in(raw("new_plain.eml"))
    intake.discard(waiting.mail_id, None)
    assert MailMessage.get_by_id(waiting.mail_id).status == "discarded"
    assert Incident.select().count() == 0
    version = rules.rules_version()
    with pytest.raises(ValidationError, match="no request category Nonesuch"):
        rules.save_rules([{"match": "from", "value": "x@y.z", "kind": "request",
                           "category": "Nonesuch"}])
    with pytest.raises(ValidationError, match="match by one of"):
        rules.save_rules([{"match": "body", "value": "x"}])
    assert rules.rules_version() == version


def _close(inc_id, when: dt.datetime) -> None:
    from itsmdesk.services.servicedesk.incidents import transition

    inc = transition(inc_id, None, "resolved", now=when, resolution_code="user_error",
                     solution="Paper was in upside down")
    transition(inc.id, None, "closed", now=when)


def test_reply_to_recently_closed_ticket_reopens_it(desk):
    first = intake.take_in(raw("new_plain.eml"))
    _close(first.ticket_id, dt.datetime.utcnow() - dt.timedelta(days=2))
    reply = intake.take_in(raw("outlook_reply_cc.eml"))
    assert reply.status == "reopened" and reply.ticket_id == first.ticket_id
    inc = ticket(first)
    assert inc.status == "in_progress" and inc.closed_at is None
    assert Incident.select().count() == 1


def test_reply_to_long_closed_ticket_opens_linked_follow_up(desk):
    records.set_setting("mail.reopen_days", 7)
    first = intake.take_in(raw("new_plain.eml"))
    _close(first.ticket_id, dt.datetime.utcnow() - dt.timedelta(days=30))
    reply = intake.take_in(raw("outlook_reply_cc.eml"))
    assert reply.status == "followup" and reply.ticket_id != first.ticket_id
    follow = ticket(reply)
    assert follow.parent_id == first.ticket_id and follow.status == "new"
    assert f"Follow-up of {ticket(first).ref}" in follow.description
    assert ticket(first).status == "closed"
    # a further reply in the same thread joins the follow-up, not the closed ticket
    assert intake.take_in(raw("gmail_reply_cc.eml")).ticket_id == follow.id


def test_attachment_over_the_limit_is_named_not_kept(desk):
    big = raw("bad_base64.eml")
    small = Settings(max_attachment_bytes=len(big) - 1)
    result = intake.take_in(big, settings=small)
    names = {a.filename for a in Attachment.select().where(Attachment.incident == result.ticket_id)}
    assert names == {"error.png"}
    note = WorkLog.get(WorkLog.incident == result.ticket_id)
    assert "Error screenshot attached.eml" in note.text and not note.public


def test_import_files_and_msg_refused_with_a_sentence(desk, tmp_path, monkeypatch):
    result = files.import_file(MAIL / "new_plain.eml")
    assert result.ticket_ref == "INC-000001"
    assert files.import_file(MAIL / "new_plain.eml").duplicate
    bogus = tmp_path / "mail.msg"
    bogus.write_bytes(b"not an outlook file")
    monkeypatch.setattr(files, "msg_supported", lambda: False)
    with pytest.raises(ValidationError, match="save the mail as .eml"):
        files.import_file(bogus)
    with pytest.raises(ValidationError, match="not a mail file"):
        files.import_file(tmp_path)


def test_nul_characters_are_not_stored(desk):
    raw_mail = raw("new_plain.eml").replace(b"prints blank", b"prints\x00 blank")
    inc = ticket(intake.take_in(raw_mail))  # (PostgreSQL refuses NUL in text)
    assert "prints blank" in inc.description


def test_two_fetchers_racing_for_one_mail_make_one_ticket(desk):
    """Both find the mail new and make a ticket; the ledger's unique key undoes the second's
    whole transaction (PostgreSQL: it waits for the first's commit, then fails; SQLite: the
    second waits for the write lock and then sees the mail taken)."""
    import threading

    from itsmdesk.models import db

    mail = raw("new_plain.eml")
    results, errors = [], []
    barrier = threading.Barrier(2)
    real_take = intake._take

    def slow_take(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        row = real_take(*args, **kwargs)
        try:
            barrier.wait(timeout=2)  # (both inside their transaction at once where they can be)
        except threading.BrokenBarrierError:
            pass
        return row

    def run() -> None:
        try:
            results.append(intake.take_in(mail))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            db.close()

    intake._take = slow_take
    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        intake._take = real_take
    assert errors == []
    assert sorted(r.duplicate for r in results) == [False, True]
    assert len({r.ticket_id for r in results}) == 1
    assert Incident.select().count() == 1 and MailMessage.select().count() == 1
    assert Person.select().where(Person.email == "alice@example.com").count() == 1


def test_mail_intake_replays_from_the_journal(desk):
    """Everything intake writes (tickets, people, notes, files, the ledger, a reopen, the
    unmatched queue) is rebuilt from the journal alone: sync and replicas stand on it."""
    from tests.test_replay import _diff, _rebuild

    intake.take_in(raw("new_plain.eml"))
    intake.take_in(raw("outlook_reply_cc.eml"))
    intake.take_in(raw("bounce.eml"))
    rules.save_rules([])
    waiting = intake.take_in(raw("koi8r.eml"))
    intake.discard(waiting.mail_id, None)
    intake.take_in(raw("cp1252.eml"))
    before, after, _report = _rebuild()
    assert before["mail_message"] and _diff(before, after) == []
