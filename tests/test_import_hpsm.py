"""HP Service Manager extracts (issue 19): keys of several columns, row filters, derived values,
value maps after templates, scale maps, the affected CIs of changes, interactions.

The fixture (tests/fixtures/hpsm/, see SOURCE.txt there) has the shapes of a real HPSM extract:
semicolons, decimal commas, day-first dates, ``#N/B`` and ``#MULTIVALUE`` cells, one change row
per change x CI.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from itsmdesk.errors import ValidationError
from itsmdesk.models.change import Change
from itsmdesk.models.cmdb import CI
from itsmdesk.models.incident import Incident
from itsmdesk.services.importing.mapped import run_import
from itsmdesk.services.importing.spec import parse_mapping, to_toml

HPSM = Path(__file__).parent / "fixtures" / "hpsm"

SOURCE = """
[source]
delimiter = ";"
decimal = ","
date_formats = ["%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S"]
null_values = ["#N/B", "#MULTIVALUE"]
true_values = ["y", "j", "ja"]
false_values = ["n", "nee"]
"""


def mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- keys of several columns, row filters -----------------------------------------------------

CIS_MAP = """
kind = "cis"
key = ["CI Type", "CI Name"]
""" + SOURCE + """
[[skip]]
values = ["#N/B", "#MULTIVALUE"]     # no column: the key's columns

