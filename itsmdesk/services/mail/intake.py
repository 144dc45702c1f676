"""A mail becomes a ticket, a note on one, or waits for an agent, exactly once.

:func:`take_in` does it in one transaction: the mail ledger row (``MailMessage``, its Message-ID
unique: a hash of the raw mail when it has none) is written together with the ticket, its
attachments, the original ``.eml`` and the notes, so a mail seen again (fetched a second time
after a crash, imported twice, delivered once per address it was sent to) is recognised and
changes nothing.  Two fetchers racing for one mail: the second's insert fails on the unique key,
its whole transaction is undone and it reports the mail as already taken.

What a mail becomes:

* an auto-reply, a bounce, a mailing-list mail or our own mail coming back: nothing (a ledger
  row says why);
* a reply (its In-Reply-To/References name a mail of a ticket, or its subject a ticket's
  reference ``[INC-000123]``): a public work-log note from the sender on that ticket; a ticket
  closed at most ``mail.reopen_days`` ago is reopened, an older one gets a follow-up ticket
  whose parent is the old one;
* a new mail a rule matches (:mod:`.rules`): an incident or a request from the sender (a person
  found by address, or a new requester), channel e-mail;
* any other: the unmatched queue (raw mail kept) until an agent makes a ticket or discards it.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import uuid
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

import peewee as pw

from itsmdesk import config
from itsmdesk.config import Settings
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.incident import CLOSED_STATUSES, Attachment, Incident, WorkLog
from itsmdesk.models.mail import MailMessage
from itsmdesk.models.mail_outbox import MailOutbox
from itsmdesk.models.people import Person
from itsmdesk.services import records
from itsmdesk.services.attachment_files import safe_name
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.mail import account
from itsmdesk.services.mail import rules as mail_rules
from itsmdesk.services.mail.parsing import ParsedMail, automatic_reason, parse, reply_text
from itsmdesk.services.permissions import require

NO_SUBJECT = "(no subject)"


@dataclass(frozen=True)
class IntakeSettings:
    """The settings intake reads for every mail, read once per fetch (not once per mail)."""

    own_domain: str
    own_addresses: frozenset[str]
    rules: tuple[mail_rules.MailRule, ...]
    reopen_days: int
    files: Settings

    @classmethod
    def read(cls, settings: Settings | None = None) -> IntakeSettings:
        return cls(account.own_domain(), frozenset(account.own_addresses()),
                   tuple(mail_rules.rules()), _reopen_days(), settings or Settings.from_env())


@dataclass(frozen=True)
class IntakeResult:
    """What became of one mail.  ``duplicate``: it had been taken before (nothing changed)."""

    key: str
    status: str
    mail_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    ticket_ref: str | None = None
    duplicate: bool = False
    reason: str | None = None
    subject: str = ""


def _result(row: MailMessage, duplicate: bool = False) -> IntakeResult:
    ref = (Incident.select(Incident.ref).where(Incident.id == row.ticket_id).scalar()
           if row.ticket_id else None)
    return IntakeResult(row.message_key, row.status, row.id, row.ticket_id, ref, duplicate,
                        row.reason, row.subject)


def is_taken(key: str) -> bool:
    return MailMessage.select().where(MailMessage.message_key == key).exists()


def take_in(raw: bytes, actor: Actor = SYSTEM, settings: Settings | None = None,
            now: dt.datetime | None = None, config_: IntakeSettings | None = None
            ) -> IntakeResult:
    """Take one raw mail in (see the module's docstring); safe to call again with the same mail.
    ``config_``: the intake settings read once for a batch of mails."""
    require(actor, "ticket.work")
    mail = parse(raw)
    existing = MailMessage.get_or_none(MailMessage.message_key == mail.key)
    if existing is not None:
        return _result(existing, duplicate=True)
    try:
        with records.atomic():
            existing = MailMessage.get_or_none(MailMessage.message_key == mail.key)
            if existing is not None:  # (taken meanwhile, by a fetcher that got the lock first)
                return _result(existing, duplicate=True)
            return _result(_take(mail, actor, config_ or IntakeSettings.read(settings),
                                 (now or utcnow()).replace(microsecond=0)))
    except pw.IntegrityError:
        existing = MailMessage.get_or_none(MailMessage.message_key == mail.key)
        if existing is None:
            raise
        return _result(existing, duplicate=True)


def park(raw: bytes, reason: str, actor: Actor = SYSTEM) -> IntakeResult:
    """A mail that could not be taken in (a rule naming a category since removed, a sender
    address too long...) waits in the unmatched queue with the reason, instead of being tried
    again on every fetch."""
    mail = parse(raw)
    try:
        with records.atomic():
            existing = MailMessage.get_or_none(MailMessage.message_key == mail.key)
            if existing is not None:
                return _result(existing, duplicate=True)
            return _result(_ledger(mail, "unmatched", actor, utcnow().replace(microsecond=0),
                                   reason=reason, keep_raw=True))
    except pw.IntegrityError:
        existing = MailMessage.get_or_none(MailMessage.message_key == mail.key)
        if existing is None:
            raise
        return _result(existing, duplicate=True)


def _ledger(mail: ParsedMail, status: str, actor: Actor, now: dt.datetime,
            ticket: Incident | None = None, reason: str | None = None,
            keep_raw: bool = False) -> MailMessage:
    return records.create(MailMessage, {
        "message_key": mail.key, "direction": "in", "status": status,
        "ticket": ticket.id if ticket else None, "ticket_kind": ticket.kind if ticket else None,
        "received_at": now, "sent_at": mail.date, "subject": mail.subject[:500],
        "sender": mail.sender[:254], "sender_name": (mail.sender_name or None) and mail.sender_name[:200],
        "recipients": mail.recipients_text or None, "in_reply_to": mail.in_reply_to,
        "reference_keys": " ".join(mail.references) or None,
        "body_text": mail.text if status != "ignored" else mail.text[:2000],
        "reason": reason[:300] if reason else None, "raw": mail.raw if keep_raw else None,
    }, actor)


def _take(mail: ParsedMail, actor: Actor, conf: IntakeSettings, now: dt.datetime
          ) -> MailMessage:
    settings = conf.files
    reason = automatic_reason(mail, conf.own_domain, conf.own_addresses)
    if reason:
        return _ledger(mail, "ignored", actor, now, reason=reason)
    ticket = thread_ticket(mail)
    if ticket is not None:
        return _reply(mail, ticket, actor, settings, now, conf.reopen_days)
    rule = next((r for r in conf.rules if r.matches(mail)), None)
    if rule is None:
        return _ledger(mail, "unmatched", actor, now, reason="no rule matched", keep_raw=True)
    ticket = create_ticket(mail, mail_rules.resolve(rule), actor, settings, now)
    return _ledger(mail, "ticket", actor, now, ticket)


def thread_ticket(mail: ParsedMail) -> Incident | None:
    """The ticket a reply belongs to: by the mails it answers, else by the reference in its
    subject."""
    keys = mail.thread_keys
    if keys:
        found_by_key = {r.message_key: r.ticket_id for r in
                        MailMessage.select(MailMessage.message_key, MailMessage.ticket)
                        .where(MailMessage.message_key.in_(keys)
                               & MailMessage.ticket.is_null(False))}
        for key in keys:  # (the mail it answers directly first, then up its references)
            if key in found_by_key:
                return Incident.get_or_none(Incident.id == found_by_key[key])
        for key in keys:  # our own Message-IDs name the ticket: itsmdesk.INC-000123.<uuid>@...
            parts = key.split(".")
            if len(parts) > 2 and parts[0] == "itsmdesk":
                found = Incident.get_or_none(Incident.ref == parts[1].upper())
                if found is not None:
                    return found
    for ref in mail.ticket_refs:
        found = Incident.get_or_none(Incident.ref == ref)
        if found is not None:
            return found
    return None


def requester(mail: ParsedMail, actor: Actor) -> Person | None:
    """The person who sent the mail: found by address (any case), else a new requester."""
    if not mail.sender or "@" not in mail.sender:
        return None
    person = Person.get_or_none(pw.fn.LOWER(Person.email) == mail.sender)
    if person is not None:
        return person
    name = (mail.sender_name or mail.sender.split("@", 1)[0]).strip()[:200] or mail.sender
    return records.create(Person, {"name": name, "email": mail.sender}, actor)


def _note(ticket: Incident, text: str, actor: Actor, author: Person | None = None,
          public: bool = True) -> None:
    records.add_child(WorkLog, {"incident": ticket.id,
                                "author": author.id if author else actor.person_id,
                                "public": public, "text": text}, actor)


def _mail_heading(mail: ParsedMail) -> str:
    who = f"{mail.sender_name} <{mail.sender}>" if mail.sender_name else mail.sender
    return f"{who}: {mail.subject or NO_SUBJECT}"


def _keep_files(ticket: Incident, mail: ParsedMail, actor: Actor, settings: Settings) -> None:
    """The mail's attachments and the original ``.eml`` on the ticket (each within the
    attachment size limit; one too large is named in a private note instead)."""
    limit = settings.max_attachment_bytes
    rows = []
    too_large = []
    original = safe_name((mail.subject or "mail")[:80]) + ".eml"
    files = [(safe_name(p.filename), p.mime_type, p.data) for p in mail.attachments]
    files.append((original, "message/rfc822", mail.raw))
    for name, mime, data in files:
        if len(data) > limit:
            too_large.append((name, len(data)))
            continue
        mime = mime if mime and mime != "application/octet-stream" else (
            mimetypes.guess_type(name)[0] or "application/octet-stream")
        rows.append({"incident": ticket.id, "filename": name, "mime_type": mime[:128],
                     "size": len(data), "data": data, "added_by": actor.person_id})
    for row in rows:
        records.add_child(Attachment, row, actor)
    for name, size in too_large:
        _note(ticket, f"Attachment {name} ({size} bytes) was not kept: attachments may be at "
                      f"most {limit} bytes.", actor, public=False)


def create_ticket(mail: ParsedMail, values: dict[str, Any], actor: Actor, settings: Settings,
                  now: dt.datetime, parent: Incident | None = None) -> Incident:
    """A new incident or request from ``mail`` (``values``: kind, category, team...)."""
    from itsmdesk.services.servicedesk.incidents import create_incident

    caller = requester(mail, actor)
    description = mail.text.strip()
    if parent is not None:
        description = f"Follow-up of {parent.ref}\n\n{reply_text(mail.text)}"
    ticket = create_incident({**values, "title": (mail.subject or NO_SUBJECT)[:300],
                              "description": description or None,
                              "caller": caller.id if caller else None, "channel": "email",
                              "opened_at": now, "parent": parent.id if parent else None}, actor)
    _keep_files(ticket, mail, actor, settings)
    return ticket


def _reopen_days() -> int:
    try:
        return int(records.get_setting(config.MAIL_REOPEN_DAYS.key, config.MAIL_REOPEN_DAYS.default))
    except (TypeError, ValueError):
        return config.MAIL_REOPEN_DAYS.default


def _reply(mail: ParsedMail, ticket: Incident, actor: Actor, settings: Settings,
           now: dt.datetime, reopen_days: int) -> MailMessage:
    from itsmdesk.services.servicedesk.incidents import allowed_statuses, transition

    author = requester(mail, actor)
    text = f"{_mail_heading(mail)}\n\n{reply_text(mail.text)}"
    if ticket.status in CLOSED_STATUSES:
        closed = ticket.closed_at or ticket.resolved_at or ticket.updated_at
        recent = closed is not None and now - closed <= dt.timedelta(days=reopen_days)
        if recent and "in_progress" in allowed_statuses(ticket):
            ticket = transition(ticket.id, None, "in_progress", actor, now=now)
            _note(ticket, text, actor, author)
            _keep_files(ticket, mail, actor, settings)
            return _ledger(mail, "reopened", actor, now, ticket)
        old = ticket
        ticket = create_ticket(mail, {"kind": old.kind, "category": old.category_id,
                                      "team": old.team_id}, actor, settings, now, parent=old)
        _note(old, f"Follow-up {ticket.ref}: {_mail_heading(mail)}", actor, author)
        return _ledger(mail, "followup", actor, now, ticket)
    _note(ticket, text, actor, author)
    _keep_files(ticket, mail, actor, settings)
    return _ledger(mail, "note", actor, now, ticket)


# -- the unmatched queue ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MailLine:
    id: uuid.UUID
    version: int
    status: str
    direction: str
    received_at: dt.datetime
    sent_at: dt.datetime | None
    sender: str
    sender_name: str | None
    subject: str
    text: str
    reason: str | None
    recipients: str = ""  # (who a mail we sent went to)


def _line(row: MailMessage) -> MailLine:
    return MailLine(row.id, row.version, row.status, row.direction, row.received_at, row.sent_at,
                    row.sender, row.sender_name, row.subject, row.body_text or "", row.reason,
                    row.recipients or "")


_LINE_FIELDS = (MailMessage.id, MailMessage.version, MailMessage.status, MailMessage.direction,
                MailMessage.received_at, MailMessage.sent_at, MailMessage.sender,
                MailMessage.sender_name, MailMessage.subject, MailMessage.body_text,
                MailMessage.reason, MailMessage.recipients)


def unmatched(limit: int = 500) -> list[MailLine]:
    """Mails waiting for an agent, oldest first."""
    rows = (MailMessage.select(*_LINE_FIELDS).where(MailMessage.status == "unmatched")
            .order_by(MailMessage.received_at, MailMessage.sent_at, MailMessage.id).limit(limit))
    return [_line(r) for r in rows]


def unmatched_count() -> int:
    return MailMessage.select().where(MailMessage.status == "unmatched").count()


def mail_thread(ticket_id: Any) -> list[MailLine]:
    """The mails of a ticket, in and out, oldest first: the ledger's (what came in, and the
    notifications sent), and the notifications still in the outbox (queued, or failed:
    ``status`` says which; ``received_at`` is when they were queued)."""
    rows = list(MailMessage.select(*_LINE_FIELDS, MailMessage.message_key)
                .where(MailMessage.ticket == ticket_id)
                .order_by(MailMessage.received_at, MailMessage.sent_at, MailMessage.id))
    lines = [_line(r) for r in rows]
    keys = {r.message_key for r in rows}
    outbox = (MailOutbox.select().where((MailOutbox.record_kind == records.kind_of(Incident))
                                        & (MailOutbox.record_id == ticket_id))
              .order_by(MailOutbox.created_at, MailOutbox.id))
    for row in outbox:
        if row.message_id.strip("<>") in keys:
            continue  # (sent: the ledger has it)
        status = "queued" if row.status == "sending" else row.status
        lines.append(MailLine(row.id, row.version, status, "out",
                              row.sent_at or row.created_at, None, "", None, row.subject,
                              row.body, row.last_error,
                              formataddr((row.to_name or "", row.to_address))))
    return sorted(lines, key=_thread_order)


def _thread_order(line: MailLine) -> tuple[dt.datetime, dt.datetime]:
    """When it came in or went out, then (in the same second) the mail's own Date: the mail a
    ticket was made of before the "received" notice sent at once, a notice before the reply."""
    return line.received_at, line.sent_at or line.received_at


def _waiting(mail_id: Any, version: int | None) -> MailMessage:
    row = records.get(MailMessage, mail_id)
    if row.status != "unmatched":
        raise ValidationError(N_("This mail is no longer waiting in the unmatched queue (it is "
                                 "{status}); nothing was changed."), status=row.status)
    if version is not None:
        records.check_version(MailMessage, mail_id, version)
    return row


def ticket_from_unmatched(mail_id: Any, version: int | None, values: dict[str, Any],
                          actor: Actor = SYSTEM, settings: Settings | None = None) -> IntakeResult:
    """An agent makes a ticket of a mail in the unmatched queue (``values``: kind and, if
    wanted, category and team)."""
    require(actor, "ticket.work")
    kind = values.get("kind", "incident")
    if kind not in mail_rules.KINDS:
        raise ValidationError(N_("A mail becomes an incident or a request, not {value}"),
                              field="kind", value=kind)
    now = utcnow().replace(microsecond=0)
    with records.atomic():
        row = _waiting(mail_id, version)
        mail = parse(bytes(row.raw or b""))
        ticket = create_ticket(mail, {k: v for k, v in values.items() if v is not None},
                               actor, settings or Settings.from_env(), now)
        row = records.update(MailMessage, row.id, None, {
            "status": "ticket", "ticket": ticket.id, "ticket_kind": ticket.kind, "raw": None,
            "reason": None}, actor)
    return _result(row)


def discard(mail_id: Any, version: int | None, actor: Actor = SYSTEM) -> None:
    """An agent discards a mail of the unmatched queue (its raw mail is not kept)."""
    require(actor, "ticket.work")
    with records.atomic():
        row = _waiting(mail_id, version)
        records.update(MailMessage, row.id, None, {"status": "discarded", "raw": None}, actor)


def record_outgoing(message_id: str, ticket_id: Any, subject: str, recipients: str,
                    sender: str, actor: Actor = SYSTEM, text: str = "",
                    at: dt.datetime | None = None) -> MailMessage:
    """A mail we sent about a ticket (for the outgoing side): replies to it thread by its id.
    ``at``: when it was sent (default now)."""
    key = message_id.strip().strip("<>")
    ticket = records.get(Incident, ticket_id)
    with records.atomic():
        return records.create(MailMessage, {
            "message_key": key, "direction": "out", "status": "sent", "ticket": ticket.id,
            "ticket_kind": ticket.kind,
            "received_at": (at or utcnow()).replace(microsecond=0),
            "subject": subject[:500], "sender": sender[:254], "recipients": recipients,
            "body_text": text}, actor)


def our_message_id(ticket_ref: str | None = None) -> str:
    """A Message-ID for a mail we send; it names the ticket so a reply threads even if the
    ledger has no row for it: ``<itsmdesk.INC-000123.<hex>@domain>``."""
    middle = f"{ticket_ref}." if ticket_ref else ""
    return f"<itsmdesk.{middle}{uuid.uuid4().hex}@{account.own_domain()}>"
