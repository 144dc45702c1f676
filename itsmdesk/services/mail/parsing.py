"""One raw mail (RFC 5322 bytes) read into what intake needs: who, what about, which thread,
the readable text, the attachments, and whether it is an auto-reply or a bounce.

Written for mail as it comes, not as the RFCs say it should: a declared charset that is wrong
or unknown, 8-bit text with no charset at all (UTF-8 if it decodes, else windows-1252, which
every byte decodes in), a multipart without its closing boundary, base64 that does not decode:
each gives what can be read and never an exception.  No Qt, no database.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from itsmdesk.services.mail.html_text import html_to_text

MAX_KEY = 500
_MSGID = re.compile(r"<([^<>\s]+)>")
# [INC-000123], [REQ-OSL-000001] in a subject
TICKET_REF = re.compile(r"\[((?:INC|REQ)(?:-[A-Z0-9]{2,8})?-\d{3,})\]", re.IGNORECASE)
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


@dataclass
class MailPart:
    filename: str
    mime_type: str
    data: bytes


@dataclass
class ParsedMail:
    raw: bytes
    key: str  # the Message-ID without brackets, or sha256:<hash of the raw mail>
    message_id: str | None
    subject: str
    sender: str  # address, lower case
    sender_name: str
    to: list[str]
    cc: list[str]
    date: dt.datetime | None  # UTC, naive
    in_reply_to: str | None
    references: list[str]
    text: str
    attachments: list[MailPart] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, decoded
    defects: list[str] = field(default_factory=list)

    @property
    def thread_keys(self) -> list[str]:
        """The mails this one answers, nearest first."""
        keys = ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))
        return list(dict.fromkeys(keys))

    @property
    def ticket_refs(self) -> list[str]:
        return [m.upper() for m in TICKET_REF.findall(self.subject)]

    @property
    def recipients_text(self) -> str:
        return ", ".join(self.to + [f"cc {a}" for a in self.cc])


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text of ``data`` in ``charset``; an unknown or wrong one (or none) falls back to UTF-8,
    then windows-1252."""
    tried = []
    if charset:
        charset = charset.strip().strip('"').lower()
        if charset in ("unknown-8bit", "x-unknown", "us-ascii", "ascii"):
            charset = None
    for name in (charset, "utf-8"):
        if not name or name in tried:
            continue
        tried.append(name)
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


def _unsurrogate(text: str) -> str:
    """A header read as ASCII with surrogate escapes (raw 8-bit bytes) decoded properly."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("ascii", "surrogateescape"), None)


def header_text(value: object) -> str:
    """A header's text: RFC 2047 words decoded, raw 8-bit read as UTF-8 or windows-1252."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    try:
        parts = decode_header(_unsurrogate(text))
    except Exception:  # noqa: BLE001 - a broken encoded word: keep the text as it is
        return _unsurrogate(text)
    out = []
    for chunk, charset in parts:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return " ".join("".join(out).replace("\x00", "").split())


def _msgids(text: str) -> list[str]:
    return [m for m in _MSGID.findall(text or "") if len(m) <= MAX_KEY]


def _address(value: str) -> tuple[str, str]:
    pairs = getaddresses([value]) if value else []
    name, addr = pairs[0] if pairs else ("", "")
    return header_text(name).strip().strip('"'), addr.strip().lower()


def _addresses(msg: Message, name: str) -> list[str]:
    values = [header_text(v) for n, v in msg.raw_items() if n.lower() == name]
    return [a.lower() for _n, a in getaddresses(values) if a]