[fields]
name = "{name}"
ci_class = { column = "CI Subtype", create_missing = true, strict = false, map = { "Linux Server" = "server", "Windows Server" = "server" } }
"""


def test_key_of_two_columns_and_skipped_rows(db, tmp_path):
    data = HPSM / "cis.csv"
    # the name alone: SAP000005 is both an application and a subapplication -> a clash the dry
    # run reports (the import would meet it)
    plain = mapping(tmp_path, CIS_MAP.replace('"{name}"', '"CI Name"'))
    report = run_import("cis", data, plain, dry_run=True)
    assert report.extra["skipped"] == 1
    assert [(e.line, e.column) for e in report.errors] == [(5, "CI Name")]
    # a name made of both
    both = mapping(tmp_path, CIS_MAP.replace('"{name}"', '{ template = "{CI Name} ({CI Type})" }'))
    report = run_import("cis", data, both)
    assert report.applied and report.created == 5 and report.extra["skipped"] == 1
    sap = CI.get(CI.external_key == "subapplication/SAP000005")
    assert sap.name == "SAP000005 (subapplication)"
    assert CI.get(CI.external_key == "computer/LNX000033").ci_class.name == "server"
    # re-import: matched on the composite key, nothing changes
    again = run_import("cis", data, both)
    assert again.unchanged == 5 and again.created == 0


def test_skip_by_any_column_condition(db, tmp_path):
    text = CIS_MAP.replace('"{name}"', '{ template = "{CI Name} ({CI Type})" }').replace(
        "[fields]", '[[skip]]\ncolumn = "Status"\nvalues = ["in use"]\nnot = true\n\n'
        '[[skip]]\ncolumn = "CI Name"\npattern = "SAP.*"\n\n[fields]')
    report = run_import("cis", HPSM / "cis.csv", mapping(tmp_path, text))
    # skipped: the #N/B row, the retired one, both SAP rows
    assert report.extra["skipped"] == 4 and report.created == 2
    assert sorted(c.external_key for c in CI.select()) == ["application/WBA000124",
                                                            "computer/LNX000033"]


def test_composite_key_part_missing_names_the_cell(db, tmp_path):
    text = CIS_MAP.replace('"{name}"', '"CI Name"').replace(
        '[[skip]]\nvalues = ["#N/B", "#MULTIVALUE"]     # no column: the key\'s columns\n', "")
    report = run_import("cis", HPSM / "cis.csv", mapping(tmp_path, text), dry_run=True)
    missing = [e for e in report.errors if e.line == 6]
    assert [e.reason for e in missing] == ["no external key: the cell is '#N/B/#N/B'"]


# --- derived values, value map after a template, scale ----------------------------------------

WIDE_MAP = """
kind = "changes"
key = "Change ID"
""" + SOURCE + """
[fields]
title = "Title"
# the flag column makes it an emergency; otherwise normal
type = { value = "normal", when = [ { column = "Emergency", values = ["J", "Y"], value = "emergency" } ] }
# had an outage when a CI 2 is named (here: any non-empty cell)
outage = { value = false, when = [ { column = "CI 2", empty = false, value = true } ] }
"""


def test_values_derived_from_other_columns(db, tmp_path):
    report = run_import("changes", HPSM / "changes-wide.csv", mapping(tmp_path, WIDE_MAP))
    assert report.applied and report.created == 3
    got = {c.external_key: (c.type, c.outage) for c in Change.select()}
    # C2's CI 2 is #N/B: a null, so empty
    assert got == {"C1": ("normal", True), "C2": ("emergency", False), "C3": ("normal", True)}


INCIDENT_MAP = """
kind = "incidents"
key = "Incident ID"
""" + SOURCE + """
[fields]
title = { template = "{Category}: {CI Name (aff)}", default = "HPSM {Incident ID}" }
opened_at = "Open Time"
resolved_at = "Resolved Time"
closed_at = "Close Time"
priority = "Priority"
# a value map applied to what the template made
status = { template = "{Status}/{Alert Status}", map = { "Closed/closed" = "closed", "Work in progress/open" = "in_progress" } }
# HPSM's 1-5 scale onto our 1-3 (halves to the more urgent end)
impact = { column = "Impact", scale = { from = [1, 5], to = [1, 3] } }
urgency = { column = "Urgency", scale = { from = [1, 5], to = [1, 3], round = "up" } }
"""


def test_value_map_after_template_and_scale(db, tmp_path):
    report = run_import("incidents", HPSM / "incidents.csv", mapping(tmp_path, INCIDENT_MAP))
    assert report.applied and report.created == 7, report.errors
    rows = {i.external_key: i for i in Incident.select()}
    assert rows["IM0000004"].status == "closed" and rows["IM0000014"].status == "in_progress"
    # impact 1..5 -> 1,1,2,2,3 (down); urgency 1..5 -> 1,2,2,3,3 (up); "5 - Very Low" reads 5
    assert [(rows[k].impact, rows[k].urgency) for k in ("IM0000004", "IM0000005", "IM0000012",
                                                        "IM0000013", "IM0000014")] == \
        [(2, 3), (2, 2), (1, 1), (3, 3), (1, 2)]
    assert rows["IM0000013"].title == "request for information"
    assert rows["IM0000004"].title == "incident: SUB000508"
    assert rows["IM0000004"].opened_at == dt.datetime(2012, 2, 5, 13, 32)


def test_scale_out_of_range_is_a_row_error(db, tmp_path):
    text = INCIDENT_MAP.replace("from = [1, 5], to = [1, 3] }", "from = [1, 4], to = [1, 3] }", 1)
    report = run_import("incidents", HPSM / "incidents.csv", mapping(tmp_path, text),
                        dry_run=True)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (7, "Impact", "'5' is not on the scale 1 to 4")]


@pytest.mark.parametrize("text, message", [
    ('[fields]\nx = { when = [ { column = "a", value = 1 } ] }\n', "exactly one of values"),
    ('[fields]\nx = { when = [ { column = "a", values = ["1"] } ] }\n', "needs value ="),
    ('[fields]\nx = { column = "a", scale = { from = [1, 1], to = [1, 3] } }\n',
     "two different numbers"),
    ('[fields]\nx = { column = "a", scale = { from = [1, 5] } }\n', "scale must be"),
    ('[[skip]]\ncolumn = "a"\npattern = "("\n[fields]\nx = "a"\n', "bad pattern"),
    ('[[skip]]\nvalues = ["#N/B"]\n[fields]\nx = "a"\n', "tests the key"),
    ('key = []\n[fields]\nx = "a"\n', "a list of column names"),
])
def test_new_constructs_checked_when_read(text, message):
    with pytest.raises(ValidationError) as info:
        parse_mapping(text, "m.toml")
    assert message in info.value.message


def test_new_constructs_survive_writing_the_mapping_back(tmp_path):
    spec = parse_mapping(CIS_MAP.replace('"{name}"', '"CI Name"') + INCIDENT_MAP.split(
        "[fields]")[1].replace("title =", "description =", 1), "m.toml")
    again = parse_mapping(to_toml(spec), "m.toml")
    assert again.key_columns == ["CI Type", "CI Name"] and again.skip == spec.skip
    assert again.fields["urgency"].scale == spec.fields["urgency"].scale
    wide = parse_mapping(WIDE_MAP, "w.toml")
    assert parse_mapping(to_toml(wide), "w.toml").fields["type"].when == wide.fields["type"].when


def test_each_ci_field_creates_cis_of_its_own_class(db, tmp_path):
    text = INCIDENT_MAP + """
