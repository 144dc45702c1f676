"""CAB pack and minutes PDFs on the demo data: every change, vote and decision is in the text."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from itsmdesk.cli import main
from itsmdesk.models.change import CABMeeting
from itsmdesk.reports import cab_minutes, cab_pack
from itsmdesk.services.change import cab


def _text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("size", ["A4", "Letter"])
def test_cab_pack_contains_every_change(demo_db, tmp_path, size):
    meeting = CABMeeting.select().where(CABMeeting.status == "planned").first()
    path = tmp_path / "pack.pdf"
    pages = cab_pack.build(meeting.ref, path, page_size=size)
    reader = PdfReader(str(path))
    assert pages == len(reader.pages) and pages >= 3
    width = float(reader.pages[0].mediabox.width)
    assert abs(width - (595.3 if size == "A4" else 612)) < 1
    text = _norm(_text(path))
    items = cab.agenda(meeting.id)
    assert items
    for item in items:
        assert item.change.ref in text and _norm(item.change.title) in text
    for change in cab.forward_schedule(meeting.starts_at):
        assert change.ref in text
    for word in ("Contents", "Agenda", "Forward schedule of change", "Implementation plan",
                 "Backout plan", "Test plan", "Impacted services", "Affected CIs", "Conflicts"):
        assert word in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert f"CAB pack {meeting.ref}" in _norm(reader.pages[2].extract_text())  # running header
    assert len(reader.outline) >= 2  # bookmarks


def test_minutes_contain_votes_and_decisions(demo_db, tmp_path):
    held = list(CABMeeting.select().where(CABMeeting.status == "held"))
    assert held
    for meeting in held:
        path = tmp_path / f"{meeting.ref}.pdf"
        cab_minutes.build(meeting.ref, path)
        text = _norm(_text(path))
        minutes = cab.minutes(meeting.ref)
        for person, _present in minutes.attendees:
            assert person.name in text
        for item in minutes.items:
            assert item.change.ref in text
            assert (item.decision or "pending").upper() in text
            if item.conditions:
                assert _norm(item.conditions) in text
            assert item.votes
            for vote in item.votes:
                assert _norm(f"{vote.person.name} {vote.vote}") in text
        for action in minutes.actions:
            assert _norm(action.text) in text and action.owner.name in text


def test_cli_reports_and_conflicts_json(demo_db, tmp_path, capsys):
    url = f"sqlite:///{demo_db.path}"
    meeting = CABMeeting.select().first()
    assert main(["--db", url, "report", "cab-pack", "--meeting", meeting.ref, "-o",
                 str(tmp_path / "p.pdf")]) == 0
    assert main(["--db", url, "report", "cab-minutes", "--meeting", meeting.ref.lower(),
                 "--page-size", "Letter", "-o", str(tmp_path / "m.pdf")]) == 0
    capsys.readouterr()
    assert main(["--db", url, "changes", "conflicts", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == len(data["conflicts"])
    assert main(["--db", url, "changes", "success-rate", "--by", "type", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[-1]["key"] == "total" and rows[-1]["finished"] > 0
    assert main(["--db", url, "report", "cab-pack", "--meeting", "CAB-999999", "-o",
                 str(tmp_path / "x.pdf")]) == 2
