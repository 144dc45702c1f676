"""Shared machinery of the bad-input fuzz suite (tests/test_fuzz_*.py) and its corpus test.

The oracle, for every input the app reads (a file, a command-line argument):

* the command line is run in-process (``itsmdesk.cli.main``, as tests/test_cli.py does);
* it must never reach the catch-all of ``cli.main`` — ``itsmdesk: error: <Type>: <text> (set
  ITSMDESK_DEBUG=1 for details)`` with exit code 3, which is for true bugs only
  (:data:`CATCH_ALL`; ``test_fuzz_oracle_sees_the_catch_all`` proves the detector matches what
  cli.py prints);
* it exits 0 (done), 1 (an import with rejected rows: nothing written) or 2 (a sentence, from
  a domain error or argparse), and a refusal's last stderr line is an ``... error: ...``
  sentence;
* when it did not succeed, the database is exactly as before (:func:`snapshot`: every table's
  rows, hashed, read with the driver itself so the check does not go through the app);
* it never hangs (:data:`HANG_SECONDS`, SIGALRM).

Determinism: examples are derandomized (the same inputs on every run, CI-stable).  Real random
exploration: ``ITSMDESK_FUZZ=explore`` (random seeds, ten times the examples; hypothesis shrinks
and prints the failing input); ``ITSMDESK_FUZZ_EXAMPLES=N`` sets the number per test.

Counting: with ``ITSMDESK_FUZZ_LOG=FILE`` nothing is asserted; one JSON line per generated input
(test, verdict) is appended to FILE.  ``tools``-free recipe (the report's before/after figures):
run the suite with the log on the old and the new code and count ``"verdict": "catch-all"``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import signal
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

# cli.main's last line of defence, exactly as it prints it (translate("Cli", "itsmdesk: error:
# {message}") with message = f"{type(exc).__name__}: {text} " + "(set ITSMDESK_DEBUG=1 for
# details)"), and its exit code
CATCH_ALL_HINT = "(set ITSMDESK_DEBUG=1 for details)"
CATCH_ALL = re.compile(r"itsmdesk: error: [A-Za-z_][\w.]*: .*\(set ITSMDESK_DEBUG=1 for "
                       r"details\)\s*$", re.M)
CATCH_ALL_CODE = 3
DOMAIN_CODE = 2  # a domain error's sentence (and argparse's usage errors)
ROWS_REJECTED_CODE = 1  # an import that listed bad rows and wrote nothing
HANG_SECONDS = 20

EXPLORE = os.environ.get("ITSMDESK_FUZZ", "") == "explore"
LOG = os.environ.get("ITSMDESK_FUZZ_LOG", "")


def fuzz_settings(examples: int) -> settings:
    """Settings of one fuzz test: ``examples`` derandomized inputs (see the module docstring)."""
    count = int(os.environ.get("ITSMDESK_FUZZ_EXAMPLES", 0)) or examples * (10 if EXPLORE else 1)
    return settings(max_examples=count, deadline=None, derandomize=not EXPLORE,
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.large_base_example])


class FuzzHang(BaseException):
    """Raised by SIGALRM in a command that runs too long (not an Exception: the CLI's catch-all
    must not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def fire(_signum: int, _frame: Any) -> None:
        raise FuzzHang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@dataclasses.dataclass
class Outcome:
    argv: list[str]
    code: int | None
    out: str
    err: str
    hung: bool = False

    @property
    def last_error_line(self) -> str:
        lines = [ln for ln in re.split(r"[\r\n]", self.err) if ln.strip()]
        return lines[-1] if lines else ""

    @property
    def catch_all(self) -> bool:
        return self.code == CATCH_ALL_CODE or bool(CATCH_ALL.search(self.err)) \
            or CATCH_ALL_HINT in self.err


def run_cli(argv: Sequence[str]) -> Outcome:
    """``itsmdesk ARGV`` in this process: exit code, stdout, stderr (argparse's SystemExit too)."""
    from itsmdesk.cli import main

    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    os.environ.pop("ITSMDESK_DEBUG", None)  # (the catch-all would re-raise)
    hung = False
    code: int | None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with time_limit():
                code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else DOMAIN_CODE
        except FuzzHang:
            code, hung = None, True
    return Outcome(argv, code, out.getvalue(), err.getvalue(), hung)


# --- the database, as its driver sees it ---------------------------------------------------------

_LAST: dict[str, tuple[tuple, str]] = {}  # SQLite url -> (files' stat, snapshot)


def _files_stat(url: str) -> tuple:
    path = url[len("sqlite:///"):]
    out = []
    for name in (path, path + "-wal"):
        try:
            info = os.stat(name)
            out.append((info.st_mtime_ns, info.st_size, info.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


def snapshot(url: str, fresh: bool = False) -> str:
    """A hash of every row of every table (order-free), read with the driver directly.  (On
    SQLite, unless ``fresh``, the last hash is reused while neither the file nor its WAL was
    touched: the "before" of an input is the "after" of the previous one.)"""
    if url.startswith("sqlite:///"):
        stat = _files_stat(url)
        cached = _LAST.get(url)
        if cached and cached[0] == stat and not fresh:
            return cached[1]
        _LAST[url] = (stat, _hash(url))
        return _LAST[url][1]
    return _hash(url)


def _hash(url: str) -> str:
    digest = hashlib.sha256()
    for table, rows in _rows(url):
        digest.update(table.encode())
        for row in sorted(repr(r) for r in rows):
            digest.update(row.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _rows(url: str) -> Iterator[tuple[str, list[tuple]]]:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for table in tables:
                yield table, con.execute(f'SELECT * FROM "{table}"').fetchall()
        finally:
            con.close()
        return
    import psycopg2

    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                        "current_schema() AND table_type = 'BASE TABLE' ORDER BY 1")
            tables = [r[0] for r in cur.fetchall()]
            for table in tables:
                cur.execute(f'SELECT * FROM "{table}"')
                yield table, cur.fetchall()
    finally:
        con.close()


# --- the verdict -------------------------------------------------------------------------------

def verdict(outcome: Outcome, before: str, after: str) -> str:
    """"ok", or what is wrong: "catch-all", "hang", "exit N", "no sentence", "changed"."""
    if outcome.hung:
        return "hang"
    if outcome.catch_all:
        return "catch-all"
    if outcome.code not in (0, ROWS_REJECTED_CODE, DOMAIN_CODE):
        return f"exit {outcome.code}"
    if outcome.code == DOMAIN_CODE and ": error: " not in outcome.last_error_line:
        return "no sentence"
    if outcome.code != 0 and before != after:
        return "changed"
    return "ok"


def check(test: str, argv_or_label: Any, outcome: Outcome, before: str, after: str) -> None:
    """Assert the oracle (or, with ITSMDESK_FUZZ_LOG, only record the verdict)."""
    found = verdict(outcome, before, after)
    if LOG:
        with open(LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"test": test, "verdict": found, "code": outcome.code,
                                     "err": outcome.last_error_line[:300],
                                     "input": _short(argv_or_label)[:500]}) + "\n")
        return
    assert found == "ok", (found, _short(argv_or_label), outcome.code, outcome.err[-600:])


def run_checked(test: str, url: str, argv: Sequence[str], label: Any = None) -> Outcome:
    """Run ``argv`` against the database at ``url`` and apply the oracle."""
    before = snapshot(url)
    outcome = run_cli(argv)
    after = snapshot(url, fresh=True)
    check(test, label if label is not None else argv, outcome, before, after)
    return outcome


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 400 else text[:300] + " ... " + text[-80:]


# --- nasty values ------------------------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "'=x", "\t",
    "9" * 30, "-" + "9" * 25, "9223372036854775808", "2147483648", "1e999", "-1e400", "nan",
    "inf", "-0", "0x10", "1_000", "\u0661\u0662", "0001-01-01", "9999-12-31", "2026-02-30",
    "2026-13-01", "1899-12-31", "2026-01-01 25:61", "x" * 2000, "\ufeff", "\u202e", "\U0001F600",
    "'\"", "{", "}", "{x:>99}", "\r\n", "NULL", "None", "true", "\\", "%s%n", "../../etc/passwd",
    "\u00e5\u00e4\u00f6", "\u0085", "\u2028",
]

