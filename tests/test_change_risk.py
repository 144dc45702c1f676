"""Risk from the CMDB: factors, weights, level, override journalled; success rate."""

from __future__ import annotations

import datetime as dt

import pytest

from itsmdesk.errors import ValidationError
from itsmdesk.models.change import Change
from itsmdesk.models.incident import ChangeIncident
from itsmdesk.services import records
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.change import risk
from itsmdesk.services.change import success as change_success
from itsmdesk.services.servicedesk import incidents
from tests.change_helpers import T0, change, ci, stack


def test_risk_factors_from_cmdb(db):
    srv, _app, _shop = stack()
    lone = ci("lone-1", crit="low")
    quiet = change("Quiet", type="standard", cis=[lone], start_h=100)
    loud = change("Loud", type="emergency", cis=[srv], outage=True,
                  downtime_start=T0, downtime_end=T0 + dt.timedelta(hours=5))
    change("Neighbour", cis=[srv], start_h=1)
    r_quiet = risk.assess(quiet.id)
    r_loud = risk.assess(loud.id)
    f = {x["factor"]: x for x in r_loud.factors}
    assert set(f) == set(risk.WEIGHTS)
    assert f["services"]["value"] == 1 and f["services"]["points"] == 12  # Shop is critical
    assert "Shop" in f["services"]["why"]
    assert f["type"]["points"] == 20 and f["outage"]["points"] == 20
    assert f["conflicts"]["points"] == 5
    assert r_loud.score == sum(x["points"] for x in r_loud.factors)
    assert all(x["points"] <= x["weight"] for x in r_loud.factors)
    assert r_quiet.level == "low" and r_loud.level in ("high", "very_high")
    stored = Change.get_by_id(loud.id)
    assert stored.risk_score == r_loud.score and stored.risk_factors == r_loud.factors


def test_failure_rate_of_earlier_changes(db):
    srv = ci("srv-x")
    for n, status in enumerate(("failed", "closed", "backed_out", "closed")):
        change(f"old {n}", cis=[srv], start_h=-100 + n, status=status)
    new = change("new", cis=[srv])
    rate, failed, finished = risk.failure_rate(new, [srv.id])
    assert (failed, finished) == (2, 4) and rate == 0.5
    f = {x["factor"]: x for x in risk.compute(new).factors}
    assert f["failure_rate"]["points"] == 8


def test_override_needs_reason_and_is_journalled(db):
    c = change("Risky")
    with pytest.raises(ValidationError):
        risk.override(c.id, c.version, "high", "")
    c2 = risk.override(c.id, c.version, "very_high", "Vendor has a bad track record")
    assert risk.effective_level(c2) == "very_high"
    fields = {h.field: h.new for h in records.history("change", c.id)}
    assert fields["risk_override"] == "very_high"
    assert fields["risk_override_reason"] == "Vendor has a bad track record"


def test_success_rate_by_type_and_month(db):
    srv = ci("srv-s")
    ok = change("ok", status="closed", pir_outcome="successful", actual_end=T0)
    change("failed", status="failed", actual_end=T0)
    harm = change("harm", type="standard", status="closed", pir_outcome="successful",
                  actual_end=T0 + dt.timedelta(days=40), cis=[srv])
    change("pending", status="scheduled")
    inc = incidents.create_incident({"title": "Broke after change", "impact": 2, "urgency": 2})
    ChangeIncident.create(change=harm.id, incident=inc.id)
    rows = {r.key: r for r in change_success.success_rate("type")}
    assert (rows["normal"].finished, rows["normal"].successful, rows["normal"].failed) == (2, 1, 1)
    assert (rows["standard"].successful, rows["standard"].caused_incidents) == (0, 1)
    assert rows["total"].rate == pytest.approx(1 / 3, abs=1e-3)
    months = {r.key: r.finished for r in change_success.success_rate("month")}
    assert months == {"2030-03": 2, "2030-04": 1, "total": 3}
    change_service.record_pir(ok.id, None, "partially", "late comms", [inc.id])
    assert {r.key: r.successful for r in change_success.success_rate("type")}["normal"] == 0
