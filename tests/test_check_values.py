"""`itsmdesk check` reports coded fields holding values their services never write, with counts
and example references, on both back ends; a clean demo database has none."""

from __future__ import annotations

from itsmdesk.models import Change, Incident, Problem
from itsmdesk.models import db as proxy
from itsmdesk.services import stored_values
from itsmdesk.services.change import changes
from itsmdesk.services.maintenance import check
from itsmdesk.services.problem import problems
from itsmdesk.services.servicedesk import incidents


def _set(model, record_id, column: str, value) -> None:  # noqa: ANN001 - what a foreign tool does
    database = proxy.obj
    database.execute_sql(f'UPDATE "{model._meta.table_name}" SET "{column}" = {database.param} '
                         f'WHERE id = {database.param}', (value, model.id.db_value(record_id)))


def test_check_names_bad_values_with_counts_and_examples(db):
    prb = problems.create_problem({"title": "Mail queue stalls"})
    other = problems.create_problem({"title": "Disk fills"})
    fine = problems.create_problem({"title": "Printer spooler"})
    inc = incidents.create_incident({"title": "VPN down", "impact": 2, "urgency": 2})
    chg = changes.create_change({"title": "Patch mail"})
    assert [str(p) for p in check(db) if "not allowed" in str(p)] == []

    _set(Problem, prb.id, "status", "nonsense")
    _set(Problem, other.id, "status", "Closed")  # (the case matters: the rules say "closed")
    _set(Incident, inc.id, "priority", 9)
    _set(Incident, inc.id, "status", "fulfilled")  # a request's status on an incident
    _set(Change, chg.id, "risk_level", "extreme")

    found = [str(p) for p in check(db)]
    assert (f"problem: 2 record(s) with a status that is not allowed, e.g. "
            f"{prb.ref} (nonsense), {other.ref} (Closed)") in found
    assert f"incident: 1 record(s) with a priority that is not allowed, e.g. {inc.ref} (9)" in found
    assert (f"incident: 1 record(s) with a status that is not allowed, e.g. {inc.ref} "
            "(fulfilled)") in found
    assert (f"change: 1 record(s) with a risk_level that is not allowed, e.g. {chg.ref} "
            "(extreme)") in found
    assert not any(fine.ref in p for p in found)


def test_the_demo_database_holds_only_allowed_values(demo_db):
    assert stored_values.find() == []
    assert [str(p) for p in check(demo_db)] == []
