"""Change form (fields, CI drops, lifecycle buttons, risk override, PIR), CAB meeting form
(attendees, votes, decision, actions) and the changes dock, driven with pytest-qt."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QMimeData, Qt

from itsmdesk.models.change import CABAttendee, Change
from itsmdesk.models.incident import ChangeIncident
from itsmdesk.services.change import cab
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.changes.panel import ChangesPanel, menu_actions
from itsmdesk.views.forms.cab_meeting_form import CABMeetingForm
from itsmdesk.views.forms.change_form import CI_MIME, ChangeForm
from tests.change_helpers import T0, change, person, stack


def test_new_change_with_dropped_cis_and_lifecycle(ctx, qtbot):
    srv, app, _shop = stack()
    form = ChangeForm(ctx, None)
    qtbot.addWidget(form)
    form.title_edit.setText("Patch the app server")
    form.impl_edit.setPlainText("Patch, reboot")
    form.backout_edit.setPlainText("Restore snapshot")
    mime = QMimeData()
    mime.setData(CI_MIME, f"{srv.id}\n{app.id}\nnot-a-uuid\n".encode())
    form.ci_list.handle_mime(mime)
    assert form.ci_list.count() == 2
    assert form.save()
    c = Change.get_by_id(form.change.id)
    assert c.title == "Patch the app server" and c.status == "draft"
    assert {r["name"] for r in change_service.affected_ci_rows(c.id)} == {"srv-1", "app-1"}
    assert set(form.lifecycle_buttons) == {"submitted"}
    qtbot.mouseClick(form.lifecycle_buttons["submitted"], Qt.MouseButton.LeftButton)
    assert Change.get_by_id(c.id).status == "submitted"
    assert "assessed" in form.lifecycle_buttons
    form.assess()
    assert form.factor_table.rowCount() == 5
    assert "Shop" in form.factor_table.item(0, 3).text()
    form.override_box.setCurrentIndex(form.override_box.findData("very_high"))
    form.override_reason.setText("Quarter end")
    form.apply_override()
    assert Change.get_by_id(c.id).risk_override == "very_high"
    assert "overridden" in form.risk_label.text()


def test_pir_links_incidents(ctx, qtbot):
    c = change("Done", status="implemented")
    inc = incidents.create_incident({"title": "Broken", "impact": 2, "urgency": 2})
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    form.pir_box.setCurrentIndex(form.pir_box.findData("failed"))
    form.pir_lessons.setPlainText("Test in staging first")
    form.pir_incidents.setText(inc.ref)
    form.save_pir()
    assert Change.get_by_id(c.id).pir_outcome == "failed"
    assert ChangeIncident.select().where(ChangeIncident.change == c.id).count() == 1
    assert form.pir_incidents.text() == inc.ref


def test_cab_meeting_form_votes_decide_actions(ctx, qtbot):
    members = [person(n) for n in ("Ann A", "Bo B", "Cy C")]
    for m in members:
        cab.add_member(m.id)
    c = change("Router firmware", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "Weekly CAB", "starts_at": T0})
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    for r in range(2):
        form.attendee_table.item(r, 1).setCheckState(Qt.CheckState.Checked)
    assert form.save()
    assert CABAttendee.select().where(CABAttendee.meeting == meeting.id).count() == 2
    form.build_agenda()
    assert form.vote_table.rowCount() == 1
    for col in (1, 2, 3):
        box = form.vote_table.cellWidget(0, col)
        box.setCurrentIndex(box.findData("approve" if col < 3 else "reject"))
    assert form.vote_table.item(0, 4).text().startswith("approved (2/1/0)")
    form.vote_table.setCurrentCell(0, 0)
    form.conditions_edit.setText("Backup first")
    form.decide_selected()
    assert Change.get_by_id(c.id).status == "approved"
    assert "approved: Backup first" in form.vote_table.item(0, 5).text()
    form.action_text.setText("Tell the service desk")
    form.action_owner.setCurrentIndex(1)
    form.add_action()
    assert form.action_table.rowCount() == 1
    assert form.action_table.item(0, 1).text() == members[0].name


def test_changes_panel_lists_and_opens(ctx, qtbot):
    a = change("First")
    change("Second", start_h=3)
    cab.create_meeting({"title": "CAB", "starts_at": T0 + dt.timedelta(days=1)})
    panel = ChangesPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.changes.rowCount() == 2 and panel.meetings.rowCount() == 1
    panel.search.setText("First")
    assert panel.changes.rowCount() == 1
    opened = []
    ctx.sig_open_record.connect(lambda kind, rid: opened.append((kind, rid)))
    panel.changes.itemDoubleClicked.emit(panel.changes.item(0, 0))
    assert opened == [("change", a.id)]
    actions = menu_actions(ctx, panel)
    assert all(act.shortcut().toString() for _menu, act in actions)


def test_standard_change_from_template(ctx, qtbot):
    from itsmdesk.views.changes.panel import new_from_template

    change_service.create_template({"name": "Renew TLS certificate", "backout_plan": "Old cert",
                                    "implementation_plan": "Install", "default_duration_minutes": 45})
    panel = ChangesPanel(ctx)
    qtbot.addWidget(panel)
    c = new_from_template(panel, ctx, "Renew TLS certificate")
    assert c.type == "standard" and c.template_id is not None
    assert c.planned_end - c.planned_start == dt.timedelta(minutes=45)
    assert panel.changes.rowCount() == 1


def test_print_preview_paints_every_page(ctx, qtbot, tmp_path, monkeypatch):
    import shutil

    import pytest
    from PySide6.QtPrintSupport import QPrinter

    from itsmdesk.views.changes import printing

    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm not installed")
    members = [person(n) for n in ("Ann A", "Bo B")]
    for m in members:
        cab.add_member(m.id)
    change("On agenda", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0})
    cab.build_agenda(meeting.id)
    monkeypatch.setattr(printing, "show_preview", lambda parent, pdf: None)
    path = printing.export_and_preview(None, ctx, "cab_pack", meeting.ref,
                                       str(tmp_path / "p.pdf"))
    images = printing.page_images(path, dpi=40)
    assert len(images) >= 3 and not images[0].isNull()
    printer = QPrinter()
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printing.paint_pages(printer, images)
    from pypdf import PdfReader

    assert len(PdfReader(str(tmp_path / "printed.pdf")).pages) == len(images)


def test_success_rate_tab_and_csv(ctx, qtbot, tmp_path):
    import csv

    change("ok", status="closed", pir_outcome="successful", actual_end=T0)
    change("bad", status="failed", actual_end=T0)
    panel = ChangesPanel(ctx)
    qtbot.addWidget(panel)
    panel.success_by.setCurrentIndex(panel.success_by.findData("type"))
    rows = {panel.success.item(r, 0).text(): panel.success.item(r, 5).text()
            for r in range(panel.success.rowCount())}
    assert rows == {"normal": "50.0 %", "total": "50.0 %"}
    path = panel.export_success(str(tmp_path / "s.csv"))
    with open(path, encoding="utf-8") as fh:
        data = list(csv.DictReader(fh))
    assert [(d["group"], d["finished"], d["successful"]) for d in data] == [
        ("normal", "2", "1"), ("total", "2", "1")]
