"""select_many: several reads in one statement give exactly what each query gives alone, on
SQLite and PostgreSQL (ids, times, dates, booleans, JSON, numbers, NULLs, order, no rows)."""

from __future__ import annotations

import datetime as dt

from itsmdesk.models import Category, Holiday, Incident, Person, WorkLog
from itsmdesk.services import people
from itsmdesk.services.batch import select_many
from itsmdesk.services.servicedesk import calendars, categories, incidents


def test_select_many_equals_each_query_alone(db):
    ann = people.create_person({"name": "Ann", "is_agent": True})
    people.create_person({"name": "Bo", "is_agent": False})
    cal = calendars.create_calendar({"name": "Office", "timezone": "Europe/Stockholm",
                                     "working_hours": {"0": [["08:00", "17:00"]]}})
    calendars.add_holiday(cal.id, dt.date(2026, 12, 24), "Christmas Eve")
    cat = categories.create_category("Network")
    categories.save_script(cat.id, cat.version, [
        {"question": "Cable in?", "answers": [{"label": "yes"}, {"label": "no"}]}])
    inc = incidents.create_incident({"title": "VPN down", "impact": 1, "urgency": 2,
                                     "assignee": ann.id, "major": True})
    incidents.add_work_log(inc.id, "looked", public=True)
    queries = [
        Incident.select(Incident.id, Incident.ref, Incident.opened_at, Incident.major,
                        Incident.priority, Incident.assignee, Incident.problem, Incident.description)
        .order_by(Incident.ref),
        Person.select(Person.name, Person.is_agent).order_by(Person.name.desc()),
        Category.select(Category.name, Category.diagnostic_script),
        Holiday.select(Holiday.day, Holiday.name),
        WorkLog.select(WorkLog.text).where(WorkLog.public == False),  # noqa: E712 - none
    ]
    together = select_many(*queries)
    alone = [list(q.tuples()) for q in queries]
    assert together == alone
    assert together[0][0][3] is True and together[0][0][6] is None  # bool, NULL foreign key
    assert together[4] == []


def test_incident_read_model_is_one_statement(db):
    from peewee import Database

    inc = incidents.create_incident({"title": "Printer"})
    incidents.add_work_log(inc.id, "paper jam")
    calls = []
    original = Database.execute_sql

    def counting(self, sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        calls.append(sql)
        return original(self, sql, params, *args, **kwargs)

    Database.execute_sql = counting
    try:
        view = incidents.incident_view(inc.id)
    finally:
        Database.execute_sql = original
    assert len(calls) == 1
    assert view.ref == inc.ref and [line.text for line in view.work_log] == ["paper jam"]
    assert view.choices.priority(3, 3) == 5
