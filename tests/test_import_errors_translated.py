"""Bad import rows in the user's language: the reasons (N_() templates on RowError) and the
"line N, column C:" framing are Swedish in the CLI's human output, the CMDB import/audit dialogs
and the import wizard; --json output and the rejects file stay English; English is unchanged.

Swedish command-line runs happen in a fresh process (``python -m itsmdesk``) so no translator
leaks into other tests; the GUI checks install the Swedish translator and remove it again.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from itsmdesk.cli import main
from itsmdesk.errors import N_, ValidationError
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb.csv_io import import_csv
from itsmdesk.services.importing.report import RowError, row_error, row_error_from

CIS = ("name,class,status,ram_gb\n"
       "web-01,virtual_machine,in production,32\n"
       "bad,spaceship,,\n"
       "odd,virtual_machine,bogus,\n"
       "web-01,virtual_machine,,\n"
       ",virtual_machine,,\n"
       "big,virtual_machine,,lots\n")

# line 2 is good; every other line has one bad cell
CIS_EN = ["line 3, column class: unknown CI class 'spaceship'",
          "line 4, column status: 'bogus' is not one of: ",
          "line 5, column name: 'web-01' already appears on line 2",
          "line 6, column name: a name is required",
          "line 7, column ram_gb: Attribute ram_gb: 'lots' is not a valid"]
CIS_SV = ["rad 3, kolumn class: okänd CI-klass 'spaceship'",
          "rad 4, kolumn status: 'bogus' är inte något av: ",
          "rad 5, kolumn name: 'web-01' förekommer redan på rad 2",
          "rad 6, kolumn name: ett namn krävs",
          "rad 7, kolumn ram_gb: Attributet ram_gb: 'lots' är inte en giltig"]
REASONS_EN = ["unknown CI class 'spaceship'", "'bogus' is not one of: ",
              "'web-01' already appears on line 2", "a name is required",
              "Attribute ram_gb: 'lots' is not a valid"]
REASONS_SV = ["okänd CI-klass 'spaceship'", "'bogus' är inte något av: ",
              "'web-01' förekommer redan på rad 2", "ett namn krävs",
              "Attributet ram_gb: 'lots' är inte en giltig"]

RELS = ("source,type,target\n"
        "web-01,depends_on,nope\n"
        "web-01,flies_to,web-01\n")
RELS_SV = ["rad 2, kolumn target: inget CI med namnet 'nope'",
           "rad 3, kolumn type: 'flies_to' är inte något av: ",
           "rad 3, kolumn target: ett CI kan inte ha en relation till sig självt"]

MAP = """
kind = "incidents"
key = "Ticket"

