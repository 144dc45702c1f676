"""Mail from the Service Desk's IMAP mailbox (IMAPS or STARTTLS; plain only for loopback tests).

Exactly once, whatever crashes when: a mail is fetched with ``BODY.PEEK[]`` (nothing changes on
the server), taken in (:func:`intake.take_in`: ticket and ledger row in one transaction,
committed), and only then marked done on the server (the keyword ``$ItsmdeskDone`` and
``\\Seen``; or moved to ``mail.imap.done_folder``).  Killed before the commit: nothing was
written and the mail is still not done, so the next fetch takes it.  Killed between the commit
and the mark: the next fetch finds the Message-ID in the ledger, takes nothing and marks it.
The keyword, not ``\\Seen``, says what is done, so a person reading the mailbox in a mail
program does not hide mail from the desk (a server without keywords falls back to ``\\Seen``).
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from itsmdesk.errors import N_, DatabaseBusyError, DatabaseUnavailableError, ItsmError
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.mail import account as accounts
from itsmdesk.services.mail.account import MailAccount, MailServerError
from itsmdesk.services.mail.intake import IntakeResult, IntakeSettings, park, take_in
from itsmdesk.services.permissions import require
from itsmdesk.services.session import as_domain_error

DONE_KEYWORD = "$ItsmdeskDone"
CHUNK = 25  # mails per FETCH round trip
_UID = re.compile(rb"UID (\d+)")


@dataclass
class FetchReport:
    found: int = 0
    results: list[IntakeResult] = field(default_factory=list)

    def count(self, status: str | None = None, duplicate: bool | None = None) -> int:
        return sum(1 for r in self.results if (status is None or r.status == status)
                   and (duplicate is None or r.duplicate == duplicate))


def _fail(acc: MailAccount, exc: BaseException) -> MailServerError:
    reason = str(exc).strip() or type(exc).__name__
    if isinstance(exc, bytes):
        reason = exc.decode("utf-8", "replace")
    return MailServerError(N_("The mail server {host}:{port} could not be used: {reason}"),
                           host=acc.host, port=acc.effective_port, reason=reason)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(acc: MailAccount, password: str | None = None, timeout: float = 30) -> imaplib.IMAP4:
    """A logged-in IMAP connection (a sentence naming the server and the reason otherwise)."""
    if not acc.configured:
        raise MailServerError(N_("No IMAP mailbox is set up: fill in the mail settings first"))
    context = ssl.create_default_context(cafile=acc.cafile or None)
    conn = None
    try:
        if acc.security == "ssl":
            conn = imaplib.IMAP4_SSL(acc.host, acc.effective_port, ssl_context=context,
                                     timeout=timeout)
        else:
            conn = imaplib.IMAP4(acc.host, acc.effective_port, timeout=timeout)
            if acc.security == "starttls":
                conn.starttls(ssl_context=context)
        if acc.user:
            secret = password if password is not None else accounts.password(acc)
            if secret is None:
                raise MailServerError(N_("No password is known for the mailbox {user}: enter it "
                                         "in the mail settings (it is kept in the keyring)"),
                                      user=acc.user)
            conn.login(acc.user, secret)
        return conn
    except MailServerError:
        _close(conn)
        raise
    except (TimeoutError, OSError, ssl.SSLError, imaplib.IMAP4.error) as exc:
        _close(conn)
        raise _fail(acc, exc) from None


def _close(conn: imaplib.IMAP4 | None) -> None:
    if conn is None:
        return
    try:
        conn.logout()
    except Exception:  # noqa: BLE001 - closing a broken connection
        pass


def _select(conn: imaplib.IMAP4, acc: MailAccount, readonly: bool = False) -> int:
    typ, data = conn.select(_quote(acc.folder), readonly=readonly)
    if typ != "OK":
        raise MailServerError(N_("The mailbox has no folder {folder}"), folder=acc.folder)
    return int(data[0] or 0)


def test_connection(acc: MailAccount, password: str | None = None) -> int:
    """Connect, log in and open the folder; the number of mails in it."""
    conn = connect(acc, password, timeout=15)
    try:
        return _select(conn, acc, readonly=True)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _fail(acc, exc) from None
    finally:
        _close(conn)


def _keywords_allowed(conn: imaplib.IMAP4) -> bool:
    flags = b" ".join(conn.untagged_responses.get("PERMANENTFLAGS", []) or [])
    return b"\\*" in flags or DONE_KEYWORD.encode() in flags


def _can_move(conn: imaplib.IMAP4) -> bool:
    typ, data = conn.capability()  # (after login: the server may offer more than before)
    return typ == "OK" and b"MOVE" in b" ".join(d for d in data if d).upper().split()


def _mark_done(conn: imaplib.IMAP4, uid: bytes, acc: MailAccount, keywords: bool,
               move: bool) -> None:
    flags = f"({DONE_KEYWORD} \\Seen)" if keywords else "(\\Seen)"
    conn.uid("STORE", uid, "+FLAGS.SILENT", flags)
    if acc.done_folder:
        if move:
            conn.uid("MOVE", uid, _quote(acc.done_folder))
        else:
            conn.uid("COPY", uid, _quote(acc.done_folder))
            conn.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
            conn.expunge()


def _messages(data: list) -> list[tuple[bytes, bytes]]:
    out = []
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = _UID.search(item[0])
            if match:
                out.append((match.group(1), item[1]))
    return out


def fetch(actor: Actor = SYSTEM, acc: MailAccount | None = None, password: str | None = None,
          limit: int | None = None, progress: Callable[[int, int], None] | None = None
          ) -> FetchReport:
    """Take in every mail of the folder not yet done (at most ``limit``)."""
    require(actor, "ticket.work")
    acc = acc or accounts.imap_account()
    conn = connect(acc, password)
    report = FetchReport()
    try:
        _select(conn, acc)
        keywords = _keywords_allowed(conn)
        move = bool(acc.done_folder) and _can_move(conn)
        typ, data = conn.uid("SEARCH", None, f"UNKEYWORD {DONE_KEYWORD}" if keywords else "UNSEEN")
        uids = (data[0] or b"").split() if typ == "OK" else []
        if limit is not None:
            uids = uids[:limit]
        report.found = len(uids)
        conf = IntakeSettings.read()
        for start in range(0, len(uids), CHUNK):
            chunk = uids[start:start + CHUNK]
            typ, data = conn.uid("FETCH", b",".join(chunk), "(UID BODY.PEEK[])")
            for uid, raw in _messages(data):
                try:
                    result = take_in(raw, actor, config_=conf)
                except Exception as exc:  # noqa: BLE001 - sorted just below
                    known = as_domain_error(exc)
                    if not isinstance(known, ItsmError) or isinstance(
                            known, (DatabaseUnavailableError, DatabaseBusyError)):
                        raise  # (a bug, a lost database: the mail stays for the next fetch)
                    # a mail that can never be taken as it is: parked for a person, with why
                    result = park(raw, known.message[:300], actor)
                report.results.append(result)
                _mark_done(conn, uid, acc, keywords, move)
                if progress:
                    progress(len(report.results), len(uids))
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _fail(acc, exc) from None
    finally:
        _close(conn)
    return report


def fetch_if_configured(actor: Actor = SYSTEM, limit: int | None = None) -> FetchReport | None:
    """The scheduled fetch (at most ``limit`` mails: the desktop fetches in small batches so
    the one writer thread is never held for long); None when no mailbox is set up."""
    acc = accounts.imap_account()
    if not acc.configured:
        return None
    return fetch(actor, acc, limit=limit)
