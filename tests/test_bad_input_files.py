"""Bad input to files and the command line (issue 18, "Files and exports", "Bad input: CLI, Data"):
every refusal is a sentence with exit code 2, never the catch-all ``itsmdesk: error: Type:``."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import resource
import sqlite3
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from itsmdesk.cli import main
from itsmdesk.errors import ValidationError
from itsmdesk.services import csv_safe

CATCH_ALL = re.compile(r"^itsmdesk: error: [A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Warning|Overflow"
                       r"\w*|Interrupt|Exit|Iteration)?: ", re.M)
FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR",
            "'=already quoted", "''+two quotes", "plain", "a=b", "'just a quote"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_sentence(code, err, *words):
    """Exit 2, one 'itsmdesk: error:' line that is not the catch-all's 'Type:' form."""
    assert code == 2, err
    err = re.split(r"[\r\n]", err.strip())[-1]  # (after any progress line)
    assert err.startswith("itsmdesk: error: "), err
    assert not CATCH_ALL.search(err), err
    assert "ITSMDESK_DEBUG" not in err, err
    for word in words:
        assert word in err, (word, err)


@pytest.fixture
def sqlite_url(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'it.db'}"
    assert run(capsys, "--db", url, "init")[0] == 0
    return url


# --- CSV formula injection ---------------------------------------------------------------------

def test_csv_safe_neutralises_and_round_trips():
    for value in FORMULAS:
        out = csv_safe.cell(value)
        assert out[0] not in csv_safe.TRIGGERS, value
        assert csv_safe.restore(out) == value
    assert csv_safe.cell(-3) == -3 and csv_safe.cell(1.5) == 1.5 and csv_safe.cell(None) is None
    assert csv_safe.cell("=1") == "'=1" and csv_safe.cell("plain") == "plain"


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [c for r in csv.reader(handle) for c in r]


def _formula_cells(cells: list[str]) -> list[str]:
    return [c for c in cells if c and c[0] in csv_safe.TRIGGERS]


def test_export_cis_and_relations_neutralise_formulas_and_round_trip(capsys, tmp_path, sqlite_url):
    names = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd", "-2+3", "@SUM(A1)", "'=quoted", "plain"]
    source = tmp_path / "in.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["name", "class", "vendor", "description"])
        for n in names:
            w.writerow([n, "server", "=vendor()", "-desc"])
    code, out, err = run(capsys, "--db", sqlite_url, "import", "cis", source)
    assert code == 0, err
    rels = tmp_path / "rels.csv"
    rels.write_text("source,type,target\n\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",depends_on,"
                    "+cmd\n@SUM(A1),runs_on,-2+3\n", encoding="utf-8")
    code, out, err = run(capsys, "--db", sqlite_url, "import", "relations", rels)
    assert code == 0, err

    out_cis, out_rels = tmp_path / "cis-out.csv", tmp_path / "rels-out.csv"
    assert run(capsys, "--db", sqlite_url, "export", "cis", out_cis)[0] == 0
    assert run(capsys, "--db", sqlite_url, "export", "relations", out_rels)[0] == 0
    for path in (out_cis, out_rels):
        cells = _cells(path)
        assert not _formula_cells(cells), _formula_cells(cells)
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in _cells(out_cis)
    assert "'+cmd" in _cells(out_rels)

    # our export imported into a fresh database gives back the very same names and values
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run(capsys, "--db", fresh, "init")[0] == 0
    assert run(capsys, "--db", fresh, "import", "cis", out_cis)[0] == 0
    assert run(capsys, "--db", fresh, "import", "relations", out_rels)[0] == 0
    with sqlite3.connect(str(tmp_path / "fresh.db")) as con:
        got = {r[0]: (r[1], r[2]) for r in con.execute("SELECT name, vendor, description FROM ci")}
        n_rel = con.execute("SELECT count(*) FROM relation").fetchone()[0]
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as con:
        first = {r[0]: (r[1], r[2]) for r in con.execute("SELECT name, vendor, description FROM ci")}
    assert got == first
    # a hand-written '= (a spreadsheet's "text" mark) is read as the text after it
    assert set(got) == {n.removeprefix("'") for n in names}
    assert set(got.values()) == {("=vendor()", "-desc")}
    assert n_rel == 2


def test_availability_csv_neutralises_formulas(tmp_path):
    from itsmdesk.services.problem.availability import write_csv

    row = SimpleNamespace(name="=cmd|' /C calc'!A0", failures=1,
                          as_dict=lambda: {"downtime_h": 1.0, "mttr_h": 1.0, "mtbf_h": -1.0,
                                           "availability_pct": 99.0, "longest_h": 1.0})
    period = SimpleNamespace(start=dt.datetime(2026, 1, 1), end=dt.datetime(2026, 2, 1))
    report = SimpleNamespace(by="ci", rows=[row], period=period)
    path = tmp_path / "a.csv"
    write_csv(report, path)
    cells = _cells(path)
    assert "'=cmd|' /C calc'!A0" in cells
    assert "-1.0" in cells  # a number the app computed stays a number
    assert not [c for c in _formula_cells(cells) if c != "-1.0"]


