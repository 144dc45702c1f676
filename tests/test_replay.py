"""Replay: an empty database rebuilt from the small demo's journal alone equals the original,
record for record and link for link, on SQLite and on PostgreSQL.  Sync stands on this."""

from __future__ import annotations

import datetime as dt

import peewee as pw

from itsmdesk.models import ALL_MODELS, RefCounter, Setting
from itsmdesk.models.base import SchemaInfo
from itsmdesk.models.base import db as proxy
from itsmdesk.services import records, replay
from itsmdesk.services.servicedesk import priority, sla


def _empty_all() -> None:
    database = proxy.obj
    sqlite = isinstance(database, pw.SqliteDatabase)
    if sqlite:
        database.execute_sql("PRAGMA foreign_keys = OFF")
    with database.atomic():
        for model in reversed(pw.sort_models(ALL_MODELS)):
            if model is not SchemaInfo:
                database.execute_sql(f'DELETE FROM "{model._meta.table_name}"')
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
