"""kill -9 of `itsmdesk sync` at random moments, many times: run again, the same result as an
uninterrupted sync; the replica's file sound (integrity_check, hash chain); no batch applied
twice at the hub; every offline edit on the hub."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from itsmdesk.models import journal_guard
from itsmdesk.models.incident import Incident
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.session import open_database
from itsmdesk.services.sync import engine, ops
from itsmdesk.services.sync.replica import create_replica
from tests.test_sync_basic import _dump, on


def _sync_process(replica_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ITSMDESK_LANG": "en",
           "ITSMDESK_SYNC_GROUP_ROWS": "1"}  # many hub transactions: many places to be killed
    return subprocess.Popen([sys.executable, "-m", "itsmdesk", "--db",
                             f"sqlite:///{replica_path}", "sync"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sync_killed_at_random_points(tmp_path):
    rng = random.Random(1805)
    hub, info = open_database(f"sqlite:///{tmp_path / 'hub.db'}")
    made = [incidents.create_incident({"title": f"hub {n}"}).id for n in range(20)]
    path = tmp_path / "osl.db"
    create_replica(info.url, "OSL", path)
    replica, _ = open_database(f"sqlite:///{path}")
    expected: dict = {}
    kills = 0
    try:
        for trial in range(8):
            with on(replica, "OSL"):
                for n in range(300):
                    record = made[rng.randrange(len(made))]
                    title = f"oslo {trial}-{n}"
                    incidents.update_incident(record, None, {"title": title})
                    expected[record] = title
            replica.close()
            process = _sync_process(path)
            time.sleep(rng.uniform(0.45, 1.0))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            _out, err = process.communicate(timeout=60)
            assert process.returncode in (0, -signal.SIGKILL), err.decode()
            replica, _ = open_database(f"sqlite:///{path}")
            assert replica.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert journal_guard.first_broken(replica) is None
        engine.sync_with(replica, hub)
        assert kills >= 4, "the syncs ended before they could be killed: make them longer"
        assert _dump(replica) == _dump(hub)
        with on(hub):
            markers = [(r.record_id, r.batch) for r in JournalEntry.select().where(
                JournalEntry.field == ops.SYNCED)]
            assert len(markers) == len(set(markers)) == 8 * 300
            for record, title in expected.items():
                assert Incident.get_by_id(record).title == title
    finally:
        replica.close()
        hub.close()
