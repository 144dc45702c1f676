"""Trends per CI, service, category and team, with top movers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from problem_helpers import ci, incident

from itsmdesk.errors import ValidationError
from itsmdesk.services import people
from itsmdesk.services.problem.trends import bucketed, daily_counts, trends

START, END = dt.datetime(2026, 2, 1), dt.datetime(2026, 3, 1)  # previous: Jan 4 .. Feb 1


def _data():
    a, b, c = ci("app-a", "application"), ci("app-b", "application"), ci("app-c", "application")
    team = people.create_team({"name": "Ops"})
    for i in range(5):
        incident(f"a{i}", START + dt.timedelta(days=i), a, team=team.id)
    for i in range(1):
        incident(f"a-prev{i}", START - dt.timedelta(days=3), a)
    for i in range(2):
        incident(f"b{i}", START + dt.timedelta(days=10 + i), b)
    for i in range(6):
        incident(f"b-prev{i}", START - dt.timedelta(days=10 + i), b)
    incident("c", START + dt.timedelta(days=3), c)
    incident("c-out", END + dt.timedelta(hours=1), c)  # after the period
    incident("req", START + dt.timedelta(days=1), c, kind="request")  # requests do not count
    return a, b, c, team


def test_counts_top_and_movers(db):
    _data()
    report = trends("ci", START, END, top=10)
    assert report.total == 8 and report.previous_total == 7
    assert [(r.name, r.count, r.previous) for r in report.top] == [
        ("app-a", 5, 1), ("app-b", 2, 6), ("app-c", 1, 0)]
    assert [(r.name, r.delta) for r in report.movers] == [("app-a", 4), ("app-b", -4),
                                                         ("app-c", 1)]
    assert report.movers[0].change_pct == 400.0
    teams = trends("team", START, END)
    assert [(r.name, r.count) for r in teams.top] == [("Ops", 5)]
    assert trends("ci", START, END, top=1).top[0].name == "app-a"
    with pytest.raises(ValidationError):
        trends("colour", START, END)


def test_daily_series(db):
    _data()
    days = daily_counts(START, END)
    assert len(days) == 28 and sum(n for _d, n in days) == 8
    assert days[0] == (START.date(), 1)
    weeks = bucketed(daily_counts(START - dt.timedelta(days=200), END), max_points=40)
    assert len(weeks) <= 40 and sum(n for _d, n in weeks) == 15


def test_cli_trends_json(sqlite_db, capsys):
    from itsmdesk.cli import main

    _data()
    assert main(["--db", sqlite_db.url, "trends", "--by", "ci", "--from", "2026-02-01", "--to",
                 "2026-02-28", "--top", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 8 and [r["name"] for r in data["top"]] == ["app-a", "app-b"]
    assert data["movers"][0]["delta"] == 4
