"""The service desk commands, run through the real CLI entry point."""

import json

from itsmdesk.cli import main


def _run(capsys, url, *args):
    code = main(["--db", url, *args])
    out = capsys.readouterr().out
    return code, out


def test_cli_search_queue_tick_announcements_holidays(sqlite_db, capsys, tmp_path):
    from pathlib import Path

    from itsmdesk.services.servicedesk import calendars, incidents

    calendars.create_calendar({"name": "Default", "timezone": "UTC"})
    incidents.create_incident({"title": "Scanner offline", "description": "floor two"})
    url = sqlite_db.url
    code, out = _run(capsys, url, "search", "scanner", "--json")
    assert code == 0 and json.loads(out)[0]["title"] == "Scanner offline"
    code, out = _run(capsys, url, "queue", "--json")
    counts = {r["key"]: r["count"] for r in json.loads(out)}
    assert counts["all_open"] == 1 and counts["unassigned"] == 1
    code, out = _run(capsys, url, "sla", "tick", "--now", "2099-01-01T00:00", "--json")
    assert json.loads(out)["breached"]
    code, out = _run(capsys, url, "announcements", "add", "Mail slow", "--start", "2000-01-01")
    assert code == 0
    code, out = _run(capsys, url, "announcements", "export", "--format", "html")
    assert "<h3>Mail slow</h3>" in out
    ics = Path(__file__).parent / "fixtures" / "holidays_se.ics"
    code, out = _run(capsys, url, "business-calendar", "holidays", "import", str(ics))
    assert code == 0 and "3 holidays added to Default" in out
