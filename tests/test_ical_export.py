"""The .ics export parsed strictly with icalendar and compared with the database."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar

from itsmdesk.cli import main
from itsmdesk.models.change import Change
from itsmdesk.reports import ical
from itsmdesk.services.change import changes as change_service
from tests.change_helpers import T0, change, stack


def _parse(path):
    cal = Calendar.from_ical(path.read_bytes())  # raises on malformed input
    assert cal["VERSION"] == "2.0" and "PRODID" in cal
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def test_ics_matches_database(db, tmp_path):
    srv, _app, _shop = stack()
    a = change("Firmware; with, odd chars", cis=[srv], status="scheduled", category="Network",
               description="Line one\nLine two")
    b = change("Later", start_h=30, status="approved")
    change("Draft only", status="draft")
    change("Way later", start_h=24 * 90, status="scheduled")
    path = tmp_path / "fsc.ics"
    count = ical.export(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=7), path)
    events = _parse(path)
    assert count == 2 and len(events) == 2
    for c in (a, b):
        c = Change.get_by_id(c.id)
        ev = events[f"{c.id}@itsmdesk"]
        assert str(ev["SUMMARY"]) == f"{c.ref}: {c.title}"
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        assert start.utcoffset() == dt.timedelta(0)
        assert start.replace(tzinfo=None) == c.planned_start
        assert end.replace(tzinfo=None) == c.planned_end
        cats = [str(x) for x in ev["CATEGORIES"].cats]
        assert c.type in cats and c.status in cats
        desc = str(ev["DESCRIPTION"])
        assert "Risk:" in desc and c.implementation_plan in desc and c.backout_plan in desc
    assert "Shop" in str(events[f"{a.id}@itsmdesk"]["DESCRIPTION"])
    assert "Line one\nLine two" in str(events[f"{a.id}@itsmdesk"]["DESCRIPTION"])
    assert b"DTSTART:" in path.read_bytes() and b"Z\r\n" in path.read_bytes()
    # UID stable across exports and edits
    change_service.update_change(a.id, None, {"title": "Renamed"})
    again = _parse(path) if ical.export(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=7),
                                        path) else {}
    assert set(again) == set(events)
    assert int(again[f"{a.id}@itsmdesk"]["SEQUENCE"]) > int(events[f"{a.id}@itsmdesk"]["SEQUENCE"])


def test_cli_calendar_export(sqlite_db, tmp_path, capsys):
    change("CLI", status="scheduled")
    out = tmp_path / "x.ics"
    url = f"sqlite:///{sqlite_db.path}"
    assert main(["--db", url, "calendar", "export", "--from", "2030-03-01", "--to",
                 "2030-03-31", "-o", str(out)]) == 0
    assert len(_parse(out)) == 1
    assert main(["--db", url, "changes", "calendar-export", "--from", "2030-03-01", "--to",
                 "2030-03-31", "-o", str(out)]) == 0
    assert "written (1 changes)" in capsys.readouterr().out
