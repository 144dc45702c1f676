"""`itsmdesk sla ...`: what the GUI does with calendars and targets, through the real CLI."""

import datetime as dt
import json

from itsmdesk.cli import main

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:ny
DTSTART;VALUE=DATE:20250101
RRULE:FREQ=YEARLY
SUMMARY:New Year
END:VEVENT
END:VCALENDAR
"""


def _run(capsys, url, *args):  # noqa: ANN001, ANN002, ANN202
    code = main(["--db", url, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_calendars_holidays_and_targets_from_the_cli(sqlite_db, capsys, tmp_path):
    from itsmdesk.models.servicedesk import BusinessCalendar, Holiday
    from itsmdesk.services.servicedesk import incidents, sla

    url = sqlite_db.url
    code, out = _run(capsys, url, "sla", "calendar", "add", "Office", "--zone", "Europe/Stockholm",
                     "--hours", "mon-fri 08:00-12:00,13:00-17:00", "--hours", "sat 10:00-14:00")
    assert code == 0, out
    cal = BusinessCalendar.get(BusinessCalendar.name == "Office")
    assert cal.working_hours["0"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert cal.working_hours["5"] == [["10:00", "14:00"]]
    code, out = _run(capsys, url, "sla", "calendar", "add", "Bad", "--hours",
                     "mon 13:00-17:00,08:00-12:00")
    assert code != 0 and "in order" in out
    code, out = _run(capsys, url, "sla", "holiday", "add", "Office", "2026-06-19", "Midsummer", "Eve")
    assert code == 0 and Holiday.get().name == "Midsummer Eve"
    (tmp_path / "h.ics").write_bytes(ICS)
    code, out = _run(capsys, url, "sla", "holidays", "import", "Office", str(tmp_path / "h.ics"),
                     "--years", "2026-2028")
    assert code == 0 and "3 holidays added to Office" in out
    code, out = _run(capsys, url, "sla", "target", "set", "1", "--response", "30m", "--resolve",
                     "1h30m", "--calendar", "Office")
    assert code == 0, out
    t = sla.target("incident", 1)
    assert (t.response_minutes, t.resolution_minutes, t.calendar_id) == (30, 90, cal.id)
    code, out = _run(capsys, url, "sla", "targets", "--json")
    row = next(r for r in json.loads(out) if r["kind"] == "incident" and r["priority"] == 1)
    assert row["calendar"] == "Office" and row["resolution"] == "1h30m"
    code, out = _run(capsys, url, "sla", "calendars", "--json")
    office = next(c for c in json.loads(out) if c["name"] == "Office")
    assert ["2026-06-19", "Midsummer Eve"] in office["holidays"]
    # a ticket counts on it: Friday 16:30 local + 90 min -> 16:30-17:00, Saturday 10:00-11:00
    opened = dt.datetime(2026, 1, 16, 15, 30)
    inc = incidents.create_incident({"title": "x", "impact": 1, "urgency": 1, "opened_at": opened})
    assert inc.resolution_due == dt.datetime(2026, 1, 17, 10, 0)
    code, out = _run(capsys, url, "sla", "show", inc.ref, "--now", "2026-01-16 16:00", "--json")
    data = json.loads(out)
    assert data["elapsed_minutes"] == 30 and data["state"] == "ok"
    code, out = _run(capsys, url, "sla", "refresh")
    assert code == 0


def test_service_sla_and_team_ola_from_the_cli(sqlite_db, capsys):
    from itsmdesk.demo.servicedesk import sample_desk
    from itsmdesk.services.servicedesk import sla

    d = sample_desk()
    url = sqlite_db.url
    code, out = _run(capsys, url, "sla", "target", "set", "1", "--response", "5m", "--resolve",
                     "1h", "--service", "E-mail service")
    assert code == 0, out
    code, out = _run(capsys, url, "sla", "target", "set", "2", "--response", "10m", "--resolve",
                     "2h", "--team", "Network")
    assert code == 0, out
    assert sla.target("incident", 1, d["service"].id).resolution_minutes == 60
    assert sla.ola("incident", 2, d["network"].id).resolution_minutes == 120
    code, out = _run(capsys, url, "sla", "targets", "--json")
    specials = {r["for"]: r["resolution"] for r in json.loads(out) if r["for"]}
    assert specials == {"service E-mail service": "1h", "OLA Network": "2h"}
