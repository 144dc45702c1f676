"""The process tests/test_crash_kill9.py kills with SIGKILL at random points.

It writes forever, in a random order: incidents created and edited (services), CSV imports of
CIs (the CLI), backups and restores (the CLI).  Before a write it prints ``begin ...`` and after
the write committed ``ack ...`` (flushed), so the test knows which writes were acknowledged
(they must survive) and which one was in flight (it may or may not have landed, never half).

    python tests/crash_worker.py URL FOLDER TRIAL SEED
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path


def main() -> None:
    url, folder, trial, seed = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rnd = random.Random(seed)

    import peewee as pw

    from itsmdesk.cli import main as cli
    from itsmdesk.models import Incident
    from itsmdesk.models import db as proxy
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.services.session import open_database

    def say(*words: object) -> None:
        sys.stdout.flush()  # (the CLI's own output first; then the whole line in one write)
        os.write(1, (" ".join(map(str, words)) + "\n").encode())

    def run_cli(*args: str) -> int:
        proxy.obj.close()  # (restore needs the file to itself; the CLI opens its own)
        try:
            return cli(["--db", url, *args])
        finally:
            proxy.obj.close()
            open_database(url)

    open_database(url)
    backups: list[Path] = []
    say("ready")
    for n in range(1, 10_000):
        key = f"T{trial}-{n}"
        op = rnd.choice(["create"] * 4 + ["edit"] * 3 + ["import"] * 2 + ["backup", "restore"])
        if op == "create":
            say("begin create", key, key)
            incidents.create_incident({"title": key, "external_key": key})
            say("ack create", key, key)
        elif op == "edit":
            inc = Incident.select().order_by(pw.fn.Random()).first()
            if inc is None:
                continue
            title = f"{inc.external_key} edited {n}"
            say("begin edit", inc.external_key, title)
            incidents.update_incident(inc.id, inc.version, {"title": title})
            say("ack edit", inc.external_key, title)
        elif op == "import":
            rows = [f"srv-{key}-{i},server,in_production,K-{key}-{i}" for i in range(3)]
            path = folder / f"{key}.csv"
            path.write_text("name,class,status,external_key\n" + "\n".join(rows) + "\n")
            keys = " ".join(f"K-{key}-{i}" for i in range(3))
            say("begin import", keys)
            if run_cli("import", "cis", str(path), "--quiet") == 0:
                say("ack import", keys)
        elif op == "backup":
            target = folder / "backups" / f"b-{key}.db"
            say("begin backup", target)
            if run_cli("backup", str(target)) == 0:
                backups.append(target)
                say("ack backup", target)
        elif op == "restore" and backups:
            source = rnd.choice(backups)
            say("begin restore", source)
            if run_cli("restore", str(source)) == 0:
                say("ack restore", source)


if __name__ == "__main__":
    main()