def test_every_csv_writer_goes_through_csv_safe():
    """No module writes CSV past the helper (a new writer must use csv_safe.writer)."""
    root = Path(__file__).resolve().parents[1] / "itsmdesk"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "csv_safe.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"csv\.(writer|DictWriter)\(", text):
            offenders.append(str(path.relative_to(root)))
    assert not offenders


# --- attachments --------------------------------------------------------------------------------

def test_attachment_names_are_made_safe():
    from itsmdesk.services.attachment_files import NAME_MAX, safe_name

    assert safe_name("C:\\Users\\eve\\report.pdf") == "report.pdf"
    assert safe_name("/etc/passwd") == "passwd"
    assert safe_name("invoice\u202Efdp.exe") == "invoicefdp.exe"
    for bidi in "\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069\u200E\u200F\u061C":
        assert bidi not in safe_name(f"a{bidi}b.txt")
    assert safe_name("two\nlines\r\t.txt") == "twolines.txt"
    assert "<" not in safe_name("<b>bold</b>.html") and ">" not in safe_name("<img src=x>.png")
    assert safe_name("..") == "attachment" and safe_name("") == "attachment"
    long = safe_name("x" * 5000 + ".pdf")
    assert len(long) <= NAME_MAX and long.endswith(".pdf")


@pytest.mark.parametrize("text,expected", [("10MB", 10 * 1024 ** 2), ("512kB", 512 * 1024),
                                           ("1048576", 1048576), ("1.5 MiB", 1572864)])
def test_max_attachment_setting_takes_units(text, expected):
    from itsmdesk import config

    assert config.value(config.MAX_ATTACHMENT, {"ITSMDESK_MAX_ATTACHMENT": text}) == expected


@pytest.mark.parametrize("text", ["10XB", "0", "-5", "lots", "2GB", "1e9", "10MB; rm"])
def test_max_attachment_setting_refused_with_a_sentence(text):
    from itsmdesk import config

    with pytest.raises(ValidationError) as err:
        config.value(config.MAX_ATTACHMENT, {"ITSMDESK_MAX_ATTACHMENT": text})
    assert "ITSMDESK_MAX_ATTACHMENT" in str(err.value)


def _refused(path, limit=1024):
    from itsmdesk.services.attachment_files import read_limited

    with pytest.raises(ValidationError) as err:
        read_limited(path, limit)
    return str(err.value)


def test_attachment_devices_fifos_and_folders_refused(tmp_path):
    assert "not a regular file" in _refused("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "not a regular file" in _refused(fifo)  # (and does not block: opened non-blocking)
    assert "not a regular file" in _refused(tmp_path)
    assert "Cannot read" in _refused(tmp_path / "missing.bin")


def test_big_attachment_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:  # a sparse 1 GB file
        handle.truncate(1024 ** 3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    message = _refused(big, 10 * 1024 * 1024)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert "1073741824 bytes" in message and "at most 10485760" in message
    assert grown_kb < 50 * 1024  # not read into memory


def test_attachment_stored_with_a_safe_name(db, tmp_path):
    from itsmdesk.config import Settings
    from itsmdesk.models.incident import Attachment
    from itsmdesk.services.servicedesk import incidents

    inc = incidents.create_incident({"title": "printer"}) if hasattr(
        incidents, "create_incident") else None
    if inc is None:
        pytest.skip("no incident factory")
    raw = tmp_path / "evil\u202Etxt.exe"
    raw.write_bytes(b"12345")
    att = incidents.add_attachment(inc.id, raw, settings=Settings(max_attachment_bytes=5))
    assert Attachment.get_by_id(att.id).filename == "eviltxt.exe"
    raw.write_bytes(b"123456")
    with pytest.raises(ValidationError):
        incidents.add_attachment(inc.id, raw, settings=Settings(max_attachment_bytes=5))


# --- files created private --------------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_wal_and_backups_are_0600(capsys, tmp_path):
    old = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path / 'p.db'}"
        assert run(capsys, "--db", url, "init")[0] == 0
        assert _mode(tmp_path / "p.db") == 0o600
        assert run(capsys, "--db", url, "backup", tmp_path / "b.db")[0] == 0
        assert _mode(tmp_path / "b.db") == 0o600
        from itsmdesk.models.migrations import backup_sqlite

        assert _mode(backup_sqlite(tmp_path / "p.db", 1)) == 0o600
        # the WAL and shared-memory files SQLite makes next to it take the file's mode
        from itsmdesk.models.database import connect

        database, _info = connect(url)
        try:
            database.execute_sql("CREATE TABLE IF NOT EXISTS t_probe (x)")
            database.execute_sql("INSERT INTO t_probe VALUES (1)")
            wal, shm = tmp_path / "p.db-wal", tmp_path / "p.db-shm"
            assert wal.exists() and _mode(wal) == 0o600 and _mode(shm) == 0o600
        finally:
            database.close()
    finally:
        os.umask(old)


# --- CLI: dates, database URLs, other applications' files ------------------------------------

DATE_COMMANDS = [
    ["availability", "--from", "{d}"], ["availability", "--to", "{d}"],
    ["trends", "--from", "{d}"], ["trends", "--to", "{d}"],
    ["changes", "conflicts", "--from", "{d}"], ["changes", "conflicts", "--to", "{d}"],
    ["changes", "success-rate", "--from", "{d}"], ["changes", "success-rate", "--to", "{d}"],
    ["calendar", "export", "--from", "{d}", "--to", "{d}", "-o", "{tmp}/x.ics"],
]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "9999-12-31T23:59",
                                 "0001-01-01T00:00+14:00", "1899-12-31"])
