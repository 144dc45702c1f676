"""The hand-picked nasty inputs of issue 18 (tests/fixtures/bad_inputs/), always run: each is
refused with a sentence naming the problem and where (EXPECT.tsv lists the words), never the
catch-all, nothing written.  Plus the PostgreSQL slice (NUL bytes and over-long values must get
the same sentence on both back ends) and a check that the fuzz oracle does see the catch-all.
"""

from __future__ import annotations

import codecs
import csv
import shlex
from pathlib import Path

import pytest

from tests.fuzz_support import (
    CATCH_ALL,
    DOMAIN_CODE,
    ROWS_REJECTED_CODE,
    copy_db,
    run_checked,
    run_cli,
    snapshot,
    verdict,
    write_db,
)

BAD = Path(__file__).parent / "fixtures" / "bad_inputs"


def _expected() -> dict[str, list[str]]:
    out = {}
    for line in (BAD / "EXPECT.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, words = line.split("\t")
            out[name] = words.split("|")
    return out


EXPECT = _expected()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus-template")
    write_db(folder / "template.db")
    return folder / "template.db"


@pytest.fixture
def corpus_db(template_db, tmp_path):
    return copy_db(template_db, tmp_path)


def _refused(outcome, words: list[str]) -> None:
    text = outcome.err + outcome.out
    assert outcome.code in (DOMAIN_CODE, ROWS_REJECTED_CODE), (outcome.code, text[-500:])
    for word in words:
        assert word in text, (word, text[-500:])


def test_every_corpus_file_has_its_expectation():
    files = {str(p.relative_to(BAD)) for p in BAD.rglob("*") if p.is_file()
             and p.suffix in (".ics", ".toml", ".csv") and p.name not in ("incidents.csv",
                                                                           "incidents.toml")}
    assert files == set(EXPECT), files ^ set(EXPECT)


@pytest.mark.parametrize("name", sorted(n for n in EXPECT if n.startswith("holidays/")))
def test_holiday_corpus(corpus_db, name):
    argv = ["--db", corpus_db, "business-calendar", "holidays", "import", BAD / name]
    outcome = run_checked("corpus", corpus_db, argv)
    _refused(outcome, EXPECT[name] + [name.split("/")[1]] * (outcome.code == DOMAIN_CODE))


@pytest.mark.parametrize("name", sorted(n for n in EXPECT if n.startswith("mappings/")))
def test_mapping_corpus(corpus_db, name):
    argv = ["--db", corpus_db, "import", "incidents", BAD / "mappings" / "incidents.csv",
            "--map", BAD / name, "--quiet"]
    outcome = run_checked("corpus", corpus_db, argv)
    assert outcome.code == DOMAIN_CODE
    _refused(outcome, EXPECT[name] + [name.split("/")[1]])


@pytest.mark.parametrize("name", sorted(n for n in EXPECT if n.startswith("csv/")))
def test_csv_corpus(corpus_db, name):
    kind = name.split("/")[1].split("__")[0]
    argv = ["--db", corpus_db, "import", kind, BAD / name, "--quiet"]
    if kind == "incidents":
        argv += ["--map", BAD / "csv" / "incidents.toml"]
    _refused(run_checked("corpus", corpus_db, argv), EXPECT[name])


def test_five_megabyte_cell(corpus_db, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "class", "description"])
        writer.writerow(["x", "server", "z" * 5_000_000])
    outcome = run_checked("corpus", corpus_db, ["--db", corpus_db, "import", "cis", path])
    _refused(outcome, ["line 2", "longer than"])


