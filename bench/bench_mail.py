"""Outgoing mail benchmark: ``mail_send_200`` (own database; needs aiosmtpd, a test extra).

Ours: 200 mails queued in one write through the write funnel, then delivered by
``outgoing.send_queued`` (per mail: a claim and a mark through the funnel, a history line on
nothing here, one SMTP session).  Baseline: the same 200 messages handed straight to the same
loopback SMTP server with smtplib in one session, no database.  The ratio is what the outbox
(queueing after the commit, claims, marks, the journal) costs over sending blind.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from bench.runner import BenchContext, Benchmark

N = 200
LATER = dt.datetime(2099, 1, 1)


def _setup(ctx: BenchContext) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from mail_out_server import SmtpServer

    from itsmdesk.services import records
    from itsmdesk.services.mail import outgoing

    server = SmtpServer().__enter__()
    ctx.state["mail_server"] = server
    with records.atomic():
        records.set_setting(outgoing.HOST, "127.0.0.1")
        records.set_setting(outgoing.PORT, str(server.port))
        records.set_setting(outgoing.SECURITY, "none")
        records.set_setting(outgoing.FROM, "desk@example.org")


def _ours(ctx: BenchContext) -> int:
    from itsmdesk.services import records
    from itsmdesk.services.mail import outgoing

    with records.atomic():
        for i in range(N):
            outgoing.enqueue("received", f"user{i}@example.org", f"Ticket {i} received",
                             "We have received your ticket.")
    return len(outgoing.send_queued(LATER, limit=N).sent)


def _base(ctx: BenchContext) -> int:
    from itsmdesk.services.mail import outgoing

    settings = outgoing.smtp_settings()
    smtp = outgoing.connect(settings)
    for i in range(N):
        msg = EmailMessage()
        msg["From"] = settings.from_address
        msg["To"] = f"user{i}@example.org"
        msg["Subject"] = f"Ticket {i} received"
        msg.set_content("We have received your ticket.")
        smtp.send_message(msg, settings.from_address, [f"user{i}@example.org"])
    smtp.quit()
    return N


def _same(ours: int, base: int) -> None:
    assert ours == base == N, f"{ours} vs {base}"


BENCHMARKS = [
    Benchmark("mail_send_200", _ours, _base, setup=_setup, check=_same, repeat=5,
              own_database=True,
              note="200 mails queued through the funnel and delivered by the outbox sender "
                   "vs the same 200 sent straight with smtplib (loopback aiosmtpd)"),
]