def test_extreme_dates_are_sentences(capsys, tmp_path, sqlite_url, day):
    for command in DATE_COMMANDS:
        args = [a.format(d=day, tmp=tmp_path) for a in command]
        code, _out, err = run(capsys, "--db", sqlite_url, *args)
        assert_sentence(code, err, "outside the dates")


@pytest.mark.parametrize("url_part,words", [
    ("sqlite:////dev/null", ["not a regular file"]),
    ("sqlite:///{tmp}/a%00b.db", ["NUL"]),
    ("sqlite:///{tmp}/" + "x" * 5000 + ".db", ["at most 255 bytes"]),
    ("sqlite:///{tmp}/" + "/".join(["d" * 200] * 30) + "/x.db", ["4096"]),
])
def test_bad_sqlite_paths_are_sentences(capsys, tmp_path, url_part, words):
    url = url_part.format(tmp=tmp_path)
    for command in (["stats"], ["init"]):
        code, _out, err = run(capsys, "--db", url, *command)
        assert_sentence(code, err, *words)


def test_fifo_as_database_is_refused(capsys, tmp_path):
    fifo = tmp_path / "db.fifo"
    os.mkfifo(fifo)
    code, _out, err = run(capsys, "--db", f"sqlite:///{fifo}", "init")
    assert_sentence(code, err, "not a regular file")


def _master(path: Path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_another_applications_sqlite_file_is_refused_untouched(capsys, tmp_path):
    path = tmp_path / "theirs.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE incident (id INTEGER PRIMARY KEY, what TEXT)")
    con.execute("INSERT INTO incident (what) VALUES ('their data')")
    con.commit()
    con.close()
    before_master, before_bytes = _master(path), path.read_bytes()
    for command in (["stats"], ["init"], ["list", "incidents"]):
        code, _out, err = run(capsys, "--db", f"sqlite:///{path}", *command)
        assert_sentence(code, err, "not an itsmdesk database", "incident", "untouched")
        assert _master(path) == before_master
    assert path.read_bytes() == before_bytes  # not even switched to WAL
    assert not Path(f"{path}-wal").exists()


# --- passwords in messages ---------------------------------------------------------------------

@pytest.mark.parametrize("url,secret", [
    ("postgresql://u:p@ss@127.0.0.1:1/db", ["p@ss", "ss@"]),
    ("postgresql://u:p@ss@w0rd@127.0.0.1:1/db", ["p@ss", "ss@", "w0rd"]),
    ("postgresql://u:p/ss@127.0.0.1:1/db", ["p/ss", "ss@"]),
    ("postgresql://u:p@ss/w0rd@127.0.0.1:1/db", ["ss/", "w0rd"]),
    ("postgresql://u:p#ss@127.0.0.1:1/db", ["p#ss", "ss@"]),
    ("postgresql://u:p?ss@127.0.0.1:1/db", ["p?ss", "ss@"]),
    ("postgresql://u:s3cr:t@127.0.0.1:99999/db", ["s3cr", "cr:t"]),
    ("postgresql://u:secret@127.0.0.1:1/db?password=other", ["secret", "other"]),
])
def test_password_never_shown(capsys, url, secret):
    code, out, err = run(capsys, "--db", url, "stats")
    assert_sentence(code, err)
    for part in secret:
        assert part not in err + out, (part, err)


# --- data ----------------------------------------------------------------------------------

