"""Risk reasons ("why") are N_() templates with parameters: English ``why`` unchanged and stored,
shown in the user's language in the change form, the CAB pack, the release form and the CLI;
factors stored by older versions (``why`` only) still show."""

from __future__ import annotations

import datetime as dt

from pypdf import PdfReader

from itsmdesk.i18n import install_translators, reason_text, remove_translators
from itsmdesk.models.change import CABMeeting, Change
from itsmdesk.reports import cab_pack
from itsmdesk.services.change import cab, risk
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.views.changes.change_form import ChangeForm
from tests.change_helpers import T0, change, stack


def _emergency_change():
    srv, _app, _shop = stack()
    return change("Loud", type="emergency", cis=[srv], outage=True,
                  downtime_start=T0, downtime_end=T0 + dt.timedelta(hours=5))


def _why_column(form: ChangeForm) -> dict[str, str]:
    return {form.factor_table.item(r, 0).text(): form.factor_table.item(r, 3).text()
            for r in range(form.factor_table.rowCount())}


def test_factors_keep_english_why_and_store_template_and_params(db):
    loud = _emergency_change()
    result = risk.assess(loud.id)
    f = {x["factor"]: x for x in result.factors}
    assert f["type"]["why"] == "emergency change"
    assert f["type"]["why_template"] == "emergency change" and f["type"]["why_params"] == {}
    assert f["outage"]["why"] == "service outage, downtime 300 min"
    assert f["outage"]["why_params"] == {"minutes": 300}
    assert f["services"]["why"] == "1 business service(s) impacted: Shop (critical)"
    assert f["services"]["why_template"] == "{n} business service(s) impacted: {services}"
    assert f["failure_rate"]["why"] == "0 of 0 earlier change(s) on these CIs failed"
    # stored as JSON on the change, template and parameters included
    stored = {x["factor"]: x for x in Change.get_by_id(loud.id).risk_factors}
    assert stored["outage"]["why_template"] == "service outage, downtime {minutes} min"
    assert stored["outage"]["why_params"] == {"minutes": 300}


def test_change_form_shows_reasons_in_swedish(ctx, qtbot, swedish):
    loud = _emergency_change()
    risk.assess(loud.id)
    form = ChangeForm(ctx, loud.id)
    qtbot.addWidget(form)
    why = _why_column(form)  # the factor names are Swedish too
    assert why["typ"] == "akut ändring"
    assert why["avbrott"] == "tjänsteavbrott, driftstopp 300 min"
    assert why["tjänster"] == "1 verksamhetstjänst(er) påverkas: Shop (critical)"
    assert why["felfrekvens"] == "0 av 0 tidigare ändringar på dessa CI:n misslyckades"
    assert "change" not in why["typ"]


def test_change_form_in_english_and_old_stored_factors(ctx, qtbot, qapp):
    loud = _emergency_change()
    risk.assess(loud.id)
    form = ChangeForm(ctx, loud.id)
    qtbot.addWidget(form)
    assert _why_column(form)["type"] == "emergency change"
    # a row assessed by an older version: only the English "why"
    old = [{"factor": "type", "value": "emergency", "weight": 20, "points": 20,
            "why": "emergency change (old row)"}]
    Change.update(risk_factors=old).where(Change.id == loud.id).execute()
    translators = install_translators(qapp, "sv_SE")
    try:
        form2 = ChangeForm(ctx, loud.id)
        qtbot.addWidget(form2)
        assert _why_column(form2) == {"typ": "emergency change (old row)"}  # (factor in Swedish)
    finally:
        remove_translators(qapp, translators)


def test_cab_pack_reasons_in_swedish(demo_db, swedish, tmp_path):
    meeting = CABMeeting.select().where(CABMeeting.status == "planned").first()
    for item in cab.agenda(meeting.id):  # the pack shows the factors stored by an assessment
        risk.assess(item.change_id)
    path = tmp_path / "pack.pdf"
    cab_pack.build(meeting.ref, path)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(str(path)).pages).split())
    assert "tidigare ändringar på dessa CI:n misslyckades" in text
    assert "earlier change(s) on these CIs failed" not in text
    assert "business service(s) impacted" not in text
    assert "överlappande ändring(ar)" in text
    types = {item.change.type for item in cab.agenda(meeting.id)}
    if "emergency" in types:
        assert "akut ändring" in text


def test_release_risk_reasons_are_templates(db, swedish):
    from tests.release_helpers import build_release

    rel = build_release(n_sites=3, change_risks=("low", "high"), rtype="emergency")["release"]
    factors = release_lifecycle.assess_risk(rel.id).factors
    by = {f.factor: f for f in factors}
    assert by["type"].why == "emergency release: shortened build and test"
    assert reason_text(by["type"]) == "akut release: förkortad byggnad och test"
    assert by["changes"].why.startswith("highest risk of the bundled changes (")
    assert reason_text(by["changes"]).startswith("högsta risken bland de ingående ändringarna (")
    assert reason_text(by["sites"]).startswith("utrullning ")


def test_conflicts_in_the_change_form_follow_the_language(ctx, qtbot, qapp):
    srv, _app, _shop = stack()
    first = change("First", cis=[srv], status="scheduled")
    second = change("Second", cis=[srv], start_h=1, status="scheduled")
    form = ChangeForm(ctx, first.id)
    qtbot.addWidget(form)
    assert form.conflict_list.item(0).text() == f"{first.ref} overlaps {second.ref} on srv-1"
    translators = install_translators(qapp, "sv_SE")
    try:
        form_sv = ChangeForm(ctx, first.id)
        qtbot.addWidget(form_sv)
        assert form_sv.conflict_list.item(0).text() == \
            f"{first.ref} överlappar {second.ref} på srv-1"
    finally:
        remove_translators(qapp, translators)
