"""kill -9 at random points of a process importing, editing, backing up and restoring
(tests/crash_worker.py): after every kill the database is sound, ``itsmdesk check`` finds
nothing, nothing is doubled, every acknowledged write is there, and what a killed backup left is
never taken for a backup."""

from __future__ import annotations

import copy
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import peewee as pw

from itsmdesk.models import CI, Incident, JournalEntry
from itsmdesk.services import backup as backups
from itsmdesk.services.maintenance import check
from itsmdesk.services.session import open_database

TRIALS = 12
WORKER = Path(__file__).with_name("crash_worker.py")


class Expected:
    """What the acknowledged writes say the database holds, and the write in flight."""

    def __init__(self) -> None:
        self.titles: dict[str, str] = {}  # incident external key -> title
        self.cis: set[str] = set()
        self.snapshots: dict[str, tuple[dict, set]] = {}

    def state(self) -> tuple[dict, set]:
        return copy.deepcopy(self.titles), set(self.cis)

    def apply(self, words: list[str]) -> None:
        what = words[0]
        if what in ("create", "edit"):
            self.titles[words[1]] = " ".join(words[2:])
        elif what == "import":
            self.cis |= set(words[1:])
        elif what == "backup":
            self.snapshots[words[1]] = self.state()
        elif what == "restore":
            self.titles, self.cis = copy.deepcopy(self.snapshots[words[1]])

    def possible(self, in_flight: list[str] | None) -> list[tuple[dict, set]]:
        """The states the database may be in: as acknowledged, or with the write in flight."""
        states = [self.state()]
        if in_flight and in_flight[0] in ("create", "edit", "import", "restore"):
            other = Expected()
            other.titles, other.cis = self.state()
            other.snapshots = self.snapshots
            other.apply(in_flight)
            states.append(other.state())
        return states


def _run_trial(url: str, folder: Path, trial: int, rnd: random.Random, expected: Expected) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, str(WORKER), url, str(folder), str(trial),
                             str(rnd.randrange(1 << 30))], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if not line.endswith("\n"):
                break  # cut short by the kill: never acknowledged
            lines.append(line.rstrip("\n"))
            if line.startswith("ready"):
                ready.set()
        ready.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert ready.wait(30), proc.stderr.read()
    time.sleep(rnd.uniform(0.05, 1.2))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    errors = proc.stderr.read()
    assert "Traceback" not in errors, errors
    in_flight = None
    for line in lines:
        words = line.split(" ")
        if words[0] == "begin":
            in_flight = words[1:]
        elif words[0] == "ack":
            expected.apply(words[1:])
            in_flight = None
    try:
        _verify(url, folder, expected, in_flight)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nthe worker's last lines: {lines[-8:]}") from None


def _verify(url: str, folder: Path, expected: Expected, in_flight: list[str] | None) -> None:
    path = folder / "crash.db"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()
    database, info = open_database(url)
    try:
        assert [str(p) for p in check(info)] == []
        for model in (Incident, CI):  # nothing doubled: one record per key, one write per version
            keys = model.select(model.external_key).where(model.external_key.is_null(False))
            assert keys.count() == keys.distinct().count()
            created = (JournalEntry.select().where((JournalEntry.record_kind == model.RECORD_KIND)
                                                   & (JournalEntry.field == "*created*")).count())
            assert created == model.select().count()
        writes = dict(JournalEntry.select(JournalEntry.record_id,
                                          pw.fn.COUNT(JournalEntry.batch.distinct()))
                      .where(JournalEntry.record_kind == Incident.RECORD_KIND)
                      .group_by(JournalEntry.record_id).tuples())
        for inc in Incident.select(Incident.id, Incident.version):
            assert writes[inc.id] == inc.version
        titles = {k: t for k, t in Incident.select(Incident.external_key, Incident.title).tuples()}
        cis = {k for (k,) in CI.select(CI.external_key).tuples() if k}
        want = expected.possible(in_flight)
        assert (titles, cis) in want, _diff(in_flight, (titles, cis), want[0])
        expected.titles, expected.cis = titles, cis  # (the write in flight landed, or did not)
    finally:
        database.close()
    for backup in (folder / "backups").iterdir():
        if backups.is_temp_name(backup):
            continue  # what a killed backup left: removed by the next, refused by restore
        backups.verify(backup)  # a file named as a backup is a whole, sound one


def _diff(in_flight, got, want) -> str:  # noqa: ANN001
    (titles, cis), (w_titles, w_cis) = got, want
    return (f"in flight {in_flight}; titles differing "
            f"{ {k: (titles.get(k), w_titles.get(k)) for k in set(titles) | set(w_titles) if titles.get(k) != w_titles.get(k)} }; "
            f"CIs only in the database {cis - w_cis}, only expected {w_cis - cis}")


def test_kill9_at_random_points_loses_and_doubles_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    (tmp_path / "backups").mkdir()
    database, _info = open_database(url)
    database.close()
    rnd = random.Random(int(os.environ.get("ITSMDESK_CRASH_SEED", "20261205")))
    expected = Expected()
    for trial in range(TRIALS):
        _run_trial(url, tmp_path, trial, rnd, expected)
    assert expected.titles and expected.cis  # (the trials did write)
