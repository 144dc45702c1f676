"""Recurring-incident detection on generated data with planted clusters."""

from __future__ import annotations

import datetime as dt
import random

from problem_helpers import ci, incident

from itsmdesk.services.problem import problems
from itsmdesk.services.problem.recurring import candidates, create_problem_from_candidate, jaccard, terms

NOW = dt.datetime(2026, 3, 31, 12, 0)

VOCAB = ("printer jams monitor flickers password reset laptop calendar teams badge reader door "
         "hotel slow screen keyboard mouse license expired backup failed certificate sharepoint "
         "scanner docking station camera headset wifi roaming outlook profile excel macro "
         "firewall rule proxy timeout token mfa phone battery").split()


def test_terms_and_similarity():
    assert terms("Disk full on /var on db-01") >= {"disk", "full", "var"}
    assert jaccard(terms("Disk full on /var"), terms("disk is full on var again")) >= 0.5
    assert jaccard(terms("Disk full on /var"), terms("Printer jams")) == 0.0


def test_planted_clusters_are_found(db):
    rng = random.Random(7)
    cis = [ci(f"srv-{i:02d}") for i in range(6)]
    svc = ci("Payroll", "business_service")
    # noise: random titles on random CIs over 30 days, never 3 similar on the same CI
    for _n in range(60):
        incident(" ".join(rng.sample(VOCAB, 3)), NOW - dt.timedelta(days=rng.uniform(0, 29)),
                 rng.choice(cis))
    # planted 1: five "disk full" incidents on srv-03 within 4 days (wording varies)
    planted = [incident(t, NOW - dt.timedelta(days=10 - i), cis[3]) for i, t in enumerate(
        ["Disk full on /var", "disk full /var again", "Disk /var full - writes failing",
         "/var disk full", "Disk full on /var partition"])]
    # planted 2: three on a service without CI
    planted2 = [incident("Payroll export times out", NOW - dt.timedelta(days=3, hours=i), None,
                         service=svc) for i in range(3)]
    # not a candidate: same text but spread over 30 days (window 7 days) on srv-04
    for d in (1, 12, 25):
        incident("Fan failure alarm", NOW - dt.timedelta(days=d), cis[4])
    # not a candidate: already linked to a problem
    prb = problems.create_problem({"title": "Known cache issue"})
    linked = [incident("Cache thrash on srv-05", NOW - dt.timedelta(days=2, hours=i), cis[5])
              for i in range(4)]
    problems.link_incidents(prb.id, [i.id for i in linked])

    found = candidates(days=30, window_days=7, min_size=3, now=NOW)
    by_name = {c.key_name: c for c in found}
    assert set(by_name) == {"srv-03", "Payroll"}, [c.as_dict() for c in found]
    disk = by_name["srv-03"]
    assert set(disk.incident_ids) == {i.id for i in planted}
    assert {"disk", "full", "var"} <= set(disk.common_terms)
    assert disk.key_kind == "ci" and found[0] is disk  # biggest first
    pay = by_name["Payroll"]
    assert pay.key_kind == "service" and set(pay.incident_ids) == {i.id for i in planted2}
    # with a 30-day window the fan alarms chain together
    wide = candidates(days=30, window_days=30, min_size=3, now=NOW)
    assert "srv-04" in {c.key_name for c in wide}

    problem = create_problem_from_candidate(disk)
    assert problem.ci_id == cis[3].id
    again = candidates(days=30, window_days=7, min_size=3, now=NOW)
    assert {c.key_name for c in again} == {"Payroll"}


def test_cli_candidates_json(sqlite_db, capsys):
    import json

    from itsmdesk.cli import main

    srv = ci("web-01")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for i in range(3):
        incident("Web shop returns error 502", now - dt.timedelta(hours=5 + i), srv)
    assert main(["--db", sqlite_db.url, "problems", "candidates", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["name"] == "web-01" and data[0]["incidents"] == 3