ci = { column = "CI Name (aff)", create_missing = true, class_column = "CI Subtype (aff)", class_map = { "Windows Server" = "server", "Linux Server" = "server" }, default_class = "application" }
service = { column = "CI Name (CBy)", create_missing = true, default_class = "business_service" }
"""
    report = run_import("incidents", HPSM / "incidents.csv", mapping(tmp_path, text))
    assert report.applied, report.errors
    classes = {c.name: c.ci_class.name for c in CI.select()}
    assert classes["LNX000033"] == "server"  # by the affected CI's class column
    assert classes["CBS000008"] == "business_service"  # named only by the second field
    incident = Incident.get(Incident.external_key == "IM0000006")
    assert (incident.ci.name, incident.service.name) == ("DTA000024", "CBS000008")


# --- a change's affected CIs ------------------------------------------------------------------

CHANGE_MAP = """
kind = "changes"
key = "Change ID"
""" + SOURCE + """
[[skip]]
values = ["#N/B", "#MULTIVALUE"]

[fields]
title = { template = "{Change Type} ({Risk Assessment})", default = "HPSM change {Change ID}" }
planned_start = "Planned Start"
planned_end = "Planned End"
type = { column = "Change Type", map = { "Standard Activity Type" = "standard", "Change Component Request" = "normal", "Master Change" = "normal" }, when = [ { column = "Emergency Change", values = ["Y"], value = "emergency" } ] }
outage = { value = false, when = [ { column = "Scheduled Downtime Start", empty = false, value = true } ] }
status = { value = "scheduled", when = [ { column = "Change record Close Time", empty = false, value = "closed" } ] }
closed_at = "Change record Close Time"

[fields.affected_cis]
column = "CI Name (aff)"
create_missing = true
class_column = "CI Subtype (aff)"
class_map = { "Windows Server" = "server", "Linux Server" = "server", "Web Based Application" = "application" }
default_class = "application"
"""


def _affected(change: Change) -> list[str]:
    return sorted(link.ci.name for link in change.affected_cis)


def test_one_row_per_change_and_ci(db, tmp_path):
    from itsmdesk.models.change import ChangeCI

    path = mapping(tmp_path, CHANGE_MAP)
    dry = run_import("changes", HPSM / "changes.csv", path, dry_run=True)
    assert not dry.errors and dry.created == 3 and dry.extra["affected_cis_added"] == 6
    report = run_import("changes", HPSM / "changes.csv", path)
    assert report.applied and report.created == 3 and report.extra["skipped"] == 1
    changes = {c.external_key: c for c in Change.select()}
    assert _affected(changes["C00000011"]) == ["CBS000008", "LNX000033", "WBA000124"]
    assert _affected(changes["C00000012"]) == ["SAP000005"]  # the #MULTIVALUE CI left out
    # the #N/B change row skipped; the change's second row adds its CI
    assert _affected(changes["C00000013"]) == ["DTA000024", "SUB000508"]
    c11 = changes["C00000011"]
    assert (c11.type, c11.outage, c11.status) == ("normal", True, "closed")
    assert (changes["C00000012"].type, changes["C00000012"].outage) == ("emergency", False)
    assert (changes["C00000013"].type, changes["C00000013"].status) == ("standard", "scheduled")
    assert CI.get(CI.name == "LNX000033").ci_class.name == "server"
    # journalled on the change (replay rebuilds the links)
    from itsmdesk.models.journal import JournalEntry

    added = JournalEntry.select().where((JournalEntry.record_id == c11.id)
                                        & (JournalEntry.field == "change_ci+"))
    assert added.count() == 3
    # re-import: nothing new; a later export with one more CI adds just that link
    again = run_import("changes", HPSM / "changes.csv", path)
    assert again.unchanged == 3 and again.extra["affected_cis_added"] == 0
    more = tmp_path / "more.csv"
    lines = (HPSM / "changes.csv").read_text(encoding="utf-8").splitlines()
    more.write_text("\n".join(lines + [lines[4].replace("SAP000005", "DTA000024", 1)]) + "\n",
                    encoding="utf-8")
    version = Change.get(Change.external_key == "C00000012").version
    later = run_import("changes", more, path)
    assert later.updated == 1 and later.extra["affected_cis_added"] == 1
    c12 = Change.get(Change.external_key == "C00000012")
    assert _affected(c12) == ["DTA000024", "SAP000005"] and c12.version == version + 1
    assert ChangeCI.select().count() == 7


def test_several_ci_columns(db, tmp_path):
    text = WIDE_MAP + """
