"""Import benchmark: ``import_eventlog`` — the full UCI ServiceNow event log (141,712 rows) folded
into 24,918 incidents with their history, through the shipped mapping, into a FRESH SQLite
database in a temporary folder (never the shared large database).

Baseline: the plainest read of the same file with the csv module (rows and distinct numbers).
The CSV comes from $ITSMDESK_UCI_CSV, else it is unzipped once from
../shared/data/uci-servicenow-incident-log/incident_event_log.csv.zip into the cache folder;
without either the benchmark prints a skip line.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from bench.runner import BenchContext, Benchmark

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT.parent / "shared" / "data" / "uci-servicenow-incident-log" / "incident_event_log.csv.zip"
MAPPING = ROOT / "resources" / "import-maps" / "servicenow-eventlog.toml"


def find_csv() -> Path | None:
    given = os.environ.get("ITSMDESK_UCI_CSV")
    if given and Path(given).is_file():
        return Path(given)
    from itsmdesk.config import cache_dir

    target = cache_dir() / "incident_event_log.csv"
    if target.is_file():
        return target
    if not ZIP.is_file():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(ZIP) as archive, archive.open("incident_event_log.csv") as src, \
            open(target.with_suffix(".partial"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    target.with_suffix(".partial").rename(target)
    return target


def _setup(ctx: BenchContext) -> None:
    path = find_csv()
    ctx.state["uci_csv"] = path
    if path is None:
        print("import_eventlog: SKIPPED — no UCI event log: set ITSMDESK_UCI_CSV or put "
              f"{ZIP} in place", flush=True)


def _ours(ctx: BenchContext) -> tuple[int, int] | None:
    path = ctx.state.get("uci_csv")
    if path is None:
        return None
    from itsmdesk.models import db
    from itsmdesk.services.importing.mapped import run_import
    from itsmdesk.services.session import open_database

    folder = Path(tempfile.mkdtemp(prefix="itsmdesk-bench-import-"))
    try:
        database, _info = open_database(f"sqlite:///{folder / 'import.db'}")
        try:
            report = run_import("incidents", path, MAPPING)
        finally:
            database.close()
            db.initialize(ctx.database)  # give the proxy back to the runner's database
        assert report.applied and not report.errors, report.summary()
        return report.rows_read, report.created
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _baseline(ctx: BenchContext) -> tuple[int, int] | None:
    path = ctx.state.get("uci_csv")
    if path is None:
        return None
    rows = 0
    numbers = set()
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            rows += 1
            numbers.add(row[0])
    return rows, len(numbers)


def _same(ours, base) -> None:  # noqa: ANN001
    assert ours == base, f"imported {ours} (rows, incidents) but the file has {base}"


BENCHMARKS = [
    Benchmark("import_eventlog", ours=_ours, baseline=_baseline, setup=_setup, check=_same,
              repeat=1, warmup=0, own_database=True,
              note="141,712 event rows -> 24,918 incidents + history, fresh SQLite; target <= 30 s"),
]
