"""Replay: an empty database rebuilt from the small demo's journal alone equals the original,
record for record and link for link, on SQLite and on PostgreSQL.  Sync stands on this."""

from __future__ import annotations

import datetime as dt

import peewee as pw

from itsmdesk.models import ALL_MODELS, RefCounter, Setting, journal_guard
from itsmdesk.models.base import SchemaInfo
from itsmdesk.models.base import db as proxy
from itsmdesk.services import records, replay
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import priority, sla


def _empty_all() -> None:
    database = proxy.obj
    sqlite = isinstance(database, pw.SqliteDatabase)
    if sqlite:
        database.execute_sql("PRAGMA foreign_keys = OFF")
    with database.atomic():
        journal_guard.remove_triggers(database)  # (the journal is append-only: rebuilt here)
        for model in reversed(pw.sort_models(ALL_MODELS)):
            if model is not SchemaInfo:
                database.execute_sql(f'DELETE FROM "{model._meta.table_name}"')
        journal_guard.install(database)
    if sqlite:
        database.execute_sql("PRAGMA foreign_keys = ON")


def _rebuild() -> tuple[dict, dict, replay.ReplayReport]:
    before = replay.table_dump()
    rows = replay.read_journal(proxy.obj)
    _empty_all()
    assert all(not v for v in replay.table_dump().values())
    report = replay.apply(rows)
    return before, replay.table_dump(), report


def _diff(before: dict, after: dict) -> list[str]:
    out = []
    for table, rows in before.items():
        if rows != after.get(table):
            theirs = {r.get("id") or r.get("key") or r.get("prefix"): r for r in after.get(table, [])}
            for row in rows:
                key = row.get("id") or row.get("key") or row.get("prefix")
                other = theirs.get(key)
                if other != row:
                    diffs = {k: (v, (other or {}).get(k)) for k, v in row.items()
                             if (other or {}).get(k) != v}
                    out.append(f"{table} {key}: {diffs if other else 'missing'}")
            if len(after.get(table, [])) != len(rows):
                out.append(f"{table}: {len(rows)} rows before, {len(after.get(table, []))} after")
    return out


def test_small_demo_rebuilt_from_its_journal(db):
    from itsmdesk.demo import builder

    builder.generate("small", 7)
    # settings are journalled records too
    priority.set_matrix({**priority.DEFAULT_MATRIX, "3,3": 4})
    sla.set_escalate_pct(80)
    before, after, report = _rebuild()
    assert report.created > 500 and report.children > 100 and report.updated > 100
    assert report.settings == 2 and not report.skipped
    assert sum(len(v) for v in before.values()) > 1000
    assert _diff(before, after) == []
    # the rebuilt database goes on working: references continue, settings read back
    assert Setting.get_by_id("priority_matrix").value["3,3"] == 4
    assert RefCounter.get_by_id("INC").value == max(
        int(r["ref"].split("-")[-1]) for r in before["incident"] if r["ref"].startswith("INC-"))


def test_replay_covers_every_kind_of_write(db):
    """Links, child rows added, changed and removed, deletes and settings, each rebuilt."""
    from itsmdesk.services import people
    from itsmdesk.services.change import cab, changes
    from itsmdesk.services.cmdb import cis
    from itsmdesk.services.servicedesk import incidents

    ann = people.create_person({"name": "Ann"})
    a = cis.create_ci({"name": "a", "ci_class": "server"})
    b = cis.create_ci({"name": "b", "ci_class": "server"})
    start = dt.datetime(2026, 5, 4, 20, 0)
    chg = changes.create_change({"title": "t", "planned_start": start,
                                 "planned_end": start + dt.timedelta(hours=1)}, cis=[a, b])
    changes.set_affected_cis(chg.id, [b])
    changes.cast_vote(chg.id, ann.id, "approve")
    changes.cast_vote(chg.id, ann.id, "reject", "second thoughts")
    meeting = changes.create_meeting({"title": "CAB", "starts_at": start}, attendees=[ann])
    cab.set_attendees(meeting.id, {ann.id: False})
    action = cab.add_action(meeting.id, "Check backups", ann.id)
    cab.set_action_done(action.id)
    inc = incidents.create_incident({"title": "x"})
    incidents.add_work_log(inc.id, "looked at it")
    rel = cis.create_relation(a, "runs_on", b)
    cis.delete_relation(rel.id)
    records.set_setting("custom", {"n": 1})
    records.set_setting("custom", {"n": 2})
    before, after, report = _rebuild()
    assert _diff(before, after) == []
    assert report.deleted == 1 and not report.skipped