[fields]
title = "Title"
"""
TICKETS = "Ticket,Title\nT-1,Printer\n,VPN\nT-1,Mail\nT-4\n"
TICKETS_SV = ["rad 3, kolumn Ticket: ingen extern nyckel: cellen är ''",
              "rad 4, kolumn Ticket: nyckeln 'T-1' igen (först på rad 2); en händelselogg kräver "
              "[events] fold = true",
              "rad 5, kolumn Title: raden slutar efter 1 av 2 kolumner (avkortad rad?)"]
TICKETS_EN = ["line 3, column Ticket: no external key: the cell is ''",
              "line 4, column Ticket: key 'T-1' again (first on line 2); an event log needs "
              "[events] fold = true",
              "line 5, column Title: line ends after 1 of 2 columns (truncated line?)"]


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(lang: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "ITSMDESK_DB")}
    env["ITSMDESK_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "itsmdesk", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def _has_all(text: str, expected: list[str]) -> None:
    for part in expected:
        assert part in text, (part, text)


# -- the service side: template, params, English reason ------------------------------------------

def test_row_errors_carry_templates_and_english_reasons(db, tmp_path):
    report = import_csv("cis", _write(tmp_path, "cis.csv", CIS))
    assert not report.applied
    assert [e.line for e in report.errors] == [3, 4, 5, 6, 7]
    for error, reason in zip(report.errors, REASONS_EN, strict=True):
        assert error.reason.startswith(reason)
        assert error.template and error.reason == error.template.format(**error.params)
    first = report.errors[0]
    assert (first.template, first.params) == ("unknown CI class '{name}'", {"name": "spaceship"})
    # an attribute error keeps the ValidationError's own template and parameters
    attr = report.errors[-1]
    assert attr.template == "Attribute {attr}: '{value}' is not a valid {type}"
    assert attr.params["attr"] == "ram_gb" and attr.params["value"] == "lots"
    # as_dict (the --json output) keeps the English reason beside the template
    data = report.as_dict()["errors"][0]
    assert data["reason"] == "unknown CI class 'spaceship'"
    assert data["params"] == {"name": "spaceship"}


def test_row_error_helpers():
    error = row_error(4, "site", N_("unknown site '{name}'"), name="Mars")
    assert error == RowError(4, "site", "unknown site 'Mars'", "unknown site '{name}'",
                             {"name": "Mars"})
    assert str(error) == "line 4, column site: unknown site 'Mars'"
    carried = row_error_from(2, "x", ValidationError(N_("Unknown time zone {tz}"), tz="Mars/Base"))
    assert (carried.reason, carried.template, carried.params) == (
        "Unknown time zone Mars/Base", "Unknown time zone {tz}", {"tz": "Mars/Base"})
    plain = row_error_from(2, "x", ValueError("'x' is not a number"))
    assert (plain.reason, plain.template, plain.params) == ("'x' is not a number", "", {})
    # old-style three-argument RowErrors still work (no template: shown as they are)
    assert RowError(1, "", "legacy").template == ""


# -- the command line -----------------------------------------------------------------------------

def test_cli_import_reasons_in_swedish_json_and_rejects_in_english(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("en_US", "--db", url, "init").returncode == 0
    path = _write(tmp_path, "cis.csv", CIS)

    sv = run("sv_SE", "--db", url, "import", "cis", str(path), "--quiet")
    assert sv.returncode == 1
    _has_all(sv.stderr, CIS_SV)
    assert "line 3" not in sv.stderr and "unknown CI class" not in sv.stderr
    assert "already appears" not in sv.stderr and "is not one of" not in sv.stderr

    js = run("sv_SE", "--db", url, "import", "cis", str(path), "--quiet", "--json")
    assert js.returncode == 1
    reasons = [e["reason"] for e in json.loads(js.stdout)["errors"]]
    assert len(reasons) == len(REASONS_EN)
    for reason, english in zip(reasons, REASONS_EN, strict=True):
        assert reason.startswith(english)

    rejects = tmp_path / "rejected.csv"
    skip = run("sv_SE", "--db", url, "import", "cis", str(path), "--quiet",
               "--skip-invalid", str(rejects))
    assert skip.returncode == 0, skip.stderr
    _has_all(skip.stderr, CIS_SV)
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["_line"] for r in rows] == ["3", "4", "5", "6", "7"]
    assert rows[0]["_errors"] == "class: unknown CI class 'spaceship'"
    assert rows[2]["_errors"] == "name: 'web-01' already appears on line 2"
    assert "okänd" not in rejects.read_text(encoding="utf-8")

    rels = _write(tmp_path, "rels.csv", RELS)
    sv = run("sv_SE", "--db", url, "import", "relations", str(rels), "--quiet")
    assert sv.returncode == 1
    _has_all(sv.stderr, RELS_SV)
    assert "no CI named" not in sv.stderr

    en = run("en_US", "--db", url, "import", "relations", str(rels), "--quiet")
    assert en.returncode == 1
    _has_all(en.stderr, ["line 2, column target: no CI named 'nope'",
                         "line 3, column target: a CI cannot relate to itself"])
    assert "rad " not in en.stderr


def test_cli_mapped_import_and_audit_in_swedish(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("en_US", "--db", url, "init").returncode == 0
    mapping = _write(tmp_path, "map.toml", MAP)
    tickets = _write(tmp_path, "tickets.csv", TICKETS)
    sv = run("sv_SE", "--db", url, "import", "incidents", str(tickets), "--map", str(mapping),
             "--quiet")
    assert sv.returncode == 1
    _has_all(sv.stderr, TICKETS_SV)
    assert "no external key" not in sv.stderr

    js = run("sv_SE", "--db", url, "import", "incidents", str(tickets), "--map", str(mapping),
             "--quiet", "--json")
    reasons = [e["reason"] for e in json.loads(js.stdout)["errors"]]
    assert any(r.startswith("no external key") for r in reasons)  # (JSON: not translated)
    assert not any("ingen extern nyckel" in r for r in reasons)

    scan = _write(tmp_path, "scan.csv", "name,class\nweb-09,spaceship\n")
    audit = run("sv_SE", "--db", url, "audit", str(scan))
    assert audit.returncode == 0, audit.stderr
    assert "rad 2, kolumn class: okänd CI-klass 'spaceship'" in audit.stdout
    en = run("en_US", "--db", url, "audit", str(scan))
    assert "line 2, column class: unknown CI class 'spaceship'" in en.stdout


def test_cli_in_english_unchanged(sqlite_db, tmp_path, capsys):
    url = f"sqlite:///{sqlite_db.path}"
    path = _write(tmp_path, "cis.csv", CIS)
    assert main(["--db", url, "import", "cis", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err
    _has_all(err, CIS_EN)
    assert "rad " not in err
    mapping = _write(tmp_path, "map.toml", MAP)
    tickets = _write(tmp_path, "tickets.csv", TICKETS)
    assert main(["--db", url, "import", "incidents", str(tickets), "--map", str(mapping),
                 "--quiet"]) == 1
    _has_all(capsys.readouterr().err, TICKETS_EN)


# -- the GUI --------------------------------------------------------------------------------------

def _errors_table(dialog) -> list[tuple[str, str, str]]:
    table = dialog.errors
    return [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]


def _cmdb_dialogs(ctx, qtbot, tmp_path):
    from itsmdesk.views.cmdb.dialogs import AuditDialog, ImportDialog

    cmdb.ensure_standard_classes()
    dialog = ImportDialog(ctx, "cis")
    qtbot.addWidget(dialog)
    dialog.path.setText(str(_write(tmp_path, "cis.csv", CIS)))
    dialog.preview()
    audit = AuditDialog(ctx)
    qtbot.addWidget(audit)
    audit.path.setText(str(_write(tmp_path, "scan.csv", "name,class\nweb-09,spaceship\n")))
    audit.run_audit()
    bad = audit.result.topLevelItem(3)
    return _errors_table(dialog), [bad.child(i).text(0) for i in range(bad.childCount())]


def test_cmdb_import_and_audit_dialogs_in_swedish(swedish, ctx, qtbot, tmp_path):
    rows, audit_rows = _cmdb_dialogs(ctx, qtbot, tmp_path)
    assert [r[:2] for r in rows] == [("3", "class"), ("4", "status"), ("5", "name"),
                                     ("6", "name"), ("7", "ram_gb")]
    for (_line, _col, reason), swedish_reason in zip(rows, REASONS_SV, strict=True):
        assert reason.startswith(swedish_reason), reason
    assert audit_rows == ["rad 2, kolumn class: okänd CI-klass 'spaceship'"]


def test_cmdb_import_and_audit_dialogs_in_english(ctx, qtbot, tmp_path):
    rows, audit_rows = _cmdb_dialogs(ctx, qtbot, tmp_path)
    for (_line, _col, reason), english in zip(rows, REASONS_EN, strict=True):
        assert reason.startswith(english), reason
    assert audit_rows == ["line 2, column class: unknown CI class 'spaceship'"]


def _wizard_errors(ctx, qtbot, tmp_path) -> tuple[str, list[str]]:
    from itsmdesk.views.importer.wizard import ImportWizard

    wizard = ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.file_page.path.setText(str(_write(tmp_path, "tickets.csv", TICKETS)))
    wizard.next()
    preview_error = wizard.preview_page.error.text()
    wizard.next()
    page = wizard.mapping_page
    page.key.setCurrentIndex(page.key.findData("Ticket"))
    page.combos["title"].setCurrentIndex(page.combos["title"].findData("Title"))
    wizard.next()
    errors = wizard.dry_page.errors
    return preview_error, [errors.item(i).text() for i in range(errors.count())]


def test_import_wizard_rows_in_swedish(swedish, ctx, qtbot, tmp_path):
    preview_error, rows = _wizard_errors(ctx, qtbot, tmp_path)
    assert TICKETS_SV[2] in preview_error
    assert rows == TICKETS_SV


def test_import_wizard_rows_in_english(ctx, qtbot, tmp_path):
    preview_error, rows = _wizard_errors(ctx, qtbot, tmp_path)
    assert TICKETS_EN[2] in preview_error
    assert rows == TICKETS_EN


# -- mapped import: per-cell conversion errors and the record kind of a missing name -------------

CELL_MAP = """
kind = "incidents"
key = "Ticket"

