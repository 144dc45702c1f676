"""The command line: every foundation command, and clean one-line errors."""

from __future__ import annotations

import json
import sqlite3

import pytest

from itsmdesk import __version__
from itsmdesk.cli import main

STATS_KEYS = ["incidents", "service_requests", "problems", "known_errors", "changes", "releases",
              "cis", "relations", "articles", "people", "teams"]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"itsmdesk {__version__}"


def test_init_creates_then_is_up_to_date(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, out, _ = run(capsys, "--db", url, "init")
    assert code == 0 and "created" in out
    code, out, _ = run(capsys, "--db", url, "init")
    assert code == 0 and "up to date" in out


def test_env_variable_picks_the_database(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ITSMDESK_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert run(capsys, "init")[0] == 0
    assert (tmp_path / "env.db").exists()


@pytest.mark.slow
def test_demo_then_stats_and_list_on_both_backends(capsys, db):
    url = db.url
    code, out, _ = run(capsys, "--db", url, "demo", "--size", "small", "--seed", "7")
    assert code == 0, out
    code, out, _ = run(capsys, "--db", url, "stats")
    stats = json.loads(out)
    for key in STATS_KEYS:
        assert stats[key] > 0, key
    code, out, _ = run(capsys, "--db", url, "list", "cab-meetings", "--json")
    meetings = json.loads(out)
    assert meetings and all({"ref", "title", "status"} <= set(m) for m in meetings)
    assert all(m["ref"].startswith("CAB-") for m in meetings)
    for kind in ("incidents", "problems", "known-errors", "changes", "releases", "cis", "articles"):
        code, out, _ = run(capsys, "--db", url, "list", kind, "--limit", "3", "--json")
        rows = json.loads(out)
        assert code == 0 and 1 <= len(rows) <= 3, kind
        assert all("ref" in r and ("title" in r or "name" in r) and "status" in r for r in rows)
    code, out, err = run(capsys, "--db", url, "demo")
    assert code == 2 and "already holds records" in err
    code, out, _ = run(capsys, "--db", url, "check")
    assert code == 0 and out.strip().endswith("OK")
    ref = meetings[0]["ref"]
    code, out, _ = run(capsys, "--db", url, "history", ref, "--json")
    history = json.loads(out)
    assert code == 0 and [r["action"] for r in history].count("created") == 1
    # people and changes are named, not shown as ids
    added = [r for r in history if r["action"] == "added" and r["field"] == "cab_attendee"]
    assert added and all("-" not in (r["new"] or "")[:12] for r in added)
    code, out, _ = run(capsys, "--db", url, "history", ref)
    assert code == 0 and "Attendee" in out and "created" in out


def test_list_table_output(capsys, demo_db):
    code, out, _ = run(capsys, "--db", demo_db.url, "list", "incidents", "--limit", "5")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split()[:3] == ["REF", "TITLE", "STATUS"] and len(lines) == 6


@pytest.mark.parametrize("args, needle", [
    (["--db", "mysql://x/y", "stats"], "Unsupported database URL"),
    (["--db", "postgresql://nobody@127.0.0.1:1/none", "stats"], "127.0.0.1:1"),
    (["--db", "sqlite:////proc/itsmdesk/x.db", "init"], "Cannot"),
    (["--db", "sqlite:////tmp/itsmdesk-no-such-folder/x.db", "stats"], "There is no database at"),
])
def test_bad_databases_give_one_line_and_nonzero(capsys, args, needle):
    code, out, err = run(capsys, *args)
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_corrupt_file(capsys, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 500)
    code, _out, err = run(capsys, "--db", f"sqlite:///{bad}", "stats")
    assert code == 2 and "corrupt" in err and err.count("\n") == 1


def test_backup_is_a_consistent_copy(capsys, demo_db, tmp_path):
    target = tmp_path / "copies" / "backup.db"
    code, out, _ = run(capsys, "--db", demo_db.url, "backup", str(target))
    assert code == 0 and target.exists()
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    original = sqlite3.connect(demo_db.path)
    for table in ("incident", "ci", "journal"):
        assert (copy.execute(f"SELECT count(*) FROM {table}").fetchone()
                == original.execute(f"SELECT count(*) FROM {table}").fetchone())


def test_backup_to_a_folder_is_refused(capsys, demo_db, tmp_path):
    code, _out, err = run(capsys, "--db", demo_db.url, "backup", str(tmp_path))
    assert code == 2 and "is a folder" in err


def test_check_reports_broken_references(capsys, demo_db):
    conn = sqlite3.connect(demo_db.path)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("UPDATE incident SET ci_id = 'ffffffffffffffffffffffffffffffff' WHERE rowid = 1")
    conn.commit()
    conn.close()
    code, out, _ = run(capsys, "--db", demo_db.url, "check")
    assert code == 1 and "incident" in out and "missing" in out


def test_check_finds_and_repairs_the_cmdb_graph_index(capsys, demo_db):
    conn = sqlite3.connect(demo_db.path)
    conn.execute("UPDATE relation SET target_gid = target_gid + 100000 WHERE rowid <= 5")
    conn.commit()
    conn.close()
    code, out, _ = run(capsys, "--db", demo_db.url, "check")
    assert code == 1 and "relation: 5 relation(s) whose graph index entries differ" in out
    code, out, _ = run(capsys, "--db", demo_db.url, "check", "--repair")
    assert code == 0 and "0 CI(s), 0 relation(s) still wrong" in out and out.strip().endswith("OK")
    conn = sqlite3.connect(demo_db.path)
    assert conn.execute("SELECT count(*) FROM relation r JOIN ci t ON t.id = r.target_id "
                        "WHERE r.target_gid IS NOT t.gid").fetchone() == (0,)
    conn.close()


def test_unknown_reference_in_history(capsys, demo_db):
    code, _out, err = run(capsys, "--db", demo_db.url, "history", "INC-999999")
    assert code == 2 and "INC-999999" in err


def test_backup_on_both_backends(capsys, db, tmp_path):
    import shutil
    import subprocess

    from itsmdesk.services.servicedesk import incidents

    incidents.create_incident({"title": "kept in the backup"})
    target = tmp_path / "backup.dump"
    if db.backend == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump not installed")
    code, out, err = run(capsys, "--db", db.url, "backup", str(target))
    assert code == 0, err
    if db.backend == "sqlite":
        copy = sqlite3.connect(target)
        assert copy.execute("SELECT title FROM incident").fetchall() == [("kept in the backup",)]
    else:
        listing = subprocess.run(["pg_restore", "-l", str(target)], capture_output=True, text=True,
                                 check=True).stdout
        assert "TABLE DATA public incident" in listing


def test_site_code_gives_references_from_the_sites_block(capsys, tmp_path, monkeypatch):
    """ITSMDESK_SITE is this workstation's site: records it creates are numbered in the site's
    own block and journalled as coming from it; a malformed code is refused with a sentence."""
    from itsmdesk.services.context import current_site

    url = f"sqlite:///{tmp_path / 'site.db'}"
    monkeypatch.setenv("ITSMDESK_SITE", "osl")
    code, out, err = run(capsys, "--db", url, "demo", "--size", "small", "--seed", "3")
    assert code == 0, err
    code, out, _ = run(capsys, "--db", url, "list", "incidents", "--json", "--limit", "5")
    refs = [r["ref"] for r in json.loads(out)]
    assert refs and all(r.startswith(("INC-OSL-", "REQ-OSL-")) for r in refs)
    code, out, _ = run(capsys, "--db", url, "history", refs[0], "--json")
    assert {r["site"] for r in json.loads(out)} == {"OSL"}
    monkeypatch.setenv("ITSMDESK_SITE", "O-SL")
    code, _out, err = run(capsys, "--db", url, "stats")
    assert code == 2 and "ITSMDESK_SITE=O-SL is not valid" in err
    monkeypatch.delenv("ITSMDESK_SITE")
    code, _out, _err = run(capsys, "--db", url, "stats")
    assert code == 0 and current_site() == ""


def test_settings_lists_every_setting(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ITSMDESK_SITE", "KRN")
    code, out, _ = run(capsys, "--db", f"sqlite:///{tmp_path / 's.db'}", "settings", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["site"]["value"] == "KRN" and rows["site"]["key"] == "ITSMDESK_SITE"
    assert not (tmp_path / "s.db").exists()  # (no database: said on stderr, none created)
    assert rows["escalate_pct"]["scope"] == "organisation" and rows["escalate_pct"]["value"] == 75
    assert rows["layout_state"]["scope"] == "workstation"


def test_demo_flag_works_for_every_command(capsys, tmp_path, monkeypatch):
    """--demo is the demo database for a command too: built once, on first use."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("ITSMDESK_DB", raising=False)
    code, out, err = run(capsys, "--demo", "list", "cab-meetings", "--json")
    meetings = json.loads(out)
    assert code == 0 and meetings and all(m["ref"].startswith("CAB-") for m in meetings)
    assert "building the demo database" in err
    assert (tmp_path / "data" / "itsmdesk" / "demo.db").exists()
    code, out, err = run(capsys, "--demo", "stats")
    assert code == 0 and json.loads(out)["incidents"] > 0 and "building" not in err  # once


def test_a_new_database_is_created_not_upgraded(capsys, tmp_path):
    code, out, err = run(capsys, "--db", f"sqlite:///{tmp_path / 'new.db'}", "init")
    assert code == 0 and out.startswith("created ") and "migrated" not in err and "upgraded" not in out