def _payload(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - bad base64 / quoted-printable
        data = None
    if data is None:
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
        defects.append("undecodable body part")
    for defect in getattr(part, "defects", []):
        defects.append(type(defect).__name__)
    return data


def _filename(part: Message) -> str | None:
    name = part.get_param("filename", None, "content-disposition") or part.get_param("name")
    if name is None:
        return None
    if isinstance(name, tuple):  # RFC 2231: (charset, language, value)
        name = decode_bytes(name[2].encode("latin-1", "replace")
                            if isinstance(name[2], str) else name[2], name[0])
    return header_text(name) or None


def _walk(msg: Message, texts: list[str], htmls: list[str], parts: list[MailPart],
          defects: list[str], depth: int = 0) -> None:
    """Text, HTML and files of ``msg``; a forwarded mail (message/rfc822) is kept as an
    ``.eml`` file and its text read too."""
    for defect in msg.defects:
        defects.append(type(defect).__name__)
    ctype = msg.get_content_type()
    if ctype == "message/rfc822" and depth < 10:
        inner = msg.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if isinstance(inner, Message):
            try:
                data = inner.as_bytes()
            except Exception:  # noqa: BLE001 - a forwarded mail too broken to write back
                data = b""
            name = _filename(msg) or (header_text(inner.get("Subject")) or "forwarded") + ".eml"
            parts.append(MailPart(name if name.lower().endswith(".eml") else name + ".eml",
                                  "message/rfc822", data))
            _walk(inner, texts, htmls, [], defects, depth + 1)
        return
    if msg.is_multipart():
        payload = msg.get_payload()
        for part in payload if isinstance(payload, list) else []:
            if isinstance(part, Message):
                _walk(part, texts, htmls, parts, defects, depth + 1)
        return
    disposition = header_text(msg.get("Content-Disposition")).split(";")[0].strip().lower()
    filename = _filename(msg)
    if disposition == "attachment" or (filename and ctype not in ("text/plain", "text/html")):
        parts.append(MailPart(filename or "attachment.bin", ctype, _payload(msg, defects)))
    elif ctype == "text/plain":
        texts.append(decode_bytes(_payload(msg, defects), msg.get_content_charset()))
    elif ctype == "text/html":
        htmls.append(decode_bytes(_payload(msg, defects), msg.get_content_charset()))
    elif not ctype.startswith(("multipart/", "message/")) and ctype != "text/rfc822-headers":
        if ctype.startswith("text/"):
            return  # (calendar parts, delivery reports' text: not the mail's words)
        parts.append(MailPart(filename or f"part.{ctype.rsplit('/', 1)[-1]}", ctype,
                              _payload(msg, defects)))


def parse(raw: bytes) -> ParsedMail:
    """Read ``raw`` (never raises for a malformed mail)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    defects: list[str] = []
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():  # (raw: 8-bit bytes kept as surrogate escapes)
        headers.setdefault(name.lower(), header_text(value))
    ids = _msgids(headers.get("message-id", ""))
    message_id = ids[0] if ids else None
    key = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    name, sender = _address(headers.get("from", ""))
    date = None
    try:
        parsed = parsedate_to_datetime(headers.get("date", "")) if headers.get("date") else None
        if parsed is not None:
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            date = parsed.replace(microsecond=0)
    except (TypeError, ValueError, IndexError):
        date = None
    texts: list[str] = []
    htmls: list[str] = []
    parts: list[MailPart] = []
    try:
        _walk(msg, texts, htmls, parts, defects)
    except Exception as exc:  # noqa: BLE001 - a structure the email package cannot walk: keep
        defects.append(f"unreadable MIME structure ({type(exc).__name__})")  # what was read
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text and htmls:
        text = "\n\n".join(html_to_text(h) for h in htmls)
    in_reply = _msgids(headers.get("in-reply-to", ""))
    return ParsedMail(
        raw=raw, key=key, message_id=message_id, subject=headers.get("subject", "").strip(),
        sender=sender, sender_name=name, to=_addresses(msg, "to"), cc=_addresses(msg, "cc"),
        date=date, in_reply_to=in_reply[0] if in_reply else None,
        references=_msgids(headers.get("references", "")),
        text=text.replace("\r\n", "\n").replace("\x00", ""),  # (PostgreSQL stores no NUL)
        attachments=parts, headers=headers, defects=defects)


def automatic_reason(mail: ParsedMail, own_domain: str = "",
                     own_addresses: frozenset[str] | set[str] = frozenset()) -> str | None:
    """Why this mail must never make a ticket (an auto-reply, a bounce, a list, our own mail
    come back), or None for a mail a person wrote."""
    h = mail.headers
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = h.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-reply"):
        if name in h:
            return name
    if "x-itsmdesk-ticket" in h or "x-itsmdesk" in h:
        return "our own mail (X-Itsmdesk header)"
    local = mail.sender.split("@", 1)[0]
    if local in _BOUNCE_SENDERS or (not mail.sender and h.get("return-path", "").strip() == "<>"):
        return f"bounce from {mail.sender or '<>'}"
    if "report-type=delivery-status" in h.get("content-type", "").replace(" ", "").lower():
        return "delivery status report"
    mid = (mail.message_id or "").lower()
    if mid.startswith("itsmdesk.") and (not own_domain or mid.endswith("@" + own_domain)):
        return "our own mail (Message-ID domain)"
    if mail.sender and mail.sender in own_addresses:
        return "our own address"
    return None


_QUOTE_START = re.compile(
    r"^(On .{1,200} wrote:|Le .{1,200} a écrit ?:|Am .{1,200} schrieb .*:|Den .{1,200} skrev .*:|"
    r"-{2,} ?Original Message ?-{2,}|-{2,} ?Ursprungligt meddelande ?-{2,}|"
    r"_{10,})\s*$", re.IGNORECASE)
_OUTLOOK_HEADER = re.compile(r"^(From|Från|Von|De):\s", re.IGNORECASE)


def reply_text(text: str) -> str:
    """A reply's own words: the quoted mail below it left out (Gmail's "On ... wrote:",
    Outlook's "From: ... Sent: ..." block, "> " lines)."""
    lines = text.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _QUOTE_START.match(stripped):
            break
        if _OUTLOOK_HEADER.match(stripped) and any(
                re.match(r"^(Sent|Skickat|Gesendet|Envoyé|Date|Datum):", s.strip(), re.IGNORECASE)
                for s in lines[i + 1:i + 3]):
            break
        if stripped.startswith(">"):
            continue
        out.append(line)
    own = "\n".join(out).strip()
    return own or text.strip()
