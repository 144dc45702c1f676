"""Availability, MTBF and MTTR against hand-computed values (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from problem_helpers import T0, ci, h, incident

from itsmdesk.services.problem.availability import availability, top_downtime, write_csv

PERIOD = (T0, T0 + dt.timedelta(days=10))  # 240 hours


def _by_name(report):
    return {r.name: r for r in report.rows}


def test_figures_match_hand_computed_values(db):
    a, b = ci("srv-a"), ci("srv-b")
    # srv-a: outage 1: 10:00-14:00 day 0 (4 h); outage 2 overlaps 3: day 2 08:00-10:00 and
    # 09:00-12:00 -> merged 08:00-12:00 (4 h).  Total 8 h in 2 failures.
    incident("a1", T0 + h(10), a, resolved=T0 + h(14))
    incident("a2", T0 + h(48 + 8), a, resolved=T0 + h(48 + 10))
    incident("a3", T0 + h(48 + 9), a, resolved=T0 + h(48 + 12))
    # low impact: ignored
    incident("a4 low", T0 + h(100), a, impact=3, resolved=T0 + h(120))
    # srv-b: explicit outage window overrides opened/resolved: 2 h
    incident("b1", T0 + h(30), b, resolved=T0 + h(50), outage_start=T0 + h(31),
             outage_end=T0 + h(33))
    report = availability("ci", *PERIOD)
    rows = _by_name(report)
    assert set(rows) == {"srv-a", "srv-b"}
    ra = rows["srv-a"]
    assert ra.failures == 2
    assert ra.downtime_h == pytest.approx(8.0)
    assert ra.mttr_h == pytest.approx(4.0)
    assert ra.mtbf_h == pytest.approx((240 - 8) / 2)
    assert ra.availability_pct == pytest.approx(100 * 232 / 240, abs=1e-3)
    assert ra.longest_h == pytest.approx(4.0)
    rb = rows["srv-b"]
    assert (rb.failures, rb.downtime_h, rb.mttr_h) == (1, pytest.approx(2.0), pytest.approx(2.0))
    assert rb.mtbf_h == pytest.approx(238.0)
    assert [r.name for r in top_downtime(report, 1)] == ["srv-a"]


def test_outages_are_clipped_to_the_period_and_open_ones_run_to_the_end(db):
    a = ci("srv-c")
    # starts 6 h before the period, ends 2 h into it -> 2 h
    incident("before", T0 - h(6), a, resolved=T0 + h(2))
    # still open: from 4 h before the end to the end -> 4 h
    incident("open", PERIOD[1] - h(4), a)
    # entirely after the period: ignored
    incident("after", PERIOD[1] + h(1), a, resolved=PERIOD[1] + h(3))
    row = _by_name(availability("ci", *PERIOD, now=PERIOD[1] + h(10)))["srv-c"]
    assert row.failures == 2
    assert row.downtime_h == pytest.approx(6.0)
    assert row.availability_pct == pytest.approx(100 * 234 / 240, abs=1e-3)


def test_outages_reported_late_and_old_open_ones_merge_with_the_rest(db):
    """Outages arrive in opened_at order; one that began before its incident was opened (or an
    incident still open from long before the period) must still merge with overlapping ones."""
    a = ci("srv-late")
    # day 3 10:00-12:00, then an incident opened at 13:00 whose outage began at 09:00 and ended
    # at 11:00 (reported late): merged 09:00-12:00 = 3 h, one failure
    incident("first", T0 + h(72 + 10), a, resolved=T0 + h(72 + 12))
    incident("late", T0 + h(72 + 13), a, resolved=T0 + h(72 + 14),
             outage_start=T0 + h(72 + 9), outage_end=T0 + h(72 + 11))
    # day 6: 20:00-22:00, a separate failure of 2 h
    incident("second", T0 + h(144 + 20), a, resolved=T0 + h(144 + 22))
    b = ci("srv-old")
    # open since 200 days before the period (beyond the look-back): the whole period, and an
    # overlapping recent incident on the same CI counts once
    incident("ancient", T0 - dt.timedelta(days=200), b, status="in_progress")
    incident("recent", T0 + h(5), b, resolved=T0 + h(7))
    rows = _by_name(availability("ci", *PERIOD, now=PERIOD[1] + h(1)))
    late = rows["srv-late"]
    assert (late.failures, late.downtime_h, late.longest_h) == (
        2, pytest.approx(5.0), pytest.approx(3.0))
    old = rows["srv-old"]
    assert (old.failures, old.downtime_h, old.availability_pct) == (
        1, pytest.approx(240.0), pytest.approx(0.0))


def test_by_service_uses_the_incident_service(db):
    svc = ci("Payroll", "business_service")
    incident("s1", T0 + h(1), None, service=svc, impact=1, resolved=T0 + h(4))
    incident("s2", T0 + h(100), None, service=svc, impact=1, resolved=T0 + h(101))
    rows = _by_name(availability("service", *PERIOD))
    assert rows["Payroll"].failures == 2
    assert rows["Payroll"].downtime_h == pytest.approx(4.0)
    assert availability("ci", *PERIOD).rows == []


def test_filter_by_ids_and_csv(db, tmp_path):
    a, b = ci("srv-d"), ci("srv-e")
    incident("d", T0 + h(1), a, resolved=T0 + h(2))
    incident("e", T0 + h(1), b, resolved=T0 + h(3))
    report = availability("ci", *PERIOD, ids=[b.id])
    assert [r.name for r in report.rows] == ["srv-e"]
    path = tmp_path / "a.csv"
    assert write_csv(availability("ci", *PERIOD), path) == 2
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["ci"] == "srv-e" and float(rows[0]["downtime_h"]) == pytest.approx(2.0)


def test_cli_availability_json_csv_pdf(sqlite_db, tmp_path, capsys):
    from pypdf import PdfReader

    from itsmdesk.cli import main

    a = ci("srv-f")
    incident("f", T0 + h(1), a, resolved=T0 + h(3))
    url = sqlite_db.url
    assert main(["--db", url, "availability", "--from", "2026-01-01", "--to", "2026-01-10",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["name"] == "srv-f"
    assert {"name", "failures", "mtbf_h", "mttr_h", "availability_pct", "downtime_h"} <= set(data[0])
    assert data[0]["downtime_h"] == pytest.approx(2.0)
    assert data[0]["mtbf_h"] == pytest.approx(238.0)
    assert main(["--db", url, "availability", "--from", "2026-01-01", "--to", "2026-01-10",
                 "--csv", str(tmp_path / "a.csv"), "--pdf", str(tmp_path / "a.pdf")]) == 0
    assert "srv-f" in (tmp_path / "a.csv").read_text(encoding="utf-8")
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "a.pdf").pages)
    assert "srv-f" in text and "Availability per configuration item" in text
    assert main(["--db", url, "availability", "--from", "2026-02-01", "--to", "2026-01-01"]) == 2
