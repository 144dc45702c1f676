"""The dry run tells the truth and the messages are whole sentences (issue 19, first part).

A dry run must find every failure the import would meet (duplicates within the file and
against the database), the import never meets a raw IntegrityError, and the messages printed
have their placeholders filled.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from itsmdesk.cli import main
from itsmdesk.errors import ValidationError
from itsmdesk.models.cmdb import CI, Relation
from itsmdesk.services.importing.mapped import run_import


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CI_MAP = """
kind = "cis"
key = "id"
[source]
delimiter = ";"
[fields]
name = "name"
ci_class = { value = "server" }
"""


def test_unknown_field_message_is_filled_in(db, tmp_path):
    bad = write(tmp_path, "m.toml", 'kind = "incidents"\nkey = "id"\n[fields]\ntitel = "t"\n')
    data = write(tmp_path, "a.csv", "id,t\n1,a\n")
    with pytest.raises(ValidationError) as info:
        run_import("incidents", data, bad)
    text = info.value.message
    assert "titel is not a field of incidents (fields: " in text
    assert f"Mapping {bad}:" in text and "{" not in text


def test_bad_field_option_message_is_filled_in(db, tmp_path):
    bad = write(tmp_path, "m.toml",
                'kind = "incidents"\nkey = "id"\n[fields]\ntitle = "t"\n'
                'status = { value = "bogus" }\n')
    data = write(tmp_path, "a.csv", "id,t\n1,a\n")
    with pytest.raises(ValidationError) as info:
        run_import("incidents", data, bad)
    assert info.value.message.startswith(f"Mapping {bad}: [fields] status: 'bogus' is not a "
                                         "valid status")


def test_no_external_key_shows_the_cell(db, tmp_path):
    mapping = write(tmp_path, "m.toml", 'kind = "incidents"\nkey = "id"\n[source]\n'
                    'null_values = ["#N/B"]\n[fields]\ntitle = "t"\n')
    data = write(tmp_path, "a.csv", "id,t\n#N/B,a\n,b\n")
    report = run_import("incidents", data, mapping, dry_run=True)
    reasons = [e.reason for e in report.errors]
    assert reasons == ["no external key: the cell is '#N/B'", "no external key: the cell is ''"]


def test_two_new_cis_with_one_name_found_by_the_dry_run(db, tmp_path):
    mapping = write(tmp_path, "m.toml", CI_MAP)
    data = write(tmp_path, "cis.csv", "id;name\nA1;web01\nA2;db01\nA3;web01\n")
    report = run_import("cis", data, mapping, dry_run=True)
    assert [(e.line, e.column) for e in report.errors] == [(4, "name")]
    assert report.errors[0].reason == ("'web01' is also given on line 2: two records cannot "
                                       "share name")
    # the import finds the same and writes nothing (no IntegrityError)
    report = run_import("cis", data, mapping)
    assert not report.applied and len(report.errors) == 1 and CI.select().count() == 0
    # skipping the bad row imports the others
    report = run_import("cis", data, mapping, skip_invalid=tmp_path / "rejects.csv")
    assert report.applied and sorted(c.name for c in CI.select()) == ["db01", "web01"]


def test_name_held_by_a_stored_ci_found_by_the_dry_run(db, tmp_path):
    mapping = write(tmp_path, "m.toml", CI_MAP)
    run_import("cis", write(tmp_path, "a.csv", "id;name\nA1;web01\nA2;db01\n"), mapping)
    # A2 is renamed to the name A1 holds
    data = write(tmp_path, "b.csv", "id;name\nA2;web01\n")
    report = run_import("cis", data, mapping, dry_run=True)
    assert len(report.errors) == 1
    assert report.errors[0].reason == ("'web01' is already held by web01: two records cannot "
                                       "share name")
    report = run_import("cis", data, mapping)
    assert not report.applied and CI.get(CI.external_key == "A2").name == "db01"


def test_created_ci_clashing_with_a_stored_name(db, tmp_path):
    """A link matched on the external key only creates a CI whose name is taken."""
    run_import("cis", write(tmp_path, "a.csv", "id;name\nA1;web01\n"),
               write(tmp_path, "m.toml", CI_MAP))
    mapping = write(tmp_path, "inc.toml", """
