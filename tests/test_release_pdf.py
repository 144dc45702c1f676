"""The release plan PDF: its text and pages against the database (pypdf)."""

from pypdf import PdfReader

from itsmdesk.models.release import Release
from itsmdesk.reports import release_plan as report
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan
from itsmdesk.services.release import releases
from tests.release_helpers import build_release, day, set_change_status


def text_of(path):
    reader = PdfReader(str(path))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_sections_match_database(sqlite_db, tmp_path):
    made = build_release(n_sites=3, change_risks=("low", "high"))
    set_change_status(made["changes"][0], "awaiting_cab")
    release_plan.set_step_status(made["build"].id, "done")
    out = tmp_path / "plan.pdf"
    pages = report.build(made["release"].ref, out, page_size="A4", now=day(2))
    reader, text = text_of(out)
    assert pages == len(reader.pages) >= 2
    flat = " ".join(text.split())
    rel = Release.get_by_id(made["release"].id)
    for needle in (rel.ref, "Payroll 5", "5.0.0", "Rita Release", "Release team",
                   "Included changes", "Affected services", "Payroll service", "Release plan",
                   "Gantt chart", "Rollout waves", "Definitive media library", "Payroll client",
                   "Backout plan", "Reinstall 4.9 from the DML.", "Sign-off", "Change manager",
                   "CAB chair", "Service owner: Payroll service", f"Page 1 of {pages}"):
        assert needle in flat, needle
    for chg in made["changes"]:
        assert chg.ref in flat and chg.title in flat
    # roll-up and risk as the database says
    assert "1 of 2 changes NOT approved" in flat
    assert "awaiting cab" in flat and "HIGH" in flat
    for row in release_plan.plan(rel.id):
        assert row.name in flat
    for code in ("S0", "S1", "S2"):
        assert f"Wave {code}" in flat
    assert "sha256:" + "ab" * 8 in flat.replace(" ", "")  # checksum (small font may wrap)
    # PDF metadata and the outline (bookmarks) for navigation
    assert reader.metadata.title == "Release plan"
    def titles(items):
        for item in items:
            yield from titles(item) if isinstance(item, list) else [item.title]

    outline = list(titles(reader.outline))
    assert outline[0] == f"{rel.ref} · Payroll 5"
    assert "Gantt chart" in outline and "Sign-off" in outline


def test_long_plan_splits_gantt_over_pages(sqlite_db, tmp_path):
    rel = releases.create_release({"name": "Big bang", "backout_plan": "revert"})
    for i in range(70):
        release_plan.add_step(rel.id, {"name": f"Step {i:02d}", "planned_start": day(i / 4),
                                       "planned_end": day(i / 4, 5)})
    out = tmp_path / "big.pdf"
    pages = report.build(rel.ref, out, page_size="Letter")
    reader, text = text_of(out)
    assert pages == len(reader.pages) >= 4
    assert abs(float(reader.pages[0].mediabox.width) - 612) < 1  # Letter
    assert "Step 69" in text and "No changes bundled" not in text
    assert "This release bundles no change yet." in " ".join(text.split())


def test_gantt_drawing_geometry(sqlite_db):
    made = build_release(n_sites=1)
    release_lifecycle.refresh_risk(made["release"].id)
    rows = release_plan.plan(made["release"].id)
    charts = report.gantt(rows, 480, now=day(2))
    assert len(charts) == 1 and charts[0].width == 480
    strings = [s.text for s in charts[0].contents if hasattr(s, "text")]
    assert "not scheduled" in strings  # the backout step has no dates
    assert any(s.startswith("02 Mar") for s in strings)
    assert report.gantt([], 480) == []


def test_empty_release_and_markup_characters(sqlite_db, tmp_path):
    rel = releases.create_release({"name": "R&D <beta> tools", "description": "a < b & c"})
    out = tmp_path / "empty.pdf"
    pages = report.build(rel.ref, out)
    _reader, text = text_of(out)
    flat = " ".join(text.split())
    assert pages == 1
    assert "R&D <beta> tools" in flat and "a < b & c" in flat
    for needle in ("This release bundles no change yet.", "No plan steps yet.",
                   "No rollout waves planned.", "No software items registered.",
                   "No backout plan recorded.", "Sign-off"):
        assert needle in flat, needle
