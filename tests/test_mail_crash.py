"""Exactly once through crashes: ``itsmdesk mail fetch`` killed with SIGKILL at random moments,
again and again, then run to the end: every mail of the mailbox made exactly one ticket and is
marked done on the server (none lost, none doubled).  On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from itsmdesk.models.incident import Incident
from itsmdesk.models.mail import MailMessage
from itsmdesk.services import records
from itsmdesk.services.mail import account, rules
from itsmdesk.services.mail.account import MailAccount
from tests.mail_helpers import PASSWORD, USER, Dovecot

MAILS = 30
ROOT = Path(__file__).resolve().parent.parent


def _mail(n: int) -> bytes:
    return (f"From: User {n} <user{n % 7}@example.com>\r\nTo: desk@desk.example.com\r\n"
            f"Subject: Problem number {n}\r\nMessage-ID: <crash.{n}@example.com>\r\n"
            f"Date: Mon, 02 Nov 2026 09:00:00 +0100\r\nContent-Type: text/plain\r\n\r\n"
            f"Something broke ({n}).\r\n").encode()


def test_kill_9_at_random_points_loses_and_doubles_nothing(db, tmp_path):
    server = Dovecot(tmp_path / "imap").start()
    try:
        account.save_account(MailAccount("imap", host="127.0.0.1", port=server.port,
                                         security="none", user=USER))
        rules.save_rules([{"match": "to", "value": "desk@desk.example.com", "kind": "incident"}])
        records.set_setting("mail.smtp.from", "desk@desk.example.com")
        server.append(*(_mail(n) for n in range(MAILS)))
        env = {**os.environ, "ITSMDESK_MAIL_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT),
               "ITSMDESK_USER": "", "ITSMDESK_DB": db.url}
        command = [sys.executable, "-m", "itsmdesk", "mail", "fetch"]
        rng = random.Random(20261205)
        killed_midway = 0
        started = time.monotonic()
        for _trial in range(40):
            before = MailMessage.select().count()
            proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            # wait until it has taken a random few more mails (its start-up takes a second on a
            # busy machine), then kill it a random moment later: inside a transaction, between
            # a commit and the mark on the server, or during the fetch of the next mails
            target = before + rng.randint(0, 3)
            while proc.poll() is None and MailMessage.select().count() < target:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.03))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            after = MailMessage.select().count()
            if proc.returncode == -signal.SIGKILL and before < after < MAILS:
                killed_midway += 1
            if after == MAILS or time.monotonic() - started > 20:
                break
        final = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=60)
        assert final.returncode == 0, final.stderr.decode()
        assert killed_midway >= 4, "no kill landed while mail was being taken in"
        keys = [m.message_key for m in MailMessage.select(MailMessage.message_key)]
        assert sorted(keys) == sorted(f"crash.{n}@example.com" for n in range(MAILS))
        titles = sorted(i.title for i in Incident.select(Incident.title))
        assert titles == sorted(f"Problem number {n}" for n in range(MAILS))  # none doubled
        flags = server.flags()
        assert len(flags) == MAILS and all(b"$ItsmdeskDone" in f for f in flags.values())
    finally:
        server.stop()