[fields.affected_cis]
columns = ["CI 1", "CI 2", "CI 3", "Other CIs"]
split = ","
create_missing = true
"""
    report = run_import("changes", HPSM / "changes-wide.csv", mapping(tmp_path, text))
    assert report.applied and report.extra["affected_cis_added"] == 6
    got = {c.external_key: _affected(c) for c in Change.select()}
    assert got == {"C1": ["CBS000008", "LNX000033", "SAP000005", "WBA000124"],
                   "C2": ["CBS000008"], "C3": ["SAP000005"]}


def test_unknown_affected_ci_without_create_is_a_row_error(db, tmp_path):
    text = WIDE_MAP + '\naffected_cis = { columns = ["CI 1", "CI 2"] }\n'
    report = run_import("changes", HPSM / "changes-wide.csv", mapping(tmp_path, text),
                        dry_run=True)
    assert {(e.line, e.column) for e in report.errors} == {(2, "affected_cis"),
                                                            (3, "affected_cis"),
                                                            (4, "affected_cis")}
    assert "no ci 'WBA000124'" in report.errors[0].reason


def test_imported_links_rebuilt_from_the_journal(db, tmp_path):
    from test_replay import _diff, _rebuild

    path = mapping(tmp_path, CHANGE_MAP)
    assert run_import("changes", HPSM / "changes.csv", path).applied
    more = tmp_path / "more.csv"
    lines = (HPSM / "changes.csv").read_text(encoding="utf-8").splitlines()
    more.write_text("\n".join(lines + [lines[4].replace("SAP000005", "DTA000024", 1)]) + "\n",
                    encoding="utf-8")
    assert run_import("changes", more, path).updated == 1
    before, after, result = _rebuild()
    assert not result.skipped and len(before["change_ci"]) == 7
    assert _diff(before, after) == []


# --- the ready HP Service Manager mappings, new fields, interactions, SLA -----------------------

def _import_all() -> None:
    for kind in ("incidents", "changes", "interactions"):
        report = run_import(kind, HPSM / f"{kind}.csv", f"hpsm-{kind}")
        assert report.applied and not report.errors, (kind, report.errors)


def test_ready_hpsm_mappings_import_faithfully(db):
    from itsmdesk.models.incident import Interaction

    _import_all()
    inc = {i.external_key: i for i in Incident.select()}
    # HPSM's IM0000005 reopened, reassigned 33 times, 4354.79 h of handling (decimal commas)
    five = inc["IM0000005"]
    assert five.reopened_at == dt.datetime(2013, 12, 2, 11, 31)  # 12:31 Amsterdam, in UTC
    assert (five.reassignments, five.handle_hours) == (33, pytest.approx(4354.786667))
    # a second CI: affected beside caused-by, each created with its own class
    six = inc["IM0000006"]
    assert (six.ci.name, six.caused_by_ci.name) == ("DTA000024", "CBS000008")
    assert six.caused_by_ci.ci_class.name == "server" and six.ci.ci_class.name == "application"
    assert inc["IM0000013"].kind == "request" and inc["IM0000013"].ci is None
    # the SLA clock on import: resolved three weeks after opening at priority 2 -> breached;
    # one resolved within the hour -> met
    assert inc["IM0000011"].sla_state == "breached" and inc["IM0000011"].escalation_level == 2
    assert inc["IM0000012"].sla_state == "met"
    assert inc["IM0000011"].resolution_due < inc["IM0000011"].resolved_at
    # changes: fields with no edit before, the affected CIs
    chg = {c.external_key: c for c in Change.select()}
    c11 = chg["C00000011"]
    assert (c11.opened_at, c11.requested_end, c11.cab_approval_needed) == (
        dt.datetime(2013, 3, 28, 9, 12), dt.datetime(2013, 4, 11, 22, 0), True)
    assert (c11.type, c11.status, c11.outage, c11.risk_level) == ("normal", "closed", True,
                                                                  "medium")
    assert inc["IM0000011"].change_id == c11.id  # the placeholder became the real change
    assert (chg["C00000012"].type, chg["C00000013"].type) == ("emergency", "standard")
    assert chg["C00000013"].status == "scheduled" and chg["C00000013"].cab_approval_needed is False
    assert _affected(c11) == ["CBS000008", "LNX000033", "WBA000124"]
    # interactions: linked to the incidents they became, references INT-
    contacts = {c.external_key: c for c in Interaction.select()}
    assert len(contacts) == 5 and all(c.ref.startswith("INT-") for c in contacts.values())
    assert contacts["SD0000007"].incident_id == inc["IM0000004"].id
    assert contacts["SD0000025"].incident is None and contacts["SD0000026"].ci is None
    assert contacts["SD0000014"].contacted_at == dt.datetime(2012, 3, 18, 15, 58)
    # a second import changes nothing
    for kind in ("incidents", "changes", "interactions"):
        again = run_import(kind, HPSM / f"{kind}.csv", f"hpsm-{kind}")
        assert again.created == 0 and again.updated == 0, kind


def test_interactions_listed_and_on_the_incident(db, tmp_path, capsys):
    from itsmdesk.cli import main
    from itsmdesk.services.listing import list_records
    from itsmdesk.services.servicedesk import incidents

    _import_all()
    rows = list_records("interactions")
    assert len(rows) == 5 and rows[0]["ref"].startswith("INT-")
    linked = {r["external_key"]: r["status"] for r in rows}
    four = Incident.get(Incident.external_key == "IM0000004")
    assert linked["SD0000007"] == four.ref and linked["SD0000025"] == "-"
    view = incidents.incident_view(four.id)
    assert [c.summary for c in view.interactions] == ["incident: SUB000508 (Other)"]
    assert (view.reassignments, view.caused_by_ci_name) == (26, "SUB000508")
    if db.backend == "sqlite":
        assert main(["--db", db.url, "list", "interactions"]) == 0
        out = capsys.readouterr().out
        assert "INT-000001" in out and four.ref in out


def test_reimport_moves_the_sla_clock(db, tmp_path):
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    opened = now - dt.timedelta(minutes=10)
    text = """