[source]
date_formats = ["%d/%m/%Y %H:%M"]

[fields]
title = "Title"
opened_at = "Opened"
impact = "Impact"
major = "Major"
caller = "Caller"
status = { column = "State", map = { Open = "new", Done = "closed" } }
"""
CELLS = ("Ticket,Title,Opened,Impact,Major,Caller,State\n"
         "T-1,Printer,2024-03-05,2,yes,,Open\n"
         "T-2,VPN,05/03/2024 08:15,lots,no,,Done\n"
         "T-3,Mail,05/03/2024 08:15,2.5,maybe,,Parked\n"
         "T-4,Disk,05/03/2024 08:15,2,no,Nobody,Open\n")
CELLS_EN = ["line 2, column Opened: '2024-03-05' matches none of the date formats %d/%m/%Y %H:%M",
            "line 3, column Impact: 'lots' is not a number (decimal separator '.')",
            "line 4, column Impact: '2.5' is not a whole number",
            "line 4, column Major: 'maybe' is neither true (",
            "line 4, column State: unknown value 'Parked' (the map knows: Done, Open)",
            "line 5, column Caller: no person 'Nobody' (add create_missing = true to the mapping "
            "to create it)"]
CELLS_SV = ["rad 2, kolumn Opened: '2024-03-05' passar inget av datumformaten %d/%m/%Y %H:%M",
            "rad 3, kolumn Impact: 'lots' är inte ett tal (decimaltecken '.')",
            "rad 4, kolumn Impact: '2.5' är inte ett heltal",
            "rad 4, kolumn Major: 'maybe' är varken sant (",
            "rad 4, kolumn State: okänt värde 'Parked' (mappningen känner till: Done, Open)",
            "rad 5, kolumn Caller: personen 'Nobody' finns inte (lägg till create_missing = true"]


def test_mapped_cell_errors_carry_templates(db, tmp_path):
    from itsmdesk.services.importing.mapped import run_import

    report = run_import("incidents", _write(tmp_path, "cells.csv", CELLS),
                        _write(tmp_path, "cells.toml", CELL_MAP))
    assert not report.applied
    assert [(e.line, e.column) for e in report.errors] == [
        (2, "Opened"), (3, "Impact"), (4, "Impact"), (4, "Major"), (4, "State"), (5, "Caller")]
    for error, english in zip(report.errors, CELLS_EN, strict=True):
        assert error.template, error
        assert error.reason == error.template.format(**error.params)
        assert str(error).startswith(english), (str(error), english)
    assert report.errors[1].template == "{value} is not a number (decimal separator {separator})"
    assert report.errors[5].params == {"kind": "person", "value": "'Nobody'"}


def test_cli_mapped_cell_errors_in_swedish_and_english(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("en_US", "--db", url, "init").returncode == 0
    args = ("--db", url, "import", "incidents", str(_write(tmp_path, "cells.csv", CELLS)),
            "--map", str(_write(tmp_path, "cells.toml", CELL_MAP)), "--quiet")
    sv = run("sv_SE", *args)
    assert sv.returncode == 1
    _has_all(sv.stderr, CELLS_SV)
    for english in ("matches none", "is not a number", "whole number", "neither true",
                    "unknown value", "no person", "line "):
        assert english not in sv.stderr, english
    en = run("en_US", *args)
    assert en.returncode == 1
    _has_all(en.stderr, CELLS_EN)
    assert "rad " not in en.stderr and "personen" not in en.stderr
    js = run("sv_SE", *args, "--json")
    reasons = [e["reason"] for e in json.loads(js.stdout)["errors"]]
    assert reasons[2] == "'2.5' is not a whole number"


def test_bad_event_time_and_missing_kinds_in_swedish(swedish):
    from itsmdesk.i18n import template_text
    from itsmdesk.services.importing.mapped import MISSING_TEMPLATE, MISSING_TEMPLATES
    from itsmdesk.services.importing.values import parse_datetime

    with pytest.raises(ValueError) as info:
        parse_datetime("yesterday", ["%d/%m/%Y %H:%M"])
    error = row_error_from(3, "When", info.value)
    assert error.reason == "'yesterday' matches none of the date formats %d/%m/%Y %H:%M"
    assert (template_text(error.template, error.params, error.reason)
            == "'yesterday' passar inget av datumformaten %d/%m/%Y %H:%M")
    # every per-kind template reads like the generic one in English and has its own Swedish
    for kind, template in MISSING_TEMPLATES.items():
        assert template.format(value="'x'") == MISSING_TEMPLATE.format(kind=kind, value="'x'")
        swedish_text = template_text(template, {"kind": kind, "value": "'x'"})
        assert swedish_text.endswith("'x' finns inte (lägg till create_missing = true i "
                                     "mappningen för att skapa saknade poster)"), swedish_text
        generic = template_text(MISSING_TEMPLATE, {"kind": kind, "value": "'x'"})
        assert swedish_text != generic and not swedish_text.startswith(kind + " "), swedish_text


def test_mapped_import_bad_event_time_in_swedish(swedish, db, tmp_path):
    from itsmdesk.i18n import template_text
    from itsmdesk.services.importing.mapped import run_import

    mapping = _write(tmp_path, "events.toml", MAP + '\n[events]\nat = "When"\n')
    report = run_import("incidents", _write(tmp_path, "events.csv",
                                            "Ticket,Title,When\nT-1,Printer,soon\n"), mapping)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (2, "When", "'soon' matches none of the date formats %Y-%m-%d %H:%M:%S, %Y-%m-%d %H:%M, "
                    "%Y-%m-%dT%H:%M:%S, %Y-%m-%d")]
    error = report.errors[0]
    assert template_text(error.template, error.params).startswith(
        "'soon' passar inget av datumformaten %Y-%m-%d %H:%M:%S, %Y-%m-%d %H:%M, ")
    from itsmdesk.views.importer.wizard import row_error_text

    assert row_error_text(error).startswith("rad 2, kolumn When: 'soon' passar inget av")


def test_missing_columns_delimiter_hint_in_swedish(swedish, db, tmp_path):
    from itsmdesk.i18n import error_text
    from itsmdesk.services.importing.mapped import run_import

    mapping = _write(tmp_path, "comma.toml", MAP + '\n[source]\ndelimiter = ","\n')
    with pytest.raises(ValidationError) as info:
        run_import("incidents", _write(tmp_path, "semi.csv", "Ticket;Title;Note\nT-1;VPN;x\n"),
                   mapping)
    assert str(info.value) == (
        "Line 1: column(s) 'Ticket', 'Title' named in the mapping are not in the file's header "
        "(1 columns: Ticket;Title;Note). The file looks semicolon-separated; set delimiter in "
        "[source].")
    assert error_text(info.value).endswith(
        "Filen ser ut att vara semikolonavgränsad; ange delimiter i [source].")
    assert "looks" not in error_text(info.value)
