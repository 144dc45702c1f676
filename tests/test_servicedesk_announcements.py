"""Announcements: change announcements, lookup by CI/service, export."""

import datetime as dt

import peewee as pw

from itsmdesk.models.servicedesk import Announcement
from itsmdesk.services.change import changes
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.servicedesk import announcements


def _setup():
    cmdb.ensure_standard_classes()
    svc_class = next(c for c in cmdb.list_classes() if c.is_service)
    other_class = next(c for c in cmdb.list_classes() if not c.is_service)
    service = cmdb.create_ci({"name": "Payroll", "ci_class": svc_class})
    server = cmdb.create_ci({"name": "srv-pay-01", "ci_class": other_class})
    return service, server


def test_announce_change_and_lookup(db):
    service, server = _setup()
    now = dt.datetime(2026, 5, 4, 10, 0)
    change = changes.create_change({"title": "Patch payroll", "planned_start": now,
                                    "planned_end": now + dt.timedelta(hours=2)},
                                   cis=[service, server])
    ann = announcements.announce_change(change)
    assert ann.kind == "change" and ann.source_ref == change.ref and ann.change_id == change.id
    assert ann.starts_at == now
    # once per change: calling again updates
    again = announcements.announce_change(change)
    assert again.id == ann.id and Announcement.select().count() == 1
    inside = now + dt.timedelta(minutes=30)
    found = announcements.announcements_for([service.id], at=inside)
    assert [a.id for a in found] == [ann.id]
    assert "Payroll" in found[0].service_names
    assert announcements.announcements_for([service.id], at=now + dt.timedelta(hours=3)) == []
    assert announcements.announcements_for([service.id], at=now - dt.timedelta(hours=1)) == []


def test_manual_announcement_export(db):
    service, _server = _setup()
    start = dt.datetime(2026, 5, 4, 8, 0)
    announcements.create_announcement({"title": "Mail <slow>", "body": "We are on it",
                                       "starts_at": start}, [service.id])
    text = announcements.export("text", at=start + dt.timedelta(hours=1))
    assert "Mail <slow>" in text and "Payroll" in text and "until further notice" in text
    html = announcements.export("html", at=start + dt.timedelta(hours=1))
    assert "Mail &lt;slow&gt;" in html and "<h3>" in html
    ann = Announcement.get()
    announcements.withdraw(ann.id, ann.version)
    assert announcements.current(at=start + dt.timedelta(hours=1)) == []


def test_audience_and_site_filter_and_export(db):
    import pytest

    from itsmdesk.errors import ValidationError
    from itsmdesk.services import people

    service, _server = _setup()
    kiruna = people.create_site({"name": "Kiruna depot", "code": "KRN"})
    oslo = people.create_site({"name": "Oslo office", "code": "OSL"})
    now = dt.datetime(2026, 5, 4, 10, 0)
    everyone = announcements.create_announcement({"title": "Payroll late", "starts_at": now},
                                                 [service.id])
    staff = announcements.create_announcement({"title": "Switch firmware", "starts_at": now,
                                               "audience": "it_staff", "site": kiruna.id})
    views = {v.title: v for v in announcements.current(now)}
    assert views["Switch firmware"].site_name == "Kiruna depot"
    assert views["Switch firmware"].audience == "it_staff" and views["Payroll late"].site_id is None
    assert {v.id for v in announcements.current(now, site_id=oslo.id)} == {everyone.id}
    assert {v.id for v in announcements.current(now, site_id=kiruna.id)} == {everyone.id, staff.id}
    assert {v.id for v in announcements.current(now, audience="everyone")} == {everyone.id}
    text = announcements.export("text", now)
    assert "  For: IT staff at Kiruna depot" in text and text.count("For:") == 1
    assert "<b>For:</b> IT staff at Kiruna depot" in announcements.export("html", now)
    assert "Switch firmware" not in announcements.export("text", now, audience="everyone")
    with pytest.raises(ValidationError, match="Unknown audience"):
        announcements.create_announcement({"title": "x", "audience": "managers"})
    with pytest.raises(ValidationError, match="cannot end before it starts"):
        announcements.update_announcement(staff.id, staff.version,
                                          {"ends_at": now - dt.timedelta(hours=1)})
    assert Announcement.get_by_id(staff.id).ends_at is None


def test_migration_adds_audience_and_site(db):
    """Migration 7 on a database of schema 6 (both back ends): the columns come, existing
    announcements are for everyone at every site."""
    from itsmdesk.models import db as proxy
    from itsmdesk.models.migrations import _m0007_announcement_audience

    database = proxy.obj
    ann = announcements.create_announcement({"title": "Old notice"})
    table = Announcement._meta.table_name
    old = [c.name for c in database.get_columns(table) if c.name not in ("audience", "site_id")]
    if isinstance(database, pw.SqliteDatabase):  # (no DROP of a foreign key column)
        database.execute_sql("PRAGMA foreign_keys = OFF")
        database.execute_sql(f'CREATE TABLE "{table}_v6" AS SELECT {", ".join(old)} FROM "{table}"')
        database.execute_sql(f'DROP TABLE "{table}"')
        database.execute_sql(f'ALTER TABLE "{table}_v6" RENAME TO "{table}"')
        database.execute_sql("PRAGMA foreign_keys = ON")
    else:
        database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN site_id')
        database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN audience')
    assert not {"audience", "site_id"} & {c.name for c in database.get_columns(table)}
    _m0007_announcement_audience(database)
    assert {"audience", "site_id"} <= {c.name for c in database.get_columns(table)}
    row = Announcement.get_by_id(ann.id)
    assert (row.audience, row.site_id) == ("everyone", None)


def test_cli_adds_for_a_site_and_exports_for_everyone(tmp_path, capsys):
    from itsmdesk.cli import main

    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert main(["--db", url, "init"]) == 0
    from itsmdesk.services import people

    people.create_site({"name": "Kiruna depot", "code": "KRN"})
    assert main(["--db", url, "announcements", "add", "Switch firmware", "--audience", "it_staff",
                 "--site", "krn", "--kind", "planned_outage"]) == 0
    assert main(["--db", url, "announcements", "add", "Payroll late"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "announcements", "export", "--everyone"]) == 0
    out = capsys.readouterr().out
    assert "Payroll late" in out and "Switch firmware" not in out
    assert main(["--db", url, "announcements", "export", "--site", "KRN"]) == 0
    assert "For: IT staff at Kiruna depot" in capsys.readouterr().out
    assert main(["--db", url, "announcements", "add", "x", "--site", "NOPE"]) == 2
    assert "No site with code NOPE" in capsys.readouterr().err
