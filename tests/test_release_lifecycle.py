"""Release status moves, the change roll-up rule, and release risk."""

import pytest

from itsmdesk.errors import TransitionError
from itsmdesk.models.release import Release
from itsmdesk.services import records
from itsmdesk.services.release import lifecycle as lc
from itsmdesk.services.release import releases
from tests.release_helpers import build_release, set_change_status


def walk(rel, *statuses):
    for status in statuses:
        rel = lc.transition(rel.id, None, status)
    return rel


def test_forward_path_and_journal(db):
    made = build_release()
    rel = walk(made["release"], "build", "test", "approved", "deploying", "deployed", "in_review",
               "closed")
    assert Release.get_by_id(rel.id).status == "closed"
    rows = [(j.old, j.new) for j in records.field_history("release", rel.id, ["status"])][1:]
    # (the first is the creation)
    assert rows[0] == ("planning", "build") and rows[-1] == ("in_review", "closed")
    assert len(rows) == 7


def test_skipping_steps_is_refused(db):
    rel = build_release()["release"]
    with pytest.raises(TransitionError, match="cannot move from planning to deploying"):
        lc.transition(rel.id, None, "deploying")
    assert Release.get_by_id(rel.id).status == "planning"


def test_unapproved_change_blocks_deploying(db):
    made = build_release()
    rel = walk(made["release"], "build", "test", "approved")
    for bad in ("submitted", "awaiting_cab", "rejected", "draft"):
        set_change_status(made["changes"][1], bad)
        roll = lc.rollup(rel.id)
        assert [c.ref for c in roll.unapproved] == [made["changes"][1].ref]
        assert not roll.can_deploy and roll.by_status == {"approved": 1, bad: 1}
        with pytest.raises(TransitionError) as err:
            lc.transition(rel.id, None, "deploying")
        assert made["changes"][1].ref in str(err.value) and bad in str(err.value)
        assert Release.get_by_id(rel.id).status == "approved"
        # field edits cannot bypass the rule either
        with pytest.raises(TransitionError):
            releases.update_release(rel.id, None, {"status": "deployed"})


def test_approved_like_statuses_allow_deploying(db):
    made = build_release()
    rel = walk(made["release"], "build", "test", "approved")
    for ok in ("approved", "scheduled", "implementing", "implemented", "in_review", "closed"):
        for chg in made["changes"]:
            set_change_status(chg, ok)
        assert lc.rollup(rel.id).can_deploy
        rel = lc.transition(rel.id, None, "deploying")
        assert rel.status == "deploying"
        rel = lc.transition(rel.id, None, "approved")  # halt: back to approved


def test_approval_needs_a_change(db):
    rel = releases.create_release({"name": "Empty"})
    rel = walk(rel, "build", "test")
    with pytest.raises(TransitionError, match="bundles no change"):
        lc.transition(rel.id, None, "approved")


def test_stale_version_is_a_conflict(db):
    from itsmdesk.errors import ConflictError

    rel = build_release()["release"]
    lc.transition(rel.id, None, "build")
    with pytest.raises(ConflictError):
        lc.transition(rel.id, rel.version, "test")


def test_risk_is_highest_change_plus_own_factors(db):
    made = build_release(n_sites=2, change_risks=("low", "medium"))
    risk = lc.assess_risk(made["release"].id)
    assert risk.from_changes == "medium" and risk.level == "medium"
    # an override on a change wins over its computed level
    from itsmdesk.models.change import Change

    Change.update(risk_override="high").where(Change.id == made["changes"][0].id).execute()
    assert lc.assess_risk(made["release"].id).level == "high"
    # emergency type raises on its own; with a second own factor on top of risky changes +1
    Release.update(type="emergency", backout_plan=None).where(
        Release.id == made["release"].id).execute()
    from itsmdesk.services.release import plan as release_plan

    release_plan.delete_step(made["backout"].id)
    risk = lc.refresh_risk(made["release"].id)
    assert risk.level == "very_high"
    assert {f.factor for f in risk.factors} >= {"changes", "type", "backout", "combined"}
    assert Release.get_by_id(made["release"].id).risk_level == "very_high"


def test_risk_without_changes_uses_own_factors(db):
    rel = releases.create_release({"name": "Hotfix", "type": "emergency",
                                   "backout_plan": "revert"})
    risk = lc.assess_risk(rel.id)
    assert risk.from_changes is None and risk.level == "high"


def test_refresh_releases_of_change(db):
    from itsmdesk.models.change import Change

    made = build_release(change_risks=("low", "medium"))
    lc.refresh_risk(made["release"].id)
    assert Release.get_by_id(made["release"].id).risk_level == "medium"
    Change.update(risk_level="very_high").where(Change.id == made["changes"][0].id).execute()
    assert lc.refresh_releases_of_change(made["changes"][0].id) == [made["release"].ref]
    assert Release.get_by_id(made["release"].id).risk_level == "very_high"
    assert lc.refresh_releases_of_change(made["changes"][0].id) == []