kind = "incidents"
key = "id"
[fields]
title = "t"
ci = { column = "ci", create_missing = true, match = "external_key" }
""")
    data = write(tmp_path, "inc.csv", "id,t,ci\n1,a,web01\n2,b,A1\n")
    report = run_import("incidents", data, mapping, dry_run=True)
    assert [(e.line, e.column) for e in report.errors] == [(2, "ci")]
    assert "creating ci 'web01' would repeat 'web01', which web01 already holds" in \
        report.errors[0].reason
    report = run_import("incidents", data, mapping)
    assert not report.applied


RELATION_MAP = """
kind = "relations"
[fields]
source = "from"
target = "to"
type = "type"
propagates = { column = "prop" }
"""


def test_relation_twice_in_the_file(db, tmp_path):
    run_import("cis", write(tmp_path, "a.csv", "id;name\nA1;web01\nA2;db01\n"),
               write(tmp_path, "m.toml", CI_MAP))
    mapping = write(tmp_path, "r.toml", RELATION_MAP)
    same = write(tmp_path, "r1.csv", "from,to,type,prop\nweb01,db01,depends_on,both\n"
                 "web01,db01,depends_on,both\n")
    report = run_import("relations", same, mapping, dry_run=True)
    assert not report.errors and report.created == 1
    assert [w.reason for w in report.warnings] == ["the same as line 2: imported once"]
    report = run_import("relations", same, mapping)
    assert report.applied and Relation.select().count() == 1
    Relation.delete().execute()
    differ = write(tmp_path, "r2.csv", "from,to,type,prop\nweb01,db01,depends_on,both\n"
                   "web01,db01,depends_on,none\n")
    report = run_import("relations", differ, mapping, dry_run=True)
    assert [(e.line, e.column) for e in report.errors] == [(3, "from, type, to")]
    assert report.errors[0].reason.startswith("'web01' / 'depends_on' / 'db01' is also given on "
                                              "line 2")
    assert not run_import("relations", differ, mapping).applied
    assert Relation.select().count() == 0


def test_cli_counts_bad_rows_not_cells_and_ends_the_progress_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    mapping = write(tmp_path, "m.toml", """
kind = "incidents"
key = "id"
[fields]
title = "t"
impact = { column = "i", map = { a = 1 } }
urgency = { column = "u", map = { a = 1 } }
""")
    rows = "".join(f"{n},x,b,b\n" for n in range(150))  # 150 rows, two bad cells each
    data = write(tmp_path, "a.csv", "id,t,i,u\n" + rows)
    assert main(["--db", url, "import", "incidents", str(data), "--map", str(mapping)]) == 1
    err = capsys.readouterr().err
    assert "... and 50 more bad rows" in err
    bad = write(tmp_path, "bad.toml", 'kind = "incidents"\nkey = "id"\n[fields]\ntitel = "t"\n')
    assert main(["--db", url, "import", "incidents", str(data), "--map", str(bad)]) == 2
    err = capsys.readouterr().err
    lines = err.split("\n")
    error = next(ln for ln in lines if "itsmdesk: error:" in ln)
    assert error.startswith("itsmdesk: error: Mapping ") and "titel is not a field" in error


def test_values_too_long_for_their_column_found_by_the_dry_run(db, tmp_path):
    """PostgreSQL refuses a text longer than its column (SQLite keeps it): the dry run says."""
    mapping = write(tmp_path, "m.toml", """
kind = "changes"
key = "id"
[fields]
title = "t"
team = { column = "team", create_missing = true }
affected_cis = { column = "ci", create_missing = true }
""")
    long_team, long_key = "T" * 201, "K" * 201
    data = write(tmp_path, "a.csv", f"id,t,team,ci\nC1,a,{long_team},web01\n{long_key},b,Desk,"
                 f"web01\nC3,c,Desk,{'w' * 256}\nC4,d,Desk,web01\n")
    report = run_import("changes", data, mapping, dry_run=True)
    got = {(e.line, e.column): e.reason for e in report.errors}
    assert set(got) == {(2, "team"), (3, "id"), (4, "ci")}
    assert got[(3, "id")] == "external key longer than 200 characters"
    assert got[(2, "team")].startswith("cannot create team 'TTTT") and \
        got[(2, "team")].endswith("its name may hold at most 200 characters")
    assert "its name may hold at most 255 characters" in got[(4, "ci")]
    report = run_import("changes", data, mapping, skip_invalid=tmp_path / "rejects.csv")
    assert report.applied and report.created == 1
    from itsmdesk.models.change import Change

    assert [c.external_key for c in Change.select()] == ["C4"]
