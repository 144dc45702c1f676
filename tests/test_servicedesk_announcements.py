"""Announcements: change announcements, lookup by CI/service, export."""

import datetime as dt

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
