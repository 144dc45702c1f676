"""Release plans: phases, owners, dependencies (cycles, dates) and step status."""

import pytest

from itsmdesk.errors import TransitionError, ValidationError
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.release import ReleaseStep, StepDependency
from itsmdesk.services import records
from itsmdesk.services.release import plan as release_plan
from itsmdesk.services.release import releases
from tests.release_helpers import build_release, day


def test_plan_rows_in_display_order(db):
    made = build_release(n_sites=2)
    rows = release_plan.plan(made["release"].id)
    assert [(r.name, r.level) for r in rows] == [
        ("Build and test", 0), ("Build", 1), ("Test", 1), ("Wave S0", 0), ("Wave S1", 0),
        ("Backout", 0)]
    test = next(r for r in rows if r.name == "Test")
    assert test.owner == "Rita Release" and test.depends_on_names == ("Build",)
    assert next(r for r in rows if r.name == "Wave S1").site == "S1"
    assert release_plan.phase_span(rows, made["phase"].id) == (day(0), day(3))


def test_cycle_is_refused(db):
    made = build_release(n_sites=2)
    wave1 = made["waves"][1]
    with pytest.raises(ValidationError, match="cycle"):
        release_plan.add_dependency(made["build"].id, wave1.id)
    with pytest.raises(ValidationError, match="itself"):
        release_plan.add_dependency(made["build"].id, made["build"].id)
    assert not StepDependency.select().where(StepDependency.step == made["build"].id).exists()


def test_dependency_dates_are_checked(db):
    made = build_release(n_sites=1)
    with pytest.raises(ValidationError, match="before 'Test' ends"):
        release_plan.update_step(made["waves"][0].id, None, {"planned_start": day(2)})
    step = ReleaseStep.get_by_id(made["waves"][0].id)
    assert step.planned_start == day(4)  # nothing saved
    release_plan.update_step(made["backout"].id, None, {"planned_start": day(1)})
    with pytest.raises(ValidationError, match="before 'Test' ends"):
        release_plan.add_dependency(made["backout"].id, made["test"].id)
    with pytest.raises(ValidationError, match="end .* must come after the start"):
        release_plan.add_step(made["release"].id, {"name": "Bad", "planned_start": day(3),
                                                   "planned_end": day(2)})


def test_step_status_respects_dependencies_and_stamps_actuals(db):
    made = build_release(n_sites=1)
    with pytest.raises(TransitionError, match="waits for: Build"):
        release_plan.set_step_status(made["test"].id, "in_progress")
    release_plan.set_step_status(made["build"].id, "in_progress")
    build = release_plan.set_step_status(made["build"].id, "done")
    assert build.actual_start is not None and build.actual_end >= build.actual_start
    test = release_plan.set_step_status(made["test"].id, "in_progress")
    assert test.status == "in_progress"
    with pytest.raises(TransitionError, match="from done to planned"):
        release_plan.set_step_status(made["build"].id, "planned")
    assert len(records.field_history("release_step", build.id, ["status"])) == 3  # created + 2


def test_phase_must_belong_to_release(db):
    made = build_release(n_sites=1)
    other = releases.create_release({"name": "Other"})
    with pytest.raises(ValidationError, match="not a phase"):
        release_plan.add_step(other.id, {"name": "X", "phase": made["phase"].id})
    with pytest.raises(ValidationError, match="not a phase"):
        release_plan.add_step(made["release"].id, {"name": "X", "phase": made["build"].id})


def test_plan_problems(db):
    made = build_release(n_sites=1)
    assert release_plan.plan_problems(made["release"].id) == []
    release_plan.add_step(made["release"].id, {"name": "Wave nowhere", "kind": "wave"})
    problems = release_plan.plan_problems(made["release"].id)
    assert "'Wave nowhere' has no owner" in problems and "wave 'Wave nowhere' has no site" in problems


def test_edit_step_fields_and_dependencies(db):
    made = build_release(n_sites=2)
    w0, w1 = made["waves"]
    # move wave 1 before wave 0 ends: refused while it waits for wave 0, and nothing changes
    with pytest.raises(ValidationError, match="before 'Wave S0' ends"):
        release_plan.edit_step(w1.id, None, {"planned_start": day(4, 2)}, [w0.id])
    assert ReleaseStep.get_by_id(w1.id).planned_start == day(5)
    assert {d.depends_on_id for d in StepDependency.select().where(StepDependency.step == w1.id)} \
        == {w0.id}
    # ...allowed once it waits for the test step instead
    step = release_plan.edit_step(w1.id, None, {"planned_start": day(4, 2),
                                                "owner_person": made["manager"].id},
                                  [made["test"].id])
    assert step.planned_start == day(4, 2) and step.owner_person_id == made["manager"].id
    assert {d.depends_on_id for d in StepDependency.select().where(StepDependency.step == w1.id)} \
        == {made["test"].id}
    fields = {j.field for j in JournalEntry.select().where(JournalEntry.record_id == w1.id)}
    assert {"planned_start", "owner_person", "step_dependency-", "step_dependency+"} <= fields