CIS = """name,class,status,criticality,site,owner_team,version,min_members_up,external_key,os,ram_gb
web-01,virtual_machine,in production,high,OSL,Ops,RHEL 9,,vm-1,Linux,32
web-02,virtual_machine,,high,OSL,,RHEL 9,,,Linux,
db-01,database,,critical,,Ops,16.4,,,,
shop-app,application,planned,,,,2.1,1,,,
Shop,business_service,in_production,critical,,,,,,,
"""
CIS_LATER = """name,class,status,criticality,site,owner_team,version,min_members_up,external_key,os,ram_gb
web-01,virtual_machine,in maintenance,high,,Ops,RHEL 10,,vm-1,Linux,64
web-02,virtual_machine,,high,OSL,,RHEL 9,,,Linux,
db-01,database,,critical,,Ops,16.4,,,,
shop-app,application,in_production,low,,,2.2,2,,,
new-box,server,,,,,,,,,
"""
RELS = """source,type,target,redundant,propagates
Shop,depends_on,shop-app,,
shop-app,runs_on,web-01,true,
shop-app,runs_on,web-02,true,
shop-app,depends_on,db-01,false,both
"""
RELS_LATER = """source,type,target,redundant,propagates
shop-app,runs_on,web-02,false,
shop-app,depends_on,db-01,false,target_to_source
new-box,connected_to,db-01,,
"""


def test_imports_rebuilt_from_their_journal(db, tmp_path):
    """The bulk writers journal in the funnel's format: a CSV import of CIs and relations, a
    re-import changing some of them and a mapped import of an event log (then a longer export of
    it) replay to an equal database, imported history's times and authors included."""
    from pathlib import Path

    from itsmdesk.models.incident import Incident
    from itsmdesk.models.journal import JournalEntry
    from itsmdesk.services import people
    from itsmdesk.services.cmdb.csv_io import import_csv
    from itsmdesk.services.importing.mapped import run_import

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    people.create_site({"name": "Oslo", "code": "OSL"})
    people.create_team({"name": "Ops"})
    # a person at an offline site imports: who and the site's references are journalled too
    ann = Actor.for_person(people.create_person({"name": "Ann"}), "OSL")
    assert import_csv("cis", write("cis.csv", CIS), actor=ann).created == 5
    assert import_csv("relations", write("rels.csv", RELS), actor=ann).created == 4
    later = import_csv("cis", write("cis2.csv", CIS_LATER))
    assert (later.created, later.updated) == (1, 2)
    later = import_csv("relations", write("rels2.csv", RELS_LATER), actor=ann)
    assert (later.created, later.updated) == (1, 2)
    root = Path(__file__).resolve().parent
    log = root / "fixtures" / "import" / "uci_eventlog_sample.csv"
    mapping = root.parent / "resources" / "import-maps" / "servicenow-eventlog.toml"
    report = run_import("incidents", log, mapping, actor=ann)
    assert report.applied and report.created == 41
    assert Incident.get(Incident.external_key == "INC0000045").ref.startswith("INC-OSL-")
    # a later export: one incident reopened (an event newer than the imported ones)
    lines = log.read_text().splitlines()
    last = next(line for line in reversed(lines) if line.startswith("INC0000045,"))
    reopened = (last.replace(",Closed,false,", ",Active,true,")
                .replace("Updated by 908,5/3/2016 12:00", "Updated by 7,6/3/2016 09:30"))
    assert run_import("incidents", write("later.csv", "\n".join(lines + [reopened]) + "\n"),
                      mapping, actor=ann).updated == 1
    inc = Incident.get(Incident.external_key == "INC0000045")
    last_row = (JournalEntry.select().where(JournalEntry.record_id == inc.id)
                .order_by(JournalEntry.id.desc()).first())
    assert (last_row.at, last_row.who_name) == (dt.datetime(2016, 3, 6, 9, 30), "Updated by 7")
    assert (inc.updated_at, inc.version) == (last_row.at, last_row.version)

    before, after, result = _rebuild()
    assert not result.skipped
    assert len(before["incident"]) == 41 and len(before["relation"]) == 5
    assert len(before["person"]) > 1 and len(before["change"]) > 1  # created for the links
    assert _diff(before, after) == []


