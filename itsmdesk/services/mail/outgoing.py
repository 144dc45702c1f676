"""Outgoing mail: the outbox and the sender that delivers it after the commit.

Queueing
    :func:`enqueue` creates a :class:`~itsmdesk.models.mail_outbox.MailOutbox` row through the
    write funnel, inside the write that has something to tell (a ticket resolved, an outage
    announced).  A write that rolls back takes its mail with it: nobody hears of what did not
    happen.  Nothing is queued while no SMTP server is set (``mail.smtp.host``): mails would
    only pile up.

Delivery (:func:`send_queued`, ``itsmdesk mail send-queued``, the app's timer)
    Due rows (``queued`` and ``not_before`` passed, or ``sending`` for longer than
    :data:`STALE_CLAIM`: a claim moves ``not_before`` that far ahead) are claimed one by one with a versioned update (``sending``; a second
    sender running at the same time gets a conflict and skips the row), handed to the SMTP
    server, and then marked ``sent`` with a line in the history of the record the mail is about
    ("notification 'resolved' sent to x@y at ...").  A refusal the server calls temporary
    (4xx, a dropped connection) puts the row back with a backoff (1, 2, 4 ... 60 minutes); a
    permanent one (5xx) or :data:`MAX_ATTEMPTS` attempts mark it ``failed``, in the history too.

Exactly once, nearly
    Every row has its Message-ID from the moment it is queued.  If the sender dies after the
    server accepted the message but before the row was marked sent, the row is claimed again
    after :data:`STALE_CLAIM` and the message goes out a second time *with the same Message-ID*,
    which mail clients and most servers use to drop the duplicate.

SMTP settings (``mail.smtp.*``) and the password (the keyring, else
``$ITSMDESK_SMTP_PASSWORD``) are read from :mod:`.account`, the one place both halves of mail
keep their servers.  Message-IDs are intake's (:func:`.intake.our_message_id`: they name the
ticket), and a mail about a ticket goes into the mail ledger when it is sent
(:func:`.intake.record_outgoing`), so a reply threads to its ticket by In-Reply-To and our own
mail coming back is known as ours.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from itsmdesk import config
from itsmdesk.errors import N_, ConflictError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.incident import Incident
from itsmdesk.models.mail import MailMessage
from itsmdesk.models.mail_outbox import MailOutbox
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.mail import account, intake
from itsmdesk.services.mail.account import MailAccount

# (the setting keys, for callers and tests; account.py reads them)
HOST, PORT, SECURITY, USER, FROM, CAFILE = (
    config.MAIL_SMTP_HOST.key, config.MAIL_SMTP_PORT.key, config.MAIL_SMTP_SECURITY.key,
    config.MAIL_SMTP_USER.key, config.MAIL_SMTP_FROM.key, config.MAIL_SMTP_CAFILE.key)
SECURITIES = account.SECURITIES
MAX_ATTEMPTS = 8
STALE_CLAIM = dt.timedelta(minutes=15)
TIMEOUT = 20  # seconds for the SMTP connection and each command


# -- settings ---------------------------------------------------------------------------------------
def smtp_settings() -> MailAccount | None:
    """The SMTP account to send by (None when no host is set); see :mod:`.account`."""
    return account.sending_account()


def enabled() -> bool:
    """Whether mail is queued at all: only once an SMTP server is set."""
    return account.smtp_enabled()


# -- queueing ---------------------------------------------------------------------------------------
def enqueue(event: str, to_address: str, subject: str, body: str, *, to_name: str | None = None,
            person_id: Any = None, language: str = "en", about: Any = None,
            not_before: dt.datetime | None = None, ics: str | None = None,
            ical: tuple[str, int, str] | None = None, actor: Actor = SYSTEM) -> MailOutbox:
    """Queue one message in the caller's write (journalled; rolled back with it).

    ``about``: the record the mail is about (its history gets the sent/failed line).
    ``ical``: (UID, SEQUENCE, METHOD) of the invitation in ``ics``."""
    ref = getattr(about, "ref", None) if isinstance(about, Incident) else None
    values: dict[str, Any] = {
        "message_id": intake.our_message_id(ref), "event": event,
        "to_address": to_address.strip(), "to_name": to_name, "person": person_id,
        "language": language, "subject": subject[:500], "body": body,
        "not_before": (not_before or utcnow()).replace(microsecond=0), "ics": ics,
    }
    if about is not None:
        values["record_kind"] = records.kind_of(type(about))
        values["record_id"] = about.id
    if ical is not None:
        values["ical_uid"], values["ical_sequence"], values["ical_method"] = ical
    return records.create(MailOutbox, values, actor)


# -- the message ------------------------------------------------------------------------------------
def build_message(row: MailOutbox, sender: str) -> EmailMessage:
    """The MIME message of an outbox row: text, and the invitation as text/calendar."""
    msg = EmailMessage()
    msg["Message-ID"] = row.message_id
    msg["From"] = sender
    msg["To"] = formataddr((row.to_name or "", row.to_address))
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at.replace(tzinfo=dt.UTC))
    msg["Auto-Submitted"] = "auto-generated"  # (RFC 3834: no vacation replies to the desk)
    msg["X-Itsmdesk-Event"] = row.event  # (intake knows its own mail coming back by it)
    msg.set_content(row.body)
    if row.ics:
        method = row.ical_method or "REQUEST"
        msg.add_alternative(row.ics, subtype="calendar", params={"method": method})
        msg.add_attachment(row.ics.encode("utf-8"), maintype="application", subtype="ics",
                           filename="invite.ics" if method != "CANCEL" else "cancel.ics")
    msg["Content-Language"] = row.language  # (after the content: setting it clears Content-*)
    return msg


# -- delivery ---------------------------------------------------------------------------------------
def connect(settings: MailAccount) -> smtplib.SMTP:
    """An SMTP session, secured as the settings say, logged in when there is a user (the
    password from :func:`.account.password`)."""
    context = ssl.create_default_context(cafile=settings.cafile or None)
    port = settings.effective_port
    if settings.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, port, timeout=TIMEOUT,
                                              context=context)
    else:
        smtp = smtplib.SMTP(settings.host, port, timeout=TIMEOUT)
        if settings.security == "starttls":
            smtp.starttls(context=context)
    secret = account.password(settings) if settings.user else None
    if settings.user and secret:
        smtp.login(settings.user, secret)
    return smtp


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


@dataclass
class SendResult:
    sent: list[str] = field(default_factory=list)  # addresses
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None  # the server could not be reached at all


def due(now: dt.datetime, limit: int = 200) -> list[MailOutbox]:
    """Rows to send at ``now``: queued ones whose time came, and claims a sender left behind
    (a claim moves ``not_before`` :data:`STALE_CLAIM` ahead)."""
    return list(MailOutbox.select().where(MailOutbox.status.in_(("queued", "sending"))
                                          & (MailOutbox.not_before <= now))
        .order_by(MailOutbox.not_before, MailOutbox.created_at).limit(limit))


def _subject_model(kind: str | None) -> Any:
    from itsmdesk.models import ALL_MODELS

    for model in ALL_MODELS:
        if kind and records.kind_of(model) == kind and hasattr(model, "version"):
            return model
    return None


def _history_line(row: MailOutbox, text: str) -> None:
    model = _subject_model(row.record_kind)
    if model is not None and row.record_id is not None \
            and model.select().where(model.id == row.record_id).exists():
        records.note(model, row.record_id, "mail", text)


def _mark(row: MailOutbox, changes: dict[str, Any], history: str | None,
          sender: str | None = None, at: dt.datetime | None = None) -> None:
    """Mark the row (and, once sent, put a mail about a ticket in the mail ledger: replies
    to it thread by its Message-ID, the ticket's Mail tab lists it)."""
    with records.atomic():
        records.update(MailOutbox, row.id, None, changes)
        if history:
            _history_line(row, history)
        if sender is not None and changes.get("status") == "sent":
            _ledger(row, sender, at)


def _ledger(row: MailOutbox, sender: str, at: dt.datetime | None) -> None:
    if row.record_kind != records.kind_of(Incident) or row.record_id is None:
        return
    key = row.message_id.strip().strip("<>")
    if MailMessage.select().where(MailMessage.message_key == key).exists():
        return  # (sent again after a crash: the ledger has it)
    if not Incident.select().where(Incident.id == row.record_id).exists():
        return
    to = formataddr((row.to_name or "", row.to_address))
    intake.record_outgoing(row.message_id, row.record_id, row.subject, to, sender,
                           text=row.body, at=at)


def _claim(row: MailOutbox, now: dt.datetime) -> MailOutbox | None:
    try:
        with records.atomic():
            return records.update(MailOutbox, row.id, row.version,
                                  {"status": "sending", "attempts": row.attempts + 1,
                                   "not_before": now + STALE_CLAIM})
    except ConflictError:  # another sender took it
        return None


def _what(row: MailOutbox) -> str:
    return f"'{row.event}'" + (f" (sequence {row.ical_sequence})" if row.ical_uid else "")


def send_queued(now: dt.datetime | None = None, limit: int = 200,
                settings: MailAccount | None = None,
                connector: Callable[[MailAccount], smtplib.SMTP] = connect) -> SendResult:
    """Deliver the due outbox rows (see the module's docstring); one SMTP session."""
    now = (now or utcnow()).replace(microsecond=0)
    result = SendResult()
    rows = due(now, limit)
    if not rows:
        return result
    settings = settings or smtp_settings()
    if settings is None:
        result.error = "no SMTP server is set (mail.smtp.host)"
        return result
    try:
        smtp = connector(settings)
    except (OSError, smtplib.SMTPException) as exc:
        result.error = f"{settings.host}:{settings.effective_port}: {exc}"
        return result
    try:
        for row in rows:
            claimed = _claim(row, now)
            if claimed is None:
                continue
            try:
                smtp.send_message(build_message(claimed, settings.from_address),
                                  settings.from_address, [claimed.to_address])
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException,
                    smtplib.SMTPRecipientsRefused, OSError) as exc:
                code = _code(exc)
                text = _error_text(exc)
                if (code is not None and 500 <= code < 600) or claimed.attempts >= MAX_ATTEMPTS:
                    _mark(claimed, {"status": "failed", "last_error": text},
                          f"notification {_what(claimed)} to {claimed.to_address} failed: {text}")
                    result.failed.append(claimed.to_address)
                else:
                    _mark(claimed, {"status": "queued", "last_error": text,
                                    "not_before": now + _backoff(claimed.attempts)}, None)
                    result.retrying.append(claimed.to_address)
                if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
                    break  # the session is gone; the rest waits for the next run
                continue
            _mark(claimed, {"status": "sent", "sent_at": now, "last_error": None},
                  f"notification {_what(claimed)} sent to {claimed.to_address} at "
                  f"{now:%Y-%m-%d %H:%M} UTC", sender=settings.from_address, at=now)
            result.sent.append(claimed.to_address)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return result


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _m in exc.recipients.values()]
        return max(codes) if codes else None
    return None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return f"{exc.smtp_code} {message}"[:500]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                         for c, m in exc.recipients.values())[:500]
    return (str(exc) or type(exc).__name__)[:500]


