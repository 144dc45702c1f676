"""releases_between: what the change calendar shows for releases."""

import datetime as dt

from itsmdesk.services import people
from itsmdesk.services.release import releases


def test_releases_between_dated_and_step_spans(db):
    osl = people.create_site({"name": "Oslo", "code": "OSL"})
    t0 = dt.datetime(2026, 3, 2, 8)
    dated = releases.create_release({"name": "Payroll 5", "planned_start": t0,
                                     "planned_end": t0 + dt.timedelta(days=3)})
    undated = releases.create_release({"name": "Portal 2"})
    releases.add_step(undated.id, {"name": "Wave Oslo", "kind": "wave", "site": osl.id,
                                   "planned_start": t0 + dt.timedelta(days=10),
                                   "planned_end": t0 + dt.timedelta(days=11)})
    releases.create_release({"name": "Nowhere"})  # no dates at all: never on the calendar

    week1 = releases.releases_between(t0 - dt.timedelta(days=1), t0 + dt.timedelta(days=6))
    assert [s.ref for s in week1] == [dated.ref]
    assert week1[0].start == t0 and week1[0].end == t0 + dt.timedelta(days=3)

    week2 = releases.releases_between(t0 + dt.timedelta(days=7), t0 + dt.timedelta(days=14))
    assert [s.ref for s in week2] == [undated.ref]
    assert week2[0].waves == (("Wave Oslo", "OSL", t0 + dt.timedelta(days=10),
                               t0 + dt.timedelta(days=11)),)
    assert releases.releases_between(t0 + dt.timedelta(days=20), t0 + dt.timedelta(days=30)) == []
