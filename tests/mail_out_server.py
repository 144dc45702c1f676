"""A real SMTP server on loopback for the outgoing-mail tests (aiosmtpd), recording what it
receives; it can refuse the next messages with a temporary error, and speak STARTTLS with a
self-signed certificate made here."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every message; ``refuse`` holds replies for the next DATA."""

    messages: list[Received] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.refuse:
            return self.refuse.pop(0)
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files): the IMAP tests' own."""
    from mail_helpers import self_signed as make

    return make(tmp)


class SmtpServer:
    """Start with ``with SmtpServer() as server:``; ``server.port``, ``server.messages``."""

    def __init__(self, tls: tuple[Path, Path] | None = None, implicit: bool = False) -> None:
        """``tls``: (certificate, key); STARTTLS required, or with ``implicit`` TLS from the
        first byte (SMTPS)."""
        self.recorder = Recorder()
        self.port = free_port()
        kwargs = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            kwargs = ({"ssl_context": context} if implicit
                      else {"tls_context": context, "require_starttls": True})
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                     **kwargs)

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.controller.stop()