def check_smtp(to_address: str | None = None, settings: MailAccount | None = None,
              connector: Callable[[MailAccount], smtplib.SMTP] = connect) -> str:
    """Connect, log in and (with ``to_address``) send a test message straight away (not
    through the outbox).  Returns what was done; raises ValidationError with the reason."""
    settings = settings or smtp_settings()
    if settings is None:
        raise ValidationError(N_("No SMTP server is set: set {key} first"), key=HOST)
    server = f"{settings.host}:{settings.effective_port}"
    try:
        smtp = connector(settings)
        try:
            if to_address:
                msg = EmailMessage()
                msg["From"] = settings.from_address
                msg["To"] = to_address
                msg["Subject"] = "itsmdesk: test mail"
                msg["Message-ID"] = intake.our_message_id()
                msg["X-Itsmdesk-Event"] = "test"
                msg.set_content("This is a test mail from itsmdesk: the SMTP settings work.")
                smtp.send_message(msg, settings.from_address, [to_address])
        finally:
            smtp.quit()
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise ValidationError(N_("The SMTP server {server} did not accept the test: {reason}"),
                              server=server, reason=_error_text(exc)) from None
    return server


@dataclass(frozen=True)
class OutboxLine:
    id: uuid.UUID
    created_at: dt.datetime
    event: str
    to_address: str
    subject: str
    status: str
    attempts: int
    not_before: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None
    message_id: str


def outbox(status: str | None = None, limit: int = 200) -> list[OutboxLine]:
    """The outbox, newest first (for ``itsmdesk mail outbox``)."""
    query = MailOutbox.select()
    if status:
        query = query.where(MailOutbox.status == status)
    return [OutboxLine(r.id, r.created_at, r.event, r.to_address, r.subject, r.status, r.attempts,
                       r.not_before, r.sent_at, r.last_error, r.message_id)
            for r in query.order_by(MailOutbox.created_at.desc(), MailOutbox.id).limit(limit)]