def test_huge_cell_is_a_sentence_naming_the_line(capsys, tmp_path, sqlite_url):
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["name", "class", "description"])
        w.writerow(["ok", "server", "fine"])
        w.writerow(["x", "server", "z" * 5_000_000])
    code, _out, err = run(capsys, "--db", sqlite_url, "import", "cis", path)
    assert_sentence(code, err, "line 3", "longer than")
    mapping = tmp_path / "m.toml"
    mapping.write_text('kind = "cis"\nkey = "name"\n[source]\ndelimiter = ","\n'
                       '[fields]\nname = "name"\nci_class = { value = "server" }\n',
                       encoding="utf-8")
    code, _out, err = run(capsys, "--db", sqlite_url, "import", "cis", path, "--map", mapping)
    assert_sentence(code, err, "line 3", "longer than")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as con:
        assert con.execute("SELECT count(*) FROM ci").fetchone()[0] == 0


INT_MAP = """kind = "incidents"
key = "Ticket"
[source]
delimiter = ";"
[fields]
title = "Summary"
impact = "Impact"
"""


@pytest.mark.parametrize("number", ["99999999999999999999999", "9223372036854775808",
                                    "2147483648", "-99999999999999999999", "1E999999999", "1e400"])
def test_integer_beyond_the_column_is_a_row_error(db, tmp_path, number):
    from itsmdesk.models.incident import Incident
    from itsmdesk.services.importing.mapped import run_import

    source = tmp_path / "x.csv"
    source.write_text(f"Ticket;Summary;Impact\nT-1;big;{number}\nT-2;fine;2\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text(INT_MAP, encoding="utf-8")
    report = run_import("incidents", source, mapping)
    assert [e.line for e in report.errors] == [2], report.errors
    assert "too large" in report.errors[0].reason
    assert Incident.select().count() == 0  # all or nothing


def test_min_members_up_beyond_the_column_is_a_row_error(db, tmp_path):
    from itsmdesk.models.cmdb import CI
    from itsmdesk.services.cmdb.cis import ensure_standard_classes
    from itsmdesk.services.cmdb.csv_io import import_csv

    ensure_standard_classes()
    path = tmp_path / "c.csv"
    path.write_text("name,class,min_members_up\nm,server,99999999999999999999999\n"
                    "n,server,2147483648\n", encoding="utf-8")
    report = import_csv("cis", path)
    assert [e.line for e in report.errors] == [2, 3] and CI.select().count() == 0


def test_nul_bytes_in_cells_are_dropped(db, tmp_path):
    from itsmdesk.models.cmdb import CI
    from itsmdesk.services.cmdb.cis import ensure_standard_classes
    from itsmdesk.services.cmdb.csv_io import import_csv

    ensure_standard_classes()
    path = tmp_path / "n.csv"
    path.write_text("name,class,description\nn\x00ul,server,x\x00y\n", encoding="utf-8")
    report = import_csv("cis", path)
    assert not report.errors
    assert [(c.name, c.description) for c in CI.select()] == [("nul", "xy")]


def test_nul_in_search_and_in_saved_text_is_a_sentence(db):
    from itsmdesk.services import search
    from itsmdesk.services.session import as_domain_error

    try:
        search.search_incidents("a\x00b")
        search.quick_open("a\x00b")
    except Exception as exc:  # noqa: BLE001 - what the CLI / the GUI would show
        assert isinstance(as_domain_error(exc), ValidationError), exc
    from itsmdesk.models.people import Team
    from itsmdesk.services import records

    try:
        records.create(Team, {"name": "nul\x00team"})
    except Exception as exc:  # noqa: BLE001
        shown = as_domain_error(exc)
        assert isinstance(shown, ValidationError) and "NUL" in str(shown), exc


def test_text_longer_than_its_column_is_a_sentence(db):
    from itsmdesk.models.people import Team
    from itsmdesk.services import records

    with pytest.raises(ValidationError) as err:
        records.create(Team, {"name": "t" * 1000})
    assert "name" in str(err.value) and "longer than" in str(err.value)
    assert Team.select().count() == 0


@pytest.mark.parametrize("args", [
    ["list", "incidents", "--limit", "99999999999999999999999"],
    ["search", "x", "--limit", "99999999999999999999"],
    ["kb", "search", "x", "--limit", "-1"],
    ["problems", "candidates", "--window", "1e308"],
    ["problems", "candidates", "--window", "nan"],
    ["problems", "candidates", "--days", "99999999999"],
    ["impact", "x", "--depth", "9999999999999"],
])
def test_numbers_out_of_range_are_sentences(capsys, sqlite_url, args):
    with pytest.raises(SystemExit) as exit_:
        main(["--db", sqlite_url, *args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "is not a" in err and not CATCH_ALL.search(err), err
