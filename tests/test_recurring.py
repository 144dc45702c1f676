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
    assert (data["limit"], data["per_ci"], data["incidents_left_out"]) == (100, 400, 0)
    first = data["candidates"][0]
    assert first["name"] == "web-01" and first["incidents"] == 3


def test_candidates_say_their_limits_and_take_a_period(db, capsys):
    from itsmdesk.cli import main
    from itsmdesk.services.problem.recurring import find_candidates

    base = dt.datetime(2025, 5, 10, 9, 0)
    big, mid, small = ci("db-big"), ci("db-mid"), ci("db-small")
    for n in range(7):
        incident("Database lock timeout", base + dt.timedelta(hours=n), big)
    for n in range(4):
        incident("Backup job failed", base + dt.timedelta(hours=n), mid)
    for n in range(3):
        incident("Disk quota exceeded", base + dt.timedelta(days=20, hours=n), small)

    report = find_candidates(start=base - dt.timedelta(days=1), end=base + dt.timedelta(days=30),
                             limit=2, max_group=5)
    assert [(c.key_name, c.size) for c in report.candidates] == [("db-big", 5), ("db-mid", 4)]
    assert (report.groups_found, report.capped_keys, report.incidents_left_out) == (3, 1, 2)

    assert main(["--db", db.url, "problems", "candidates", "--from", "2025-05-01", "--to",
                 "2025-06-30", "--limit", "2", "--per-ci", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("Incidents opened 2025-05-01 00:00 to 2025-07-01 00:00 (UTC); at most the "
                      "newest 5 per CI or service are clustered (--per-ci), at most 2 groups shown "
                      "(--limit).")
    assert out[1] == "1 CI(s) or service(s) had more: 2 older incident(s) were not clustered."
    assert out[2] == "Showing 2 of 3 groups."
    assert "db-big" in out[4] and " 5 " in out[4] and "db-mid" in out[5] and len(out) == 6
    # a period that ends before the third group's incidents: defaults, nothing cut
    assert main(["--db", db.url, "problems", "candidates", "--from", "2025-05-01", "--to",
                 "2025-05-20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "at most the newest 400 per CI" in out[0] and "at most 100 groups" in out[0]
    assert not any("db-small" in line for line in out) and "db-big" in out[2]
    assert main(["--db", db.url, "problems", "candidates", "--from", "2025-06-01", "--to",
                 "2025-05-01"]) == 2
    assert "The period must start before it ends" in capsys.readouterr().err