__all__ = ["CATCH_ALL", "copy_db", "write_db", "CATCH_ALL_CODE", "DOMAIN_CODE", "NASTY_TEXT", "Outcome", "check",
           "fuzz_settings", "run_checked", "run_cli", "snapshot", "verdict"]


def write_db(path: Path) -> str:
    """An SQLite database for the fuzz tests: the schema, a Default business calendar, two CIs
    and a relation (so imports and lookups have something to meet); returns its URL."""
    url = f"sqlite:///{path}"
    for argv in (["init"], ["business-calendar", "create", "Default"]):
        outcome = run_cli(["--db", url, *argv])
        assert outcome.code == 0, outcome.err
    cis = path.parent / "seed-cis.csv"
    cis.write_text("name,class\nweb01,server\ndb01,server\n", encoding="utf-8")
    rels = path.parent / "seed-rels.csv"
    rels.write_text("source,type,target\nweb01,depends_on,db01\n", encoding="utf-8")
    for argv in (["import", "cis", cis, "--quiet"], ["import", "relations", rels, "--quiet"]):
        outcome = run_cli(["--db", url, *argv])
        assert outcome.code == 0, outcome.err
    return url


def copy_db(template: Path, folder: Path) -> str:
    """A private copy of the database file ``template`` (and its WAL) in ``folder``; its URL."""
    import shutil

    target = folder / "fuzz.db"
    shutil.copyfile(template, target)
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{template}{suffix}")
        if extra.exists():
            shutil.copyfile(extra, Path(f"{target}{suffix}"))
    return f"sqlite:///{target}"
