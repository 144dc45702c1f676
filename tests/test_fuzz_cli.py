"""Fuzzing every command-line argument that takes a date, a number, a duration, years or a
database URL (issue 18).  The arguments are found in the argparse parsers themselves
(:func:`fuzzed_arguments`), so a new command's ``--from``/``--limit``/URL is fuzzed without
touching this file.  Oracle: tests/fuzz_support.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz_support import copy_db, fuzz_settings, run_checked, write_db

# not fuzzed: ``demo --seed`` only seeds random.Random, and a good seed builds a whole demo
# database (10 s); its bad values are argparse's own "invalid int value"
SKIPPED = {("demo",)}
DATE_NAMES = {"from", "to", "start", "end", "now", "date", "since", "until", "day", "at"}
DURATION_NAMES = {"response", "resolve"}


@dataclass(frozen=True)
class Arg:
    """One argument to fuzz: the words before it, its option string (None: positional), what
    it takes, and the argv filler that makes the rest of the command line valid."""

    command: tuple[str, ...]
    option: str | None
    category: str  # date | number | duration | years | url
    filler: tuple[tuple[str, ...], ...]  # (option or "", value) pairs / positionals
    position: int  # index among the positionals (positional only)

    def __str__(self) -> str:
        return " ".join(self.command) + " " + (self.option or f"<pos {self.position}>")


def _category(action: argparse.Action) -> str | None:
    name = (action.dest or "").lower().replace("-", "_")
    kind = getattr(action.type, "__name__", "")
    if action.metavar == "URL":
        return "url"
    if action.metavar == "DATE" or name in DATE_NAMES:
        return "date"
    if action.metavar == "FIRST-LAST" or name == "years":
        return "years"
    if name in DURATION_NAMES:
        return "duration"
    if action.type is int or action.type is float or "number" in kind:
        return "number"
    return None


def _filler_value(action: argparse.Action, tmp: str) -> str:
    """A value that passes for ``action`` (required options and other positionals)."""
    if action.choices:
        return str(next(iter(action.choices)))
    category = _category(action)
    if category == "date":
        return "2026-01-05"
    if category == "number":
        return "3"
    if category == "duration":
        return "4h"
    if category == "url":
        return "sqlite:///" + tmp + "/other.db"
    if action.type is Path:
        return tmp + "/" + (action.metavar or action.dest or "file").replace(".", "-") + ".out"
    if action.dest in ("calendar", "name") and action.option_strings == []:
        return "Default"
    return "x"


def fuzzed_arguments(parser: argparse.ArgumentParser | None = None,
                     prefix: tuple[str, ...] = ()) -> list[Arg]:
    """Every argument of every (sub)command whose value is a date, a number, a duration, years
    or a URL, with what it takes to run the command around it."""
    from itsmdesk.cli import build_parser

    parser = parser or build_parser()
    found: list[Arg] = []
    actions = [a for a in parser._actions
               if not isinstance(a, argparse._HelpAction | argparse._VersionAction)]
    for action in actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += fuzzed_arguments(sub, prefix + (name,))
    positionals = [a for a in actions if not a.option_strings
                   and not isinstance(a, argparse._SubParsersAction)]
    for action in actions:
        if isinstance(action, argparse._SubParsersAction) or action.nargs == 0:
            continue
        category = _category(action)
        if category is None or action.choices:
            continue
        position = positionals.index(action) if action in positionals else -1
        filler = tuple(("", a.dest) for a in positionals)  # resolved at run time
        filler += tuple((a.option_strings[-1], a.dest) for a in actions
                        if a.option_strings and a.required and a is not action)
        if prefix in SKIPPED:
            continue
        found.append(Arg(prefix, action.option_strings[-1] if action.option_strings else None,
                         category, filler, position))
    return found


def _lookup(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> argparse.ArgumentParser:
    for word in words:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


@functools.lru_cache(maxsize=1)
def _parser() -> argparse.ArgumentParser:
    from itsmdesk.cli import build_parser

    return build_parser()


def argv_for(arg: Arg, value: str, db_url: str, tmp: str) -> list[str]:
    """The full command line: the fuzzed ``value`` in its place, valid fillers elsewhere."""
    if not arg.command:  # a top-level option (--db): a command that only reads
        return [f"{arg.option}={value}", "stats"]
    parser = _lookup(_parser(), arg.command)
    by_dest = {a.dest: a for a in parser._actions}
    argv = ["--db", db_url, *arg.command]
    positionals = []
    for option, dest in arg.filler:
        action = by_dest[dest]
        if option:
            argv.append(f"{option}={_filler_value(action, tmp)}")
        else:
            positionals.append(value if action.option_strings == [] and
                               len(positionals) == arg.position else _filler_value(action, tmp))
    if arg.option:
        argv.append(f"{arg.option}={value}")
    # (a value starting with '-' would be read as an option: '--' ends the options)
    return argv + (["--"] if positionals else []) + positionals


# --- values ----------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(-10 ** 30, 10 ** 30).map(str), st.integers(-3, 1_000_010).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "1e999", "-1e400", "nan", "inf", "-0", "0x10", "1_000",
                     "\u0661\u0662", "9" * 400, "1.5", "08", "+5", "5 ", "\x00"]),
    st.text(max_size=8))
dates = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)).map(
        lambda d: d.isoformat(timespec="minutes")),
    st.sampled_from(["0001-01-01", "9999-12-31", "9999-12-31T23:59", "0001-01-01T00:00+14:00",
                     "9999-12-31T23:59-14:00", "2026-02-30", "2026-13-01", "2026-00-10",
                     "1899-12-31", "2200-01-01", "2026-1-1", "20260101", "today", "", "\x00",
                     "2026-01-01T25:00", "2026-01-01T10:00+99:00", "+10000-01-01"]),
    st.text(max_size=12))
durations = st.one_of(
    st.sampled_from(["4h", "0", "0h", "-1h", "99999999999d", "1e9m", "nan", "1.5h", "h", "",
                     "4x", "1000000000000000000000h", "30m", "PT4H", "\x00"]),
    st.integers(-10 ** 20, 10 ** 20).map(lambda n: f"{n}m"), st.text(max_size=6))
years = st.one_of(
    st.sampled_from(["2026-2030", "0001-9999", "9999", "0000", "2026-2025", "1900-2199",
                     "1899", "2200", "2026-", "-2026", "", "2026-99999"]),
    st.tuples(st.integers(0, 9999), st.integers(0, 9999)).map(lambda t: f"{t[0]:04d}-{t[1]:04d}"),
    st.text(max_size=10))


def urls(tmp: str) -> st.SearchStrategy[str]:
    """Database URLs that never reach a live server (port 1 on loopback refuses at once)."""
    # (no host name needing a DNS lookup: each costs half a second)
    hosts = st.sampled_from(["127.0.0.1", "[::1]", "", "[::1", "::1", "127.0.0.1\x00", "%zz",
                             "127.0.0.1 x"])
    ports = st.sampled_from(["", ":1", ":0", ":65536", ":99999", ":-1", ":abc", ":", ":1:2"])
    postgres = st.builds(lambda scheme, user, host, port, db: f"{scheme}{user}{host}{port}{db}",
                         st.sampled_from(["postgresql://", "postgres://", "postgresql:/"]),
                         st.sampled_from(["", "u@", "u:p@", "u:p@ss@", "u:p/ss@", ":@", "@"]),
                         hosts, ports, st.sampled_from(["/db", "", "/", "/a/b", "/%00", "?x=1"]))
    sqlite = st.one_of(
        st.sampled_from(["sqlite://", "sqlite:", "sqlite:///", "sqlite:////", "sqlite:////dev/null",
                         "sqlite:////dev/zero", "sqlite:////proc/self/mem", "sqlite:///:memory:",
                         "sqlite:////etc/passwd", f"sqlite:///{tmp}/a\x00b.db",
                         f"sqlite:///{tmp}/" + "x" * 5000 + ".db", f"sqlite:///{tmp}",
                         f"sqlite:///{tmp}/%00.db", f"sqlite:///{tmp}/" + "/".join(["d" * 200] * 25)]),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=1,
                max_size=30).map(lambda name: f"sqlite:///{tmp}/missing/{name}.db"))
    other = st.one_of(st.sampled_from(["mysql://", "mysql://u@127.0.0.1:1/x", "http://x", "", " ",
                                       "file:///x.db", "://", "\x00"]), st.text(max_size=20))
    return st.one_of(postgres, sqlite, other)


VALUES = {"number": lambda tmp: numbers, "date": lambda tmp: dates,
          "duration": lambda tmp: durations, "years": lambda tmp: years, "url": urls}

ARGS = fuzzed_arguments()


def test_every_kind_of_argument_is_found():
    """The enumeration sees the arguments the brief names (a renamed one must not vanish)."""
    seen = {(" ".join(a.command), a.option or str(a.position), a.category) for a in ARGS}
    for expected in [("availability", "--from", "date"), ("trends", "--to", "date"),
                     ("list", "--limit", "number"), ("impact", "--depth", "number"),
                     ("problems candidates", "--window", "number"), ("", "--db", "url"),
                     ("sla holidays import", "--years", "years"),
                     ("sla target set", "--response", "duration"),
                     ("sla holiday add", "1", "date"), ("admin setup-shared", "0", "url")]:
        assert expected in seen, expected
    assert len(ARGS) >= 30


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-cli-template")
    write_db(folder / "template.db")
    return folder / "template.db"


@fuzz_settings(150)
@given(arg=st.sampled_from(ARGS), data=st.data())
def test_fuzz_cli_arguments(template_db, tmp_path, arg, data):
    url = copy_db(template_db, tmp_path) if not (tmp_path / "fuzz.db").exists() \
        else f"sqlite:///{tmp_path / 'fuzz.db'}"
    value = data.draw(VALUES[arg.category](str(tmp_path)), label=str(arg))
    argv = argv_for(arg, value, url, str(tmp_path))
    run_checked("cli", url, argv, label=(str(arg), value))


def test_argv_builder_gives_a_working_command_line(tmp_path, template_db):
    """With a good value in the fuzzed place, the built command lines are accepted by argparse
    (else the fuzzing would only ever test argparse's usage errors)."""
    from itsmdesk.cli import build_parser

    good = {"date": "2026-01-05", "number": "3", "duration": "4h", "years": "2026-2027",
            "url": f"sqlite:///{tmp_path}/other.db"}
    parser = build_parser()
    for arg in ARGS:
        argv = argv_for(arg, good[arg.category], "sqlite:///x.db", str(tmp_path))
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{arg}: {argv}")
