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


# --- HP Service Manager changes: one row per change x affected CI ------------------------------

HPSM_CHANGES = ROOT / "resources" / "import-maps" / "hpsm-changes.toml"
HPSM_HEADER = ("CI Name (aff);CI Type (aff);CI Subtype (aff);Service Component WBS (aff);Change ID;"
               "Change Type;Risk Assessment;Emergency Change;CAB-approval needed;Planned Start;"
               "Planned End;Scheduled Downtime Start;Scheduled Downtime End;Actual Start;"
               "Actual End;Requested End Date;Change record Open Time;Change record Close Time;"
               "Originated from;# Related Interactions;# Related Incidents")
N_HPSM_CHANGES, N_HPSM_LINKS, N_HPSM_CIS = 18_000, 30_275, 10_000


def _hpsm_rows(links: bool) -> list[str]:
    """The testers' extract's shape and size, made up: 18,000 changes, 30,275 change x CI rows
    over 10,000 CIs (``links`` False: one row per change, for the baseline)."""
    import random

    rng = random.Random(19)
    subtypes = ["Web Based Application", "Linux Server", "Windows Server", "SAP", "Database"]
    per_change = [1] * N_HPSM_CHANGES
    for _ in range(N_HPSM_LINKS - N_HPSM_CHANGES):
        per_change[rng.randrange(N_HPSM_CHANGES)] += 1
    out = [HPSM_HEADER]
    for n, count in enumerate(per_change):
        day, month = 1 + n % 28, 1 + n // 28 % 12
        when = f"{day}-{month}-2013 {n % 24}:{n % 60:02d}"
        cis = rng.sample(range(N_HPSM_CIS), count) if links else [n % N_HPSM_CIS]
        for ci in cis:
            cells = [f"CI{ci:06d}", "application", subtypes[ci % 5], f"WBS{ci % 300:06d}",
                     f"C{n:08d}", "Change Component Request", "Minor Change",
                     "Y" if n % 50 == 0 else "N", "Y" if n % 3 else "N", when, when,
                     when if n % 7 == 0 else "", when if n % 7 == 0 else "", when, when, when,
                     when, when if n % 4 else "", "Problem", "", "1"]
            out.append(";".join(cells))
    return out


def _hpsm_setup(ctx: BenchContext) -> None:
    folder = Path(tempfile.mkdtemp(prefix="itsmdesk-bench-hpsm-"))
    ctx.state["hpsm_folder"] = folder
    for name, links in (("changes.csv", True), ("plain.csv", False)):
        (folder / name).write_text("\n".join(_hpsm_rows(links)) + "\n", encoding="utf-8")
    plain = HPSM_CHANGES.read_text(encoding="utf-8").split("[fields.affected_cis]")[0]
    (folder / "plain.toml").write_text(plain, encoding="utf-8")


def _hpsm_import(ctx: BenchContext, csv_name: str, mapping: Path) -> tuple[int, int]:
    from itsmdesk.models import db
    from itsmdesk.services.importing.mapped import run_import
    from itsmdesk.services.session import open_database

    folder = ctx.state["hpsm_folder"]
    target = folder / "import.db"
    for leftover in folder.glob("import.db*"):
        leftover.unlink()
    database, _info = open_database(f"sqlite:///{target}")
    try:
        dry = run_import("changes", folder / csv_name, mapping, dry_run=True)
        report = run_import("changes", folder / csv_name, mapping)
    finally:
        database.close()
        db.initialize(ctx.database)
    assert report.applied and not report.errors and dry.created == report.created
    return report.created, report.extra.get("affected_cis_added", 0)


def _hpsm_ours(ctx: BenchContext) -> tuple[int, int]:
    return _hpsm_import(ctx, "changes.csv", HPSM_CHANGES)


def _hpsm_baseline(ctx: BenchContext) -> tuple[int, int]:
    return _hpsm_import(ctx, "plain.csv", ctx.state["hpsm_folder"] / "plain.toml")


def _hpsm_same(ours, base) -> None:  # noqa: ANN001
    assert ours == (N_HPSM_CHANGES, N_HPSM_LINKS) and base[0] == N_HPSM_CHANGES, (ours, base)


BENCHMARKS.append(
    Benchmark("import_hpsm_changes", ours=_hpsm_ours, baseline=_hpsm_baseline, setup=_hpsm_setup,
              check=_hpsm_same, repeat=1, warmup=0, own_database=True, interleave=False,
              note="dry run + import of 30,275 change x CI rows -> 18,000 changes and their "
                   "30,275 affected CIs (baseline: the same changes, one row each, no CIs)"))
