"""Mail intake benchmark: ``mail_intake``.

1,000 mails in a real IMAP mailbox (dovecot on loopback, started here as the tests start it:
``tests/mail_helpers.py``) taken in by ``imap_fetch.fetch`` into a fresh SQLite database: each
mail parsed, a requester found or made, a ticket with the original ``.eml`` attached, the
ledger row, one transaction per mail, then marked done on the server.  The baseline is a plain
``imaplib`` fetch of the same mails (``UID SEARCH ALL``, ``UID FETCH BODY.PEEK[]`` in the same
chunks, nothing parsed or stored): what the network and the server cost on their own.

Ours includes making the fresh database and taking the done marks off the server before each
run (a few per cent; ``reset_ms`` says how much).
"""

from __future__ import annotations

import imaplib
import tempfile
import time
from pathlib import Path

from bench.runner import BenchContext, Benchmark

MAILS = 1000


def _mail(n: int) -> bytes:
    return (f"From: Person {n % 150} <person{n % 150}@example.com>\r\n"
            f"To: desk@desk.example.com\r\nSubject: Something broke, case {n}\r\n"
            f"Message-ID: <bench.{n}@example.com>\r\nDate: Mon, 02 Nov 2026 09:00:00 +0100\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + "The application stops when I press save. " * 12 + f"\r\nCase {n}.\r\n").encode()


def _setup(ctx: BenchContext) -> None:
    from tests.mail_helpers import Dovecot

    folder = Path(tempfile.mkdtemp(prefix="itsmdesk-bench-mail-"))
    server = Dovecot(folder / "imap").start()
    ctx.state["server"], ctx.state["folder"], ctx.state["run"] = server, folder, 0
    conn = server.client()
    for n in range(MAILS):
        conn.append("INBOX", None, None, _mail(n))
    conn.logout()
    import atexit

    atexit.register(server.stop)


def _reset(ctx: BenchContext) -> None:
    from itsmdesk.services import records
    from itsmdesk.services.mail import account, rules
    from itsmdesk.services.mail.account import MailAccount
    from itsmdesk.services.session import open_database
    from tests.mail_helpers import USER

    server = ctx.state["server"]
    conn = server.client()
    conn.select("INBOX")
    conn.store("1:*", "-FLAGS.SILENT", "($ItsmdeskDone \\Seen)")
    conn.logout()
    ctx.state["run"] += 1
    path = ctx.state["folder"] / f"run{ctx.state['run']}.db"
    open_database(f"sqlite:///{path}")
    account.save_account(MailAccount("imap", host="127.0.0.1", port=server.port,
                                     security="none", user=USER))
    rules.save_rules([{"match": "to", "value": "desk@desk.example.com", "kind": "incident"}])
    records.set_setting("mail.smtp.from", "desk@desk.example.com")


def _ours(ctx: BenchContext) -> int:
    from itsmdesk.services.mail import imap_fetch
    from tests.mail_helpers import PASSWORD

    started = time.perf_counter()
    _reset(ctx)
    ctx.state["reset_ms"] = round((time.perf_counter() - started) * 1000, 1)
    report = imap_fetch.fetch(password=PASSWORD)
    return report.count("ticket")


def _baseline(ctx: BenchContext) -> int:
    from itsmdesk.services.mail.imap_fetch import CHUNK
    from tests.mail_helpers import PASSWORD, USER

    conn = imaplib.IMAP4("127.0.0.1", ctx.state["server"].port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    _typ, data = conn.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    count = 0
    for start in range(0, len(uids), CHUNK):
        _typ, data = conn.uid("FETCH", b",".join(uids[start:start + CHUNK]), "(UID BODY.PEEK[])")
        count += sum(1 for item in data if isinstance(item, tuple))
    conn.logout()
    return count


def _same(ours: int, base: int) -> None:
    assert ours == base == MAILS, f"{ours} tickets, {base} mails fetched"


def _extra(ctx: BenchContext) -> dict:
    return {"mails": MAILS, "reset_ms": ctx.state.get("reset_ms")}


BENCHMARKS = [
    Benchmark("mail_intake", ours=_ours, baseline=_baseline, setup=_setup, check=_same,
              repeat=3, warmup=0, own_database=True, interleave=False, extra=_extra,
              note="1,000 mails from dovecot on loopback into tickets (fresh SQLite, one "
                   "transaction per mail, marked done after each commit) vs a plain imaplib "
                   "fetch of the same mails"),
]