def _cli_lines() -> list[str]:
    lines = (BAD / "cli.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("line", _cli_lines())
def test_cli_corpus(corpus_db, tmp_path, line):
    (tmp_path / "x.csv").write_text("name,class\n", encoding="utf-8")
    (tmp_path / "x.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    argv = [word.format(db=corpus_db, tmp=tmp_path, long="x" * 5000)
            for word in shlex.split(codecs.decode(line, "unicode_escape"))]
    outcome = run_checked("corpus", corpus_db, argv)
    assert outcome.code == DOMAIN_CODE, (line, outcome.err)
    assert ": error: " in outcome.last_error_line, outcome.err


# --- the oracle sees the catch-all ---------------------------------------------------------------

def test_fuzz_oracle_sees_the_catch_all(monkeypatch, corpus_db):
    """A true bug in a command reaches cli.main's catch-all; the oracle must call it that (if
    cli.py changed its wording, CATCH_ALL must follow or the whole suite proves nothing)."""
    from itsmdesk.commands import core

    def broken(args, ctx):  # noqa: ANN001, ANN202, ARG001
        raise RuntimeError("a true bug")

    monkeypatch.setattr(core, "cmd_stats", broken)
    before = snapshot(corpus_db)
    outcome = run_cli(["--db", corpus_db, "stats"])
    assert outcome.code == 3 and CATCH_ALL.search(outcome.err), outcome.err
    assert verdict(outcome, before, snapshot(corpus_db, fresh=True)) == "catch-all"


# --- PostgreSQL: NUL bytes and over-long values, the same sentence on both back ends ------------

NUL_SENTENCE = ("itsmdesk: error: Text holding a NUL character (code 0) cannot be stored or "
                "searched; nothing was saved. Remove the character and try again.")
MAP = 'kind = "incidents"\nkey = "Ticket"\n[source]\ndelimiter = ";"\n[fields]\ntitle = "Summary"\n'
TEAM_MAP = MAP + 'team = { column = "Team", create_missing = true }\n'


@pytest.mark.parametrize("case", ["find", "history", "calendar", "search", "long key",
                                  "long team", "nul cells"])
def test_nul_and_length_same_on_both_back_ends(db, tmp_path, case):
    url = db.url
    assert run_cli(["--db", url, "init"]).code == 0
    source, mapping = tmp_path / "in.csv", tmp_path / "m.toml"
    mapping.write_text(TEAM_MAP, encoding="utf-8")
    argv, expected_code, expected = {
        "find": (["find", "a\x00b"], DOMAIN_CODE, NUL_SENTENCE),
        "history": (["history", "INC\x00-1"], DOMAIN_CODE, NUL_SENTENCE),
        "calendar": (["business-calendar", "create", "a\x00b"], DOMAIN_CODE, NUL_SENTENCE),
        "search": (["search", "a\x00b"], 0, ""),
        "long key": (["import", "incidents", source, "--map", mapping, "--quiet"],
                     ROWS_REJECTED_CODE, "line 2, column Ticket: external key longer than 200 "
                                         "characters"),
        "long team": (["import", "incidents", source, "--map", mapping, "--quiet"],
                      ROWS_REJECTED_CODE, "line 2, column Team: cannot create team 'tttttttt"),
        "nul cells": (["import", "incidents", source, "--map", mapping, "--quiet"], 0, ""),
    }[case]
    rows = {"long key": "K" * 1000 + ";s;t\n", "long team": "T-1;s;" + "t" * 1000 + "\n",
            "nul cells": "T-\x001;a\x00b;te\x00am\n"}
    source.write_text("Ticket;Summary;Team\n" + rows.get(case, "T-1;s;t\n"), encoding="utf-8")
    outcome = run_checked("pg-slice", url, ["--db", url, *argv])
    assert outcome.code == expected_code, outcome.err
    assert expected in outcome.err + outcome.out, outcome.err + outcome.out
    if case == "nul cells":  # NUL dropped on import, on both back ends alike
        from itsmdesk.models.incident import Incident
        from itsmdesk.models.people import Team
        from tests.conftest import open_test_db

        database, _info = open_test_db(url)
        try:
            assert [(i.external_key, i.title) for i in Incident.select()] == [("T-1", "ab")]
            assert [t.name for t in Team.select()] == ["team"]
        finally:
            database.close()
