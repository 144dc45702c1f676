"""The PDF reports follow the user's language: Swedish with the Swedish translator installed (the
GUI's case), via ITSMDESK_LANG on the command line, and unchanged English without it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QCoreApplication, QTranslator

from itsmdesk.cli import main
from itsmdesk.i18n import ensure_translations, install_translators, remove_translators
from itsmdesk.models.change import CABMeeting, Change
from itsmdesk.models.release import Release
from itsmdesk.reports import cab_minutes, cab_pack, ical, release_plan
from itsmdesk.services.change import cab

PACK_SV = ("Innehåll", "Dagordning", "Schema för kommande ändringar", "Påverkade tjänster",
           "Berörda CI:n", "Implementeringsplan", "Återställningsplan", "Testplan", "Konflikter",
           "Ordförande", "Ändringar på dagordningen", "Planerat fönster (UTC)")
PACK_EN = ("Contents", "Agenda", "Forward schedule of change", "Impacted services",
           "Affected CIs", "Implementation plan", "Backout plan", "Test plan", "Conflicts",
           "Chair", "Changes on the agenda", "Planned window (UTC)")
MINUTES_SV = ("Beslut", "Närvarande", "Anmält förhinder", "Åtgärder", "Röster", "Ansvarig",
              "Villkor", "kvorumregel")
MINUTES_EN = ("Decisions", "Present", "Apologies", "Actions", "Votes", "Owner", "Conditions",
              "quorum rule")


def _text(path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(str(path)).pages).split())


@pytest.fixture
def swedish(qapp):
    """The Swedish translators on the test application, removed again afterwards."""
    translators = install_translators(qapp, "sv_SE")
    assert len(translators) == 2
    try:
        yield qapp
    finally:
        remove_translators(qapp, translators)
    assert QCoreApplication.translate("CabPack", "Agenda") == "Agenda"


def _planned_meeting() -> CABMeeting:
    return CABMeeting.select().where(CABMeeting.status == "planned").first()


def test_cab_pack_in_swedish(demo_db, swedish, tmp_path):
    meeting = _planned_meeting()
    path = tmp_path / "pack.pdf"
    pages = cab_pack.build(meeting.ref, path)
    text = _text(path)
    for heading in PACK_SV:
        assert heading in text, heading
    for heading in PACK_EN:
        assert heading not in text, heading
    assert "Underlag för Change Advisory Board" in text
    assert f"Sida 1 av {pages}" in text and f"Sida {pages} av {pages}" in text
    assert "Page 1 of" not in text and "generated" not in text and "skapad" in text
    assert f"CAB-underlag {meeting.ref}" in text  # running header
    # data stays as recorded; status, type and risk words are Swedish
    items = cab.agenda(meeting.id)
    for item in items:
        assert item.change.ref in text and " ".join(item.change.title.split()) in text
    statuses = {item.change.status for item in items}
    if "awaiting_cab" in statuses:
        assert "väntar på CAB" in text and "awaiting cab" not in text
    assert any(word in text for word in ("HÖG", "MEDEL", "LÅG", "MYCKET HÖG"))
    assert not any(f" {word} " in text for word in ("HIGH", "MEDIUM", "LOW"))
    types = {item.change.type for item in items}
    if "emergency" in types:
        assert "akut" in text


def test_cab_minutes_in_swedish(demo_db, swedish, tmp_path):
    for meeting in CABMeeting.select().where(CABMeeting.status == "held"):
        path = tmp_path / f"{meeting.ref}.pdf"
        cab_minutes.build(meeting.ref, path)
        text = _text(path)
        assert "CAB-protokoll" in text or "Protokoll akut-CAB" in text
        minutes = cab.minutes(meeting.ref)
        for heading in MINUTES_SV:
            if heading in ("Villkor",) and not any(i.conditions for i in minutes.items):
                continue
            if heading in ("Ansvarig",) and not minutes.actions:
                continue
            assert heading in text, (meeting.ref, heading)
        for heading in MINUTES_EN:
            assert heading not in text, (meeting.ref, heading)
        decisions = {"approved": "GODKÄND", "rejected": "AVSLAGEN", "deferred": "UPPSKJUTEN",
                     None: "AVVAKTAR"}
        for item in minutes.items:
            assert decisions[item.decision] in text
            for vote in item.votes:
                word = {"approve": "godkänner", "reject": "avslår", "abstain": "avstår"}[vote.vote]
                assert f"{vote.person.name} {word}" in text
        assert "genomfört" in text  # meeting status "held"


def test_reports_stay_english_without_translator(demo_db, qapp, tmp_path):
    assert QCoreApplication.translate("CabPack", "Agenda") == "Agenda"
    meeting = _planned_meeting()
    pages = cab_pack.build(meeting.ref, tmp_path / "pack.pdf")
    text = _text(tmp_path / "pack.pdf")
    for heading in PACK_EN:
        assert heading in text, heading
    for heading in PACK_SV:
        assert heading not in text, heading
    assert "Change Advisory Board pack" in text and f"Page 1 of {pages}" in text
    assert f"CAB pack {meeting.ref}" in text and "itsmdesk · generated" in text
    held = CABMeeting.select().where(CABMeeting.status == "held").first()
    cab_minutes.build(held.ref, tmp_path / "min.pdf")
    text = _text(tmp_path / "min.pdf")
    assert "CAB minutes" in text and "Decisions" in text and "Beslut" not in text


def test_release_plan_and_calendar_text_in_swedish(demo_db, swedish, tmp_path):
    release = Release.select().order_by(Release.id).first()
    release_plan.build(release.ref, tmp_path / "rel.pdf")
    text = _text(tmp_path / "rel.pdf")
    for heading in ("Ingående ändringar", "Påverkade tjänster", "Releaseplan", "Utrullningsvågor",
                    "Definitivt mediebibliotek", "Återställningsplan", "Godkännande",
                    "Releaseansvarig", "Underskrift"):
        assert heading in text, heading
    for heading in ("Included changes", "Rollout waves", "Sign-off", "Definitive media library"):
        assert heading not in text, heading
    change = Change.select().where(Change.implementation_plan.is_null(False)).first()
    description = ical.description(change, ["Web Shop"], ["web-01"])
    assert "Implementeringsplan:" in description and "Tjänster: Web Shop" in description
    assert "Implementation plan" not in description


def _new_translators(app, before):
    return [t for t in app.findChildren(QTranslator) if t not in before]


def test_ensure_translations_reuses_the_running_application(qapp, monkeypatch):
    monkeypatch.setenv("ITSMDESK_LANG", "en_US")
    assert ensure_translations() == []  # English: nothing to do
    monkeypatch.setenv("ITSMDESK_LANG", "sv_SE")
    before = set(qapp.findChildren(QTranslator))
    added = ensure_translations()
    try:
        assert QCoreApplication.instance() is qapp  # no second application
        assert len(added) == 2 and set(added) == set(_new_translators(qapp, before))
        assert QCoreApplication.translate("PdfCommon", "Page {n} of {m}") == "Sida {n} av {m}"
        assert ensure_translations() == []  # already installed: not twice
    finally:
        remove_translators(qapp, added)
    assert QCoreApplication.translate("PdfCommon", "Page {n} of {m}") == "Page {n} of {m}"


def test_cli_report_in_process_follows_itsmdesk_lang(demo_db, qapp, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ITSMDESK_LANG", "sv_SE")
    before = set(qapp.findChildren(QTranslator))
    url = f"sqlite:///{demo_db.path}"
    meeting = _planned_meeting()
    try:
        assert main(["--db", url, "report", "cab-pack", "--meeting", meeting.ref,
                     "-o", str(tmp_path / "p.pdf")]) == 0
    finally:
        remove_translators(qapp, _new_translators(qapp, before))
    text = _text(tmp_path / "p.pdf")
    assert "Dagordning" in text and "Innehåll" in text and "Sida 1 av" in text
    assert "Agenda" not in text
    assert QCoreApplication.translate("CabPack", "Agenda") == "Agenda"


def test_cli_reports_in_a_fresh_process_are_swedish(demo_db, tmp_path):
    """No QApplication at all: ``ensure_translations`` creates a bare QCoreApplication."""
    url = f"sqlite:///{demo_db.path}"
    meeting = _planned_meeting()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                            "QT_QPA_PLATFORM")}
    env["ITSMDESK_LANG"] = "sv_SE"
    pack = tmp_path / "pack.pdf"
    avail = tmp_path / "avail.pdf"
    for args in (["report", "cab-pack", "--meeting", meeting.ref, "-o", str(pack)],
                 ["availability", "--by", "service", "--pdf", str(avail)]):
        done = subprocess.run([sys.executable, "-m", "itsmdesk", "--db", url, *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    text = _text(pack)
    assert "Dagordning" in text and "Innehåll" in text and "Sida 1 av" in text
    assert "Agenda" not in text and "Contents" not in text
    text = _text(avail)
    assert "Tillgänglighet per verksamhetstjänst" in text and "Mest driftstopp" in text
    assert "Most downtime" not in text
