"""Problem lifecycle, linking incidents, closing with resolution of linked incidents, RFCs,
KEDB workarounds and the root cause analysis timeline (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from problem_helpers import T0, ci, h, incident

from itsmdesk.errors import TransitionError, ValidationError
from itsmdesk.models import Change, Incident, Problem, WorkLog
from itsmdesk.services import records
from itsmdesk.services.change.changes import update_change
from itsmdesk.services.context import Actor
from itsmdesk.services.problem import kedb, problems, rca
from itsmdesk.services.problem import lifecycle as pl

ALICE = Actor(None, "alice", "")


def _problem_with_incidents(n_open: int = 2, n_resolved: int = 1):
    srv = ci("db-01", "database")
    prb = problems.create_problem({"title": "Database locks at month end", "ci": srv.id},
                                  ALICE, cis=[srv])
    incs = [incident(f"Locks {i}", T0 + h(i), srv) for i in range(n_open)]
    incs += [incident(f"Locks old {i}", T0 - h(50 + i), srv, resolved=T0 - h(40))
             for i in range(n_resolved)]
    assert problems.link_incidents(prb.id, [i.id for i in incs], ALICE) == len(incs)
    return prb, incs


def test_status_flow_and_rules(db):
    prb, _ = _problem_with_incidents()
    with pytest.raises(TransitionError):
        pl.transition(prb.id, prb.version, "resolved", ALICE)
    prb = pl.transition(prb.id, prb.version, "investigating", ALICE)
    with pytest.raises(ValidationError):
        pl.transition(prb.id, prb.version, "root_cause_known", ALICE)
    prb = pl.transition(prb.id, prb.version, "root_cause_known", ALICE,
                        {"root_cause": "Missing index"})
    with pytest.raises(ValidationError):
        pl.transition(prb.id, prb.version, "resolved", ALICE)
    prb = pl.transition(prb.id, prb.version, "resolved", ALICE, {"solution": "Add the index"})
    assert prb.status == "resolved" and prb.resolved_at is not None
    history = [e.new for e in records.history("problem", prb.id) if e.field == "status"]
    assert history[:3] == ["resolved", "root_cause_known", "investigating"]
    assert pl.allowed_transitions("resolved") == ("closed", "investigating")


def test_close_offers_and_resolves_linked_open_incidents(db):
    prb, incs = _problem_with_incidents(n_open=2, n_resolved=1)
    assert {i.id for i in pl.open_incidents_of(prb)} == {incs[0].id, incs[1].id}
    prb = pl.transition(prb.id, None, "root_cause_known", ALICE, {"root_cause": "Missing index"})
    change = pl.raise_rfc(prb.id, ALICE)
    assert change.problem_id == prb.id and change.title.startswith(f"Fix {prb.ref}")
    # the fix is not in yet: closing offers nothing
    prb = pl.transition(prb.id, None, "resolved", ALICE, {"solution": "Add the index"})
    assert pl.fix_implemented(prb)  # a solution recorded and the problem resolved
    update_change(change.id, None, {"status": "implemented"}, ALICE)
    result = pl.close_problem(prb.id, None, ALICE)
    assert result.problem.status == "closed" and result.offer_resolve
    assert len(result.open_incidents) == 2
    resolved = pl.resolve_linked_incidents(prb.id, ALICE)
    assert {i.id for i in resolved} == {incs[0].id, incs[1].id}
    for inc in Incident.select().where(Incident.id.in_([incs[0].id, incs[1].id])):
        assert inc.status == "resolved" and inc.resolution_code == "solved_by_change"
        assert prb.ref in inc.solution
        assert WorkLog.select().where(WorkLog.incident == inc.id).count() == 1
    assert pl.open_incidents_of(prb) == []


def test_close_without_fix_does_not_offer(db):
    prb, _ = _problem_with_incidents(n_open=1, n_resolved=0)
    result = pl.close_problem(prb.id, None, ALICE, resolve_incidents=True)
    assert not result.fix_implemented and not result.offer_resolve
    assert result.resolved_incidents == [] and len(result.open_incidents) == 1


def test_close_with_resolve_in_one_call(db):
    prb, incs = _problem_with_incidents(n_open=1, n_resolved=0)
    pl.transition(prb.id, None, "root_cause_known", ALICE, {"root_cause": "x"})
    pl.transition(prb.id, None, "resolved", ALICE, {"solution": "patched"})
    result = pl.close_problem(prb.id, None, ALICE, resolve_incidents=True)
    assert [i.id for i in result.resolved_incidents] == [incs[0].id]
    assert Incident.get_by_id(incs[0].id).status == "resolved"


def test_stale_version_conflicts(db):
    from itsmdesk.errors import ConflictError

    prb, _ = _problem_with_incidents(1, 0)
    pl.transition(prb.id, prb.version, "investigating", ALICE)
    with pytest.raises(ConflictError):
        pl.transition(prb.id, prb.version, "root_cause_known", ALICE, {"root_cause": "x"})


def test_kedb_suggest_link_and_apply_workaround(db):
    srv = ci("mail-01")
    prb = problems.create_problem({"title": "Outlook crashes"}, ALICE)
    ke = problems.create_known_error({"title": "Outlook crashes after monthly update",
                                      "symptom": "Outlook closes when opening calendar",
                                      "workaround": "Disable the CalSync add-in",
                                      "error_code": "OL-ADDIN-22", "problem": prb.id}, ALICE,
                                     cis=[srv])
    problems.create_known_error({"title": "Printer driver crash", "workaround": "Reinstall"}, ALICE)
    hits = kedb.suggest("outlook crash calendar")
    assert hits and hits[0].ref == ke.ref
    assert kedb.suggest("OL-ADDIN-22")[0].ref == ke.ref
    inc = incident("Outlook crashed when I opened my calendar", T0, srv)
    inc = kedb.apply_workaround(inc.id, ke.id, ALICE)
    assert inc.known_error_id == ke.id and inc.problem_id == prb.id
    notes = [w.text for w in WorkLog.select().where(WorkLog.incident == inc.id)]
    assert len(notes) == 1 and ke.ref in notes[0] and "CalSync" in notes[0]
    assert [i.id for i in kedb.incidents_of(ke.id)] == [inc.id]
    change = pl.raise_rfc(ke.id, ALICE)
    assert change.known_error_id == ke.id and change.problem_id == prb.id
    assert Change.select().where(Change.known_error == ke.id).count() == 1


def test_apply_workaround_needs_one(db):
    ke = problems.create_known_error({"title": "No workaround yet"}, ALICE)
    inc = incident("x", T0)
    with pytest.raises(ValidationError):
        kedb.apply_workaround(inc.id, ke.id, ALICE)


def test_rca_timeline_and_notes(db):
    prb, incs = _problem_with_incidents(n_open=2, n_resolved=1)
    from itsmdesk.services.servicedesk.incidents import add_work_log

    add_work_log(incs[0].id, "Saw lock waits in pg_stat_activity", ALICE)
    pl.transition(prb.id, None, "investigating", ALICE)
    events = rca.timeline(prb.id)
    kinds = [e.kind for e in events]
    assert kinds.count("incident_opened") == 3 and kinds.count("incident_resolved") == 1
    assert "work_log" in kinds and "problem_status" in kinds
    assert [e.at for e in events] == sorted(e.at for e in events)
    prb = Problem.get_by_id(prb.id)
    prb = rca.set_notes(prb.id, prb.version, {"symptoms": "slow", "cause": "missing index"}, ALICE)
    assert rca.notes(prb)["cause"] == "missing index"
    assert prb.root_cause == "missing index"
    with pytest.raises(ValidationError):
        rca.set_notes(prb.id, None, {"guess": "x"}, ALICE)


def test_affected_cis_and_unlink(db):
    prb, incs = _problem_with_incidents(1, 0)
    other = ci("db-02", "database")
    pl.set_affected_cis(prb.id, [other.id], ALICE)
    from itsmdesk.models import ProblemCI

    assert [r.ci_id for r in ProblemCI.select().where(ProblemCI.problem == prb.id)] == [other.id]
    pl.unlink_incident(incs[0].id, ALICE)
    assert Incident.get_by_id(incs[0].id).problem_id is None


def test_problem_view_and_save(db):
    import uuid

    from itsmdesk.errors import ConflictError
    from itsmdesk.services import people
    from itsmdesk.services.servicedesk.incidents import add_work_log

    prb, incs = _problem_with_incidents(n_open=2, n_resolved=1)
    team = people.create_team({"name": "DBA"}, actor=ALICE)
    shop = ci("Shop", "business_service")
    add_work_log(incs[0].id, "Lock waits", ALICE)
    view = problems.problem_view(prb.id)
    assert (view.ref, view.ci_name, view.ci_names, view.open_incidents) == (
        prb.ref, "db-01", ["db-01"], 2)
    assert view.choices.teams == ((team.id, "DBA"),) and view.choices.services == (
        (shop.id, "Shop"),)
    assert [e.kind for e in view.timeline].count("work_log") == 1
    assert view.moves == ("investigating", "root_cause_known", "closed")
    assert not view.fix_implemented and view.notes["cause"] == ""
    saved = problems.save_problem(prb.id, view.version, {
        "team": str(team.id), "service": str(shop.id), "ci": "", "ci_names": ["Shop"],
        "rca": {"cause": "missing index"}}, ALICE)
    assert (saved.team_id, saved.service_id, saved.ci_id) == (team.id, shop.id, None)
    assert saved.root_cause == "missing index" and saved.version == view.version + 1
    assert problems.affected_ci_names("problem", prb.id) == [(shop.id, "Shop")]
    with pytest.raises(ConflictError):
        problems.save_problem(prb.id, view.version, {"category": "x"}, ALICE)
    with pytest.raises(ConflictError):
        pl.raise_rfc(prb.id, ALICE, None, view.version)
    with pytest.raises(ConflictError):
        problems.record_known_error(prb.id, view.version, ALICE)
    ke = problems.record_known_error(prb.id, saved.version, ALICE)
    assert ke.problem_id == prb.id and ke.root_cause == "missing index"
    assert problems.affected_ci_names("known_error", ke.id) == [(shop.id, "Shop")]
    # a status in the edits of an existing problem moves it by the lifecycle's rules
    moved = problems.save_problem(prb.id, saved.version, {"status": "root_cause_known"}, ALICE)
    assert moved.status == "root_cause_known"
    # link by reference, unlink with the versions seen
    other = incident("Locks again", T0 + h(9))
    assert problems.link_incident_refs(prb.id, [other.ref], ALICE) == 1
    view = problems.problem_view(prb.id)
    row = next(i for i in view.incidents if i.id == other.id)
    with pytest.raises(ConflictError):
        pl.unlink_incidents([other.id], ALICE, {other.id: row.version - 1})
    assert pl.unlink_incidents([other.id], ALICE, {other.id: row.version}) == 1
    with pytest.raises(ConflictError):
        pl.resolve_linked_incidents(prb.id, ALICE, view.version - 1)
    new_id = uuid.uuid4()
    created = problems.save_problem(None, None, {"title": "New one", "status": "investigating",
                                                 "rca": {"symptoms": "slow"},
                                                 "ci_names": ["db-01"]}, ALICE, new_id)
    assert created.id == new_id and created.status == "investigating"
    assert created.rca["symptoms"] == "slow"
    assert problems.affected_ci_names("problem", new_id)[0][1] == "db-01"