kind = "incidents"
key = "id"
[source]
date_formats = ["%Y-%m-%d %H:%M:%S"]
[fields]
title = "t"
priority = { value = 3 }
opened_at = "opened"
resolved_at = "resolved"
status = "status"
"""
    path = mapping(tmp_path, text)
    first = tmp_path / "a.csv"
    first.write_text(f"id,t,opened,resolved,status\nX1,Mail,{opened},,in_progress\n",
                     encoding="utf-8")
    assert run_import("incidents", first, path).created == 1
    row = Incident.get(Incident.external_key == "X1")
    assert row.sla_state == "ok"
    # the later export: resolved long after (the opening moved back a month)
    later = tmp_path / "b.csv"
    back = opened - dt.timedelta(days=30)
    later.write_text(f"id,t,opened,resolved,status\nX1,Mail,{back},{now},resolved\n",
                     encoding="utf-8")
    assert run_import("incidents", later, path).updated == 1
    row = Incident.get(Incident.external_key == "X1")
    assert (row.sla_state, row.escalation_level) == ("breached", 2)
    assert row.resolution_due < now


def test_deadline_from_the_file_decides_the_state(db, tmp_path):
    text = """
kind = "incidents"
key = "id"
[fields]
title = "t"
opened_at = "opened"
resolved_at = "resolved"
resolution_due = "due"
status = { value = "closed" }
"""
    data = tmp_path / "a.csv"
    data.write_text("id,t,opened,resolved,due\nA,late,2024-01-01 08:00,2024-01-03 08:00,"
                    "2024-01-02 08:00\nB,early,2024-01-01 08:00,2024-01-01 09:00,"
                    "2024-01-02 08:00\n", encoding="utf-8")
    assert run_import("incidents", data, mapping(tmp_path, text)).created == 2
    got = {i.external_key: (i.sla_state, i.resolution_due) for i in Incident.select()}
    assert got == {"A": ("breached", dt.datetime(2024, 1, 2, 8, 0)),
                   "B": ("met", dt.datetime(2024, 1, 2, 8, 0))}


def test_hpsm_imports_rebuilt_from_the_journal(db):
    from test_replay import _diff, _rebuild

    _import_all()
    before, after, result = _rebuild()
    assert not result.skipped and len(before["interaction"]) == 5
    assert _diff(before, after) == []


def test_migration_13_adds_the_columns_and_table(db):
    from itsmdesk.models import db as proxy
    from itsmdesk.models.migrations import MIGRATIONS

    database = proxy.obj
    pg = db.backend == "postgresql"
    dropped = ["reopened_at", "reassignments", "handle_hours"] + (["caused_by_ci_id"] if pg
                                                                   else [])
    for column in dropped:
        database.execute_sql(f'ALTER TABLE "incident" DROP COLUMN {column}')
    for column in ("opened_at", "requested_end", "cab_approval_needed"):
        database.execute_sql(f'ALTER TABLE "change" DROP COLUMN {column}')
    database.execute_sql('DROP TABLE "interaction"')
    migrate = dict((n, f) for n, _d, f in MIGRATIONS)[13]
    migrate(database)
    migrate(database)  # idempotent, as a fresh database runs it too
    columns = {c.name for c in database.get_columns("incident")}
    assert set(dropped) <= columns and database.table_exists("interaction")
    assert {"opened_at", "requested_end", "cab_approval_needed"} <= {
        c.name for c in database.get_columns("change")}
    _import_all()  # the migrated schema takes the import
    assert Incident.select().where(Incident.reassignments == 33).count() == 1