def _small_large(monkeypatch) -> None:  # noqa: ANN001
    """The large demo at a few thousand rows (its shape, not its size)."""
    from itsmdesk.demo import large

    for name, value in (("N_INCIDENTS", 300), ("N_REQUESTS", 30), ("N_CHANGES", 100),
                        ("N_PEOPLE", 400), ("N_PROBLEMS", 50), ("N_KNOWN_ERRORS", 20),
                        ("N_ARTICLES", 30)):
        monkeypatch.setattr(large, name, value)
    monkeypatch.setattr(large, "CI_PLAN", [(c, max(60, n // 1000)) for c, n in large.CI_PLAN])


def test_large_demo_journals_one_marker_row(db, monkeypatch):
    from itsmdesk.demo import large
    from itsmdesk.models.incident import Incident, WorkLog
    from itsmdesk.models.journal import JournalEntry

    _small_large(monkeypatch)
    before = JournalEntry.select().count()
    with records.capture() as changes:
        large.generate_large(3)
    assert Incident.select().count() == 330 and WorkLog.select().count() > 20
    rows = list(JournalEntry.select().where(JournalEntry.id > 0).order_by(JournalEntry.id))
    assert len(rows) == before + 1 and rows[-1].field == "!demo"
    assert changes.created["incident"] and changes.touches("work_log", "relation", "ci")
    assert RefCounter.get_by_id("INC").value == 300
    # the open tickets' stored SLA state is what their clock says (itsmdesk check: no drift)
    from itsmdesk.demo.builder import anchor
    from itsmdesk.services.servicedesk import sla

    checked, drifted = sla.check_open(anchor())
    assert checked >= 1 and drifted == []


def test_large_demo_with_its_journal_replays(db, monkeypatch):
    """``generate_large(journal=True)`` journals every record and child row in the funnel's
    format: the database replays to an equal one."""
    from itsmdesk.demo import large

    _small_large(monkeypatch)
    large.generate_large(3, journal=True)
    before, after, report = _rebuild()
    assert report.created > 1_500 and report.children > 300 and not report.skipped
    assert len(before["work_log"]) > 20
    assert _diff(before, after) == []


def test_bulk_journal_rows_come_back_exactly(db):
    """Thousands of rows at once (a sync; COPY on PostgreSQL where the journal allows it) are
    stored exactly: tabs, newlines, backslashes, the text ``\\N``, NULLs, non-ASCII."""
    import uuid

    before = replay.read_journal(proxy.obj)[-1][0] if replay.read_journal(proxy.obj) else 0
    batch = uuid.uuid4()
    at = dt.datetime(2026, 12, 5, 6, 30, 1)  # (SQLite keeps whole seconds)
    texts = ["tab\there", "two\nlines\r\n", "back\\slash", "\\N", "", None, "Åsa – ✓"]
    rows = [("incident", uuid.uuid4(), f"INC-{n:06d}", "description", texts[n % 7],
             texts[(n + 1) % 7], None if n % 3 else uuid.uuid4(), "Ann\tB", at, "OSL", n, batch)
            for n in range(1200)]
    with proxy.obj.atomic():
        records.insert_journal_rows(rows)
    back = replay.read_journal(proxy.obj, after_id=before)
    assert [r[1:] for r in back] == rows


def test_replay_folds_rows_per_record_but_keeps_their_order(db):
    """Field rows on one record, interleaved with other records' rows and with a child row
    added between them, end as applied one by one would leave them."""
    from itsmdesk.models.incident import Incident
    from itsmdesk.services.servicedesk import incidents

    a = incidents.create_incident({"title": "a"})
    b = incidents.create_incident({"title": "b"})
    mark = replay.read_journal(proxy.obj)[-1][0]
    records.update(Incident, a.id, None, {"title": "a1", "description": "d1"})
    records.update(Incident, b.id, None, {"title": "b1"})
    records.update(Incident, a.id, None, {"title": "a2"})
    incidents.add_work_log(a.id, "between")
    records.update(Incident, a.id, None, {"description": "d2"})
    records.update(Incident, b.id, None, {"title": "b2", "description": "bd"})
    records.update(Incident, a.id, None, {"title": "a3"})
    rows = replay.read_journal(proxy.obj, after_id=mark)
    expected = {r["id"]: r for r in replay.table_dump([Incident])["incident"]}
    with proxy.obj.atomic():  # back to where the rows started, then the rows again
        records.update(Incident, a.id, None, {"title": "a", "description": None})
        records.update(Incident, b.id, None, {"title": "b"})
        proxy.obj.execute_sql('DELETE FROM "work_log"')
    replay.apply(rows, keep_journal=False)
    got = {r["id"]: r for r in replay.table_dump([Incident])["incident"]}
    assert got == expected
    assert Incident.get_by_id(a.id).title == "a3" and Incident.get_by_id(b.id).description == "bd"
