"""The SLA breach report (`itsmdesk sla report --from --to`): per service, team and priority,
met / breached / paused time, each breach with its timeline; CSV and PDF."""

import csv
import datetime as dt

from itsmdesk.cli import main
from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.base import story_clock
from itsmdesk.services.servicedesk import incidents, sla_report

MON = dt.datetime(2026, 1, 12, 7, 0)  # Monday 08:00 Stockholm
H = dt.timedelta(hours=1)


def _ticket(d, title, impact, opened):  # noqa: ANN001, ANN202
    with story_clock(opened):
        return incidents.create_incident({"title": title, "impact": impact, "urgency": impact,
                                          "opened_at": opened, "team": d["desk"].id,
                                          "service": d["service"].id}, d["actor"])


def _go(inc, status, at, **fields):  # noqa: ANN001, ANN003, ANN202
    with story_clock(at):
        return incidents.transition(inc.id, None, status, incidents.SYSTEM, **fields)


def _desk():  # noqa: ANN202
    d = sample_desk(calendar=True)
    late = _ticket(d, "Mail down", 1, MON)  # P1: 4 h
    _go(late, "pending", MON + H, pending_reason="Waiting for the vendor")
    _go(late, "in_progress", MON + 3 * H)
    _go(late, "resolved", MON + 7 * H, resolution_code="solved_workaround", solution="Restarted")
    quick = _ticket(d, "Printer", 3, MON)  # P5
    _go(quick, "resolved", MON + H, resolution_code="user_error", solution="Paper")
    _ticket(d, "Still open", 3, MON + 2 * H)
    return d, late


def test_breach_report_counts_and_timeline(sqlite_db, tmp_path):
    d, late = _desk()
    report = sla_report.breach_report(MON - 24 * H, MON + 48 * H, now=MON + 48 * H)
    assert [(g.service, g.team, g.priority, g.met, g.breached, g.open) for g in report.groups] == [
        ("E-mail service", "Service Desk", 1, 0, 1, 0),
        ("E-mail service", "Service Desk", 5, 1, 0, 1)]
    breach = report.breaches[0]
    assert breach.ref == late.ref and breach.paused_minutes == 120
    # 08-09 running, 09-11 pending, 11-14 running: 4 h used at 14:00 local, resolved at 15:00
    assert breach.resolution_due == MON + 6 * H and breach.elapsed_minutes == 300
    assert [s for _a, s in breach.timeline] == ["new", "pending", "in_progress", "resolved"]
    sla_report.write_csv(report, tmp_path / "x.csv")
    with open(tmp_path / "x.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["ref"]: r["state"] for r in rows}[late.ref] == "breached"
    assert "pending" in {r["ref"]: r["timeline"] for r in rows}[late.ref]


def test_breach_report_from_the_cli_as_csv_and_pdf(sqlite_db, tmp_path, capsys):
    _desk()
    code = main(["--db", sqlite_db.url, "sla", "report", "--from", "2026-01-11", "--to",
                 "2026-01-13", "--csv", str(tmp_path / "r.csv"), "--pdf", str(tmp_path / "r.pdf")])
    out = capsys.readouterr().out
    assert code == 0 and "1 met, 1 breached, 1 still open" in out
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 4


def test_a_teams_ola_counts_only_its_own_stretches(sqlite_db):
    from itsmdesk.services.servicedesk import sla

    d = sample_desk(calendar=True)
    sla.set_target("incident", 1, 15, 60, team=d["network"].id)  # Network: 1 h of its own
    inc = _ticket(d, "Switch down", 1, MON)  # with the Service Desk for 2 h
    with story_clock(MON + 2 * H):
        inc = incidents.update_incident(inc.id, None, {"team": d["network"].id}, d["actor"])
    _go(inc, "resolved", MON + 2 * H + 50 * dt.timedelta(minutes=1),
        resolution_code="solved_workaround", solution="Replaced")
    report = sla_report.breach_report(MON - 24 * H, MON + 48 * H, now=MON + 48 * H)
    assert [(o.team, o.priority, o.met, o.breached) for o in report.olas] == [("Network", 1, 1, 0)]
    assert report.tickets[0].state == "met"  # 2 h 50 of the SLA's 4 h
