"""The definitive media library and wave deployment updating CI versions (DB + journal)."""

import pytest

from itsmdesk.errors import TransitionError, ValidationError
from itsmdesk.models.cmdb import CI
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.release import Release, ReleaseItem, ReleaseStep
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import Actor
from itsmdesk.services.release import dml, releases
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan
from tests.release_helpers import build_release, set_change_status


def approve(rel, made=None):
    for status in ("build", "test", "approved"):
        rel = release_lifecycle.transition(rel.id, None, status)
    for step in ("build", "test") if made else ():
        release_plan.set_step_status(made[step].id, "done")
    return rel


def test_item_is_a_software_ci(db):
    made = build_release(n_sites=1)
    item = ReleaseItem.get_by_id(made["item"].id)
    ci = CI.get_by_id(item.ci_id)
    assert ci.ci_class.name == "software" and ci.ci_version == "5.0.0" and ci.site_id is None
    assert ci.attributes["checksum"] == "sha256:" + "ab" * 32
    assert [i.name for i in dml.items(made["release"].id)] == ["Payroll client"]
    with pytest.raises(ValidationError, match="not a checksum"):
        dml.add_item(made["release"].id, "Tool", "1.0", "xyz")
    with pytest.raises(ValidationError, match="already delivers"):
        dml.add_item(made["release"].id, "Payroll client", "5.0.1")


def test_deploy_wave_updates_site_cis_and_journals(db):
    made = build_release(n_sites=2)
    rel = approve(made["release"], made)
    actor = Actor(made["manager"].id, "Rita Release", "S0")
    s0, s1 = made["installed"]["S0"], made["installed"]["S1"]
    result = dml.deploy_wave(made["waves"][0].id, actor)

    assert sorted(u.name for u in result.updated) == sorted(c.name for c in s0)
    assert all(u.old_version == "4.9.2" and u.new_version == "5.0.0" for u in result.updated)
    assert result.site == "S0" and result.release_status == "deploying"
    for ci in s0:
        assert CI.get_by_id(ci.id).ci_version == "5.0.0"
        row = JournalEntry.get((JournalEntry.record_id == ci.id)
                               & (JournalEntry.field == "ci_version") & JournalEntry.old.is_null(False))
        assert (row.old, row.new, row.who_name, row.site) == ("4.9.2", "5.0.0", "Rita Release", "S0")
    for ci in s1:  # other site untouched
        assert CI.get_by_id(ci.id).ci_version == "4.9.2"
    assert CI.get_by_id(made["other"].id).ci_version == "1.0"  # other software untouched
    wave = ReleaseStep.get_by_id(made["waves"][0].id)
    assert wave.status == "done" and wave.actual_start and wave.actual_end
    assert Release.get_by_id(rel.id).status == "deploying"

    with pytest.raises(TransitionError, match="already deployed"):
        dml.deploy_wave(made["waves"][0].id, actor)

    result = dml.deploy_wave(made["waves"][1].id, actor)
    assert len(result.updated) == 2 and result.release_status == "deployed"
    assert all(CI.get_by_id(c.id).ci_version == "5.0.0" for c in s1)


def test_deploy_wave_blocked_by_unapproved_change(db):
    made = build_release(n_sites=1)
    approve(made["release"], made)
    set_change_status(made["changes"][0], "awaiting_cab")
    with pytest.raises(TransitionError, match="not approved"):
        dml.deploy_wave(made["waves"][0].id)
    assert all(CI.get_by_id(c.id).ci_version == "4.9.2" for c in made["installed"]["S0"])
    assert ReleaseStep.get_by_id(made["waves"][0].id).status == "planned"
    assert Release.get_by_id(made["release"].id).status == "approved"


def test_deploy_wave_waits_for_its_dependencies(db):
    made = build_release(n_sites=2)
    approve(made["release"], made)
    with pytest.raises(TransitionError, match="waits for: Wave S0"):
        dml.deploy_wave(made["waves"][1].id)
    assert all(CI.get_by_id(c.id).ci_version == "4.9.2" for c in made["installed"]["S1"])


def test_deploy_wave_needs_approved_release(db):
    made = build_release(n_sites=1)
    with pytest.raises(TransitionError, match="is planning"):
        dml.deploy_wave(made["waves"][0].id)
    with pytest.raises(ValidationError, match="not a rollout wave"):
        dml.deploy_wave(made["build"].id)


def test_related_copy_matches_even_with_other_name(db):
    made = build_release(n_sites=1)
    odd = cmdb.create_ci({"name": "PAYCLI-legacy", "ci_class": "software",
                          "site": made["sites"][0].id, "ci_version": "4.0"})
    cmdb.create_relation(odd, "uses", CI.get_by_id(made["item"].ci_id))
    names = {c.name for _i, c in dml.preview_wave(made["waves"][0].id)}
    assert "PAYCLI-legacy" in names and len(names) == 3


def test_detail_and_services(db):
    made = build_release(n_sites=1)
    detail = releases.release_detail(made["release"].ref.lower())
    assert [s.name for s in detail.services] == ["Payroll service"]
    data = releases.detail_as_dict(detail)
    assert data["risk"]["level"] == "high" and data["can_deploy"] is True
    assert [c["ref"] for c in data["changes"]] == sorted(c.ref for c in made["changes"])
    assert data["items"][0]["version"] == "5.0.0"
    assert releases.find_step(made["release"].id, "wave").name == "Wave S0"
    rows = releases.list_releases("payroll")
    assert rows[0].ref == made["release"].ref and rows[0].changes == 2
