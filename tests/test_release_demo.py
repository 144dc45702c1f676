"""demo_release: DML items and a release mid-rollout on top of the small demo."""

from itsmdesk.demo.releases import demo_release
from itsmdesk.models.release import Release, ReleaseItem
from itsmdesk.services.release import releases


def test_demo_release_extras(demo_db):
    demo_release()
    demo_release()  # idempotent
    payroll = Release.get(Release.name == "Payroll 5.1")
    assert payroll.status == "deploying"
    detail = releases.release_detail(payroll.ref)
    assert detail.rollup.all_approved and detail.items
    pilot = next(s for s in detail.plan if s.kind == "pilot")
    assert pilot.status == "done" and pilot.actual_end
    assert ReleaseItem.select().count() >= 4
    assert all(r.risk_level for r in Release.select())
