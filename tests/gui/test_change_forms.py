"""Change form (fields, CI drops, lifecycle buttons with a reason, reschedule, risk, PIR), CAB
meeting form (attendance, agenda, votes, decision, actions, reports) and the changes dock, driven
with pytest-qt.  Both forms are RecordForms: they load one read model, save only what changed at
the version they loaded, merge stale edits, ask before closing, and run no SQL on the GUI
thread."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from itsmdesk.models.change import Approval, CABAction, CABAttendee, CABMeeting, Change
from itsmdesk.models.incident import ChangeIncident
from itsmdesk.services import records
from itsmdesk.services.change import cab
from itsmdesk.services.change import changes as change_service
from itsmdesk.services.history import named_history
from itsmdesk.services.people import create_team
from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.changes.cab_meeting_form import CABMeetingForm
from itsmdesk.views.changes.change_form import CI_MIME, ChangeForm, RescheduleDialog, to_qdt
from itsmdesk.views.changes.panel import ChangesPanel, menu_actions
from itsmdesk.views.forms.merge_dialog import MergeDialog
from itsmdesk.words import word
from tests.change_helpers import T0, change, person, stack

pytestmark = pytest.mark.gui


@pytest.fixture
def count_sql(monkeypatch):
    """``with count_sql() as seen:`` collects the statements the block runs."""
    import contextlib

    import peewee

    original = peewee.Database.execute_sql

    @contextlib.contextmanager
    def counting():
        seen: list[str] = []

        def execute_sql(self, sql, params=None, *args, **kwargs):
            seen.append(str(sql)[:160])
            return original(self, sql, params, *args, **kwargs)

        monkeypatch.setattr(peewee.Database, "execute_sql", execute_sql)
        try:
            yield seen
        finally:
            monkeypatch.setattr(peewee.Database, "execute_sql", original)

    return counting


def fields_at(kind: str, record_id, version: int) -> list[str]:
    """The fields one save journalled (the entries carrying the version it made)."""
    return sorted(e.field for e in records.history(kind, record_id) if e.version == version)


class Host(QWidget):
    """Stands in for the main window: a form that saved and asks to close lands here."""

    def __init__(self) -> None:
        super().__init__()
        self.closed: list[QWidget] = []

    def close_form(self, form: QWidget) -> None:
        self.closed.append(form)


def answer(monkeypatch, button):
    asked = []

    def question(*args, **kwargs):
        asked.append(args[2] if len(args) > 2 else "")
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def mine_for(*names):
    def fake_exec(dialog):
        for name in names:
            dialog.choose_mine(name)
        fake_exec.conflicts = list(dialog.conflicts)
        return True
    return fake_exec


def meeting_with_members(names=("Ann A", "Bo B", "Cy C")):
    members = [person(n) for n in names]
    for m in members:
        cab.add_member(m.id)
    return members


# -- the change form ---------------------------------------------------------------------------------

def test_new_change_with_dropped_cis_and_lifecycle(ctx, qtbot):
    srv, app, _shop = stack()
    form = ChangeForm(ctx, None)
    qtbot.addWidget(form)
    assert form.loaded and form.title() == "New change"
    form.title_edit.setText("Patch the app server")
    form.impl_edit.setPlainText("Patch, reboot")
    form.backout_edit.setPlainText("Restore snapshot")
    mime = QMimeData()
    mime.setData(CI_MIME, f"{srv.id}\n{app.id}\nnot-a-uuid\n".encode())
    form.ci_list.handle_mime(mime)
    assert form.ci_list.count() == 2 and form.dirty
    form.save()
    c = Change.get_by_id(form.record_id)
    assert form.record_id == form.new_id  # created with the key chosen at open
    assert c.title == "Patch the app server" and c.status == "draft"
    assert {r["name"] for r in change_service.affected_ci_rows(c.id)} == {"srv-1", "app-1"}
    assert not form.dirty and form.title() == f"{c.ref} Patch the app server"
    assert set(form.lifecycle_buttons) == {"submitted"}
    qtbot.mouseClick(form.lifecycle_buttons["submitted"], Qt.MouseButton.LeftButton)
    assert Change.get_by_id(c.id).status == "submitted"
    assert "assessed" in form.lifecycle_buttons
    assert form.status_label.text() == f"Status: {word('submitted')}"
    form.assess()
    assert form.factor_table.rowCount() == 5
    assert "Shop" in form.factor_table.item(0, 3).text()
    form.override_box.setCurrentIndex(form.override_box.findData("very_high"))
    form.override_reason.setText("Quarter end")
    form.apply_override()
    assert Change.get_by_id(c.id).risk_override == "very_high"
    assert "overridden" in form.risk_label.text()
    assert form.version == Change.get_by_id(c.id).version


def test_opening_a_change_fills_the_form(ctx, qtbot):
    team = create_team({"name": "Network"})
    srv, _app, _shop = stack()
    first = change("First", cis=[srv], status="scheduled", team=team.id, category="network",
                   downtime_start=T0, downtime_end=T0 + dt.timedelta(minutes=30), outage=True)
    second = change("Second", cis=[srv], start_h=1, status="scheduled")
    form = ChangeForm(ctx, first.id)
    qtbot.addWidget(form)
    assert form.loaded and not form.dirty
    assert form.title_edit.text() == "First" and form.category_edit.text() == "network"
    assert form.team_box.currentText() == "Network"
    assert form.start_edit.dateTime() == to_qdt(T0)
    assert form.downtime_check.isChecked() and form.outage_check.isChecked()
    assert form.impl_edit.toPlainText() == "Step 1. Step 2."
    assert [form.ci_list.item(i).text().split("  ·  ")[0] for i in range(form.ci_list.count())] \
        == ["srv-1"]
    assert form.conflict_list.item(0).text() == f"{first.ref} overlaps {second.ref} on srv-1"
    assert set(form.lifecycle_buttons) == {"implementing", "approved"}
    assert form.reschedule_btn.isEnabled() and not form.pir_btn.isEnabled()
    assert form.edits() == {}


def test_an_edit_saves_only_what_changed(ctx, qtbot):
    srv, app, _shop = stack()
    c = change("Patch", cis=[srv])
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    form.description_edit.setPlainText("Security fix")
    form._add_ci_rows(change_service.ci_rows([app.id]))
    assert form.edits() == {"description": "Security fix",
                            "ci_ids": sorted([srv.id, app.id], key=str)}
    form.save()
    saved = Change.get_by_id(c.id)
    assert saved.description == "Security fix" and saved.version == c.version + 1
    assert fields_at("change", c.id, saved.version) == ["change_ci+", "description"]
    assert not form.dirty and form.data.version == saved.version
    # the History tab names the CI, not its id
    form.history.refresh()
    added = [e for e in form.history.entries if e.action == "added"]
    assert [e.new for e in added if e.version == saved.version] == ["app-1"]
    assert str(app.id) not in " ".join(f"{e.old} {e.new}" for e in form.history.entries)
    assert form.history.tree.topLevelItem(0) is not None


def test_stale_change_edit_is_merged(ctx, qtbot, monkeypatch):
    srv, app, _shop = stack()
    c = change("Patch", cis=[srv])
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    # someone else saves first, with the version the form holds
    change_service.save_change(c.id, form.version, {"title": "Patch the server",
                                                    "test_plan": "Their tests"})
    form.title_edit.setText("Patch srv-1")
    form.backout_edit.setPlainText("My backout")
    fake = mine_for("title")
    monkeypatch.setattr(MergeDialog, "exec", fake)
    form.save()
    row = Change.get_by_id(c.id)
    assert fake.conflicts == ["title"]
    assert row.title == "Patch srv-1"  # mine, chosen in the dialog
    assert row.backout_plan == "My backout"  # mine, not in conflict
    assert row.test_plan == "Their tests"  # theirs, kept
    assert form.version == row.version and not form.dirty


def test_change_transition_with_reason_and_reschedule(ctx, qtbot, monkeypatch):
    c = change("Move me", status="awaiting_cab", downtime_start=T0 + dt.timedelta(minutes=30),
               downtime_end=T0 + dt.timedelta(hours=1))
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    assert "rejected" in form.lifecycle_buttons
    form.transition_note.setText("Out of budget")
    form.transition("rejected")
    assert Change.get_by_id(c.id).status == "rejected"
    notes = [e for e in named_history("change", c.id) if e.action == "note"]
    assert notes[0].field == "transition_reason" and notes[0].new == "Out of budget"
    assert form.data.status == "rejected" and form.transition_note.text() == ""
    form.transition("draft")
    later = T0 + dt.timedelta(days=2)

    def pick(dialog):
        dialog.start_edit.setDateTime(to_qdt(later))
        dialog.end_edit.setDateTime(to_qdt(later + dt.timedelta(hours=3)))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(RescheduleDialog, "exec", pick)
    form.reschedule()
    row = Change.get_by_id(c.id)
    assert (row.planned_start, row.planned_end) == (later, later + dt.timedelta(hours=3))
    assert row.downtime_start == later + dt.timedelta(minutes=30)  # moved with the window
    assert form.start_edit.dateTime() == to_qdt(later) and not form.dirty


def test_an_action_saves_unsaved_edits_first(ctx, qtbot):
    c = change("Draft")
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    form.test_edit.setPlainText("Ping it")
    form.transition("submitted")
    row = Change.get_by_id(c.id)
    assert row.test_plan == "Ping it" and row.status == "submitted"
    assert not form.dirty and form.version == row.version


def test_an_edit_put_back_does_not_hold_an_action(ctx, qtbot):
    c = change("Draft")
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    form.title_edit.setText("Draft 2")
    form.title_edit.setText("Draft")
    assert form.dirty and form.edits() == {}
    form.transition("submitted")
    assert Change.get_by_id(c.id).status == "submitted" and not form.dirty
    assert form._after_save == []


def test_stale_action_is_refused_and_the_form_reloads(ctx, qtbot, message_boxes):
    c = change("Draft")
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    change_service.update_change(c.id, c.version, {"title": "Renamed elsewhere"})
    form.transition("submitted")
    assert Change.get_by_id(c.id).status == "draft"
    assert message_boxes and "after you opened it" in message_boxes[-1][1]
    assert form.title_edit.text() == "Renamed elsewhere"  # reloaded
    form.transition("submitted")
    assert Change.get_by_id(c.id).status == "submitted"


def test_pir_links_incidents(ctx, qtbot):
    c = change("Done", status="implemented")
    inc = incidents.create_incident({"title": "Broken", "impact": 2, "urgency": 2})
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    assert form.pir_btn.isEnabled()
    form.pir_box.setCurrentIndex(form.pir_box.findData("failed"))
    form.pir_lessons.setPlainText("Test in staging first")
    form.pir_incidents.setText(inc.ref)
    form.save_pir()
    assert Change.get_by_id(c.id).pir_outcome == "failed"
    assert ChangeIncident.select().where(ChangeIncident.change == c.id).count() == 1
    assert form.pir_incidents.text() == inc.ref


@pytest.mark.parametrize("button", ["save", "discard", "cancel"])
def test_change_form_asks_before_closing(ctx, qtbot, monkeypatch, button):
    c = change("Close me")
    host = Host()
    qtbot.addWidget(host)
    form = ChangeForm(ctx, c.id)
    form.setParent(host)
    form.description_edit.setPlainText("Unsaved words")
    asked = answer(monkeypatch, {"save": QMessageBox.StandardButton.Save,
                                 "discard": QMessageBox.StandardButton.Discard,
                                 "cancel": QMessageBox.StandardButton.Cancel}[button])
    result = form.can_close()
    assert asked and "unsaved changes" in asked[0]
    saved = Change.get_by_id(c.id).description
    if button == "save":
        assert result is False and host.closed == [form]  # closed once the save went through
        assert saved == "Unsaved words"
    elif button == "discard":
        assert result is True and saved is None and not host.closed
    else:
        assert result is False and saved is None and form.dirty and not host.closed


def test_change_form_runs_no_sql_on_the_gui_thread(ctx, qtbot, gui_sql, monkeypatch):
    srv, app, _shop = stack()
    c = change("Quiet", cis=[srv], status="draft")
    done = change("Done", status="implemented")
    inc = incidents.create_incident({"title": "Broken", "impact": 2, "urgency": 2})
    gui_sql.clear()
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    form.title_edit.setText("Quiet patch")
    mime = QMimeData()
    mime.setData(CI_MIME, f"{app.id}\n".encode())
    form.ci_list.handle_mime(mime)
    form.ci_name_edit.setText("Shop")
    form.add_ci_by_name()
    form.save()
    form.history.refresh()
    for target in ("submitted", "assessed", "awaiting_cab", "rejected"):
        form.transition_note.setText("no budget" if target == "rejected" else "")
        form.transition(target)
    form.assess()
    form.override_box.setCurrentIndex(form.override_box.findData("high"))
    form.override_reason.setText("Because")
    form.apply_override()
    monkeypatch.setattr(RescheduleDialog, "exec", lambda d: QDialog.DialogCode.Accepted)
    form.transition("draft")
    form.reschedule()
    assert form.data.status == "draft" and form.data.risk_override == "high"
    assert {r.name for r in form.data.cis} == {"app-1", "Shop", "srv-1"}
    form2 = ChangeForm(ctx, done.id)
    qtbot.addWidget(form2)
    form2.pir_box.setCurrentIndex(form2.pir_box.findData("successful"))
    form2.pir_incidents.setText(inc.ref)
    form2.save_pir()
    assert form2.data.incident_refs == (inc.ref,)
    new = ChangeForm(ctx, None)
    qtbot.addWidget(new)
    new.title_edit.setText("Brand new")
    new.save()
    assert new.data.title == "Brand new"
    assert gui_sql.statements == []


def test_change_view_reads_in_few_statements(ctx, count_sql):
    srv, app, _shop = stack()
    planned = change("Planned", cis=[srv, app], status="scheduled")
    finished = change("Finished", cis=[srv], status="closed")
    with count_sql() as seen:
        view = change_service.change_view(planned.id)
    assert len(view.cis) == 2 and len(seen) <= 3, seen  # the change and its lists, conflicts
    with count_sql() as seen:
        change_service.change_view(finished.id)
    assert len(seen) == 1, seen  # a finished change: one round trip


# -- the CAB meeting form ----------------------------------------------------------------------------

def test_cab_meeting_form_votes_decide_actions(ctx, qtbot, monkeypatch):
    members = meeting_with_members()
    c = change("Router firmware", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "Weekly CAB", "starts_at": T0})
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    assert form.loaded and form.title() == f"{meeting.ref} Weekly CAB"
    for r in range(2):
        form.attendee_table.item(r, 1).setCheckState(Qt.CheckState.Checked)
    assert form.dirty and set(form.edits()) == {"attendance"}
    form.save()
    assert CABAttendee.select().where(CABAttendee.meeting == meeting.id).count() == 2
    assert fields_at("cab_meeting", meeting.id, form.version) == ["cab_attendee+", "cab_attendee+"]
    form.build_agenda()
    assert form.vote_table.rowCount() == 1
    for col in (1, 2, 3):
        box = form.vote_table.cellWidget(0, col)
        box.setCurrentIndex(box.findData("approve" if col < 3 else "reject"))
    assert Approval.select().where(Approval.change == c.id).count() == 3
    assert form.vote_table.item(0, 4).text() == f"{word('approved')} (2/1/0)"
    assert form.data.agenda[0].outcome == cab.outcome(c.id, meeting.id)
    form.vote_table.setCurrentCell(0, 0)
    form.conditions_edit.setText("Backup first")
    form.decide_selected()
    assert Change.get_by_id(c.id).status == "approved"
    assert form.vote_table.item(0, 5).text() == f"{word('approved')}: Backup first"
    form.action_text.setText("Tell the service desk")
    form.action_owner.setCurrentIndex(1)
    form.add_action()
    assert form.action_table.rowCount() == 1 and form.action_text.text() == ""
    assert form.action_table.item(0, 1).text() == members[0].name
    form.action_table.setCurrentCell(0, 0)
    form.toggle_action_done()
    assert CABAction.get().done and form.action_table.item(0, 3).text() == "yes"
    # the History tab names the attendees, the change on the agenda and the action's owner
    form.history.refresh()
    texts = " ".join(f"{e.old} {e.new}" for e in form.history.entries)
    assert members[0].name in texts and c.ref in texts
    assert str(members[0].id) not in texts and str(c.id) not in texts


def test_new_cab_meeting(ctx, qtbot):
    members = meeting_with_members(("Ann A", "Bo B"))
    form = CABMeetingForm(ctx, None)
    qtbot.addWidget(form)
    assert form.attendee_table.rowCount() == 2 and form.quorum_spin.value() == 3
    form.emergency_check.setChecked(True)
    assert form.quorum_spin.value() == 2
    form.title_edit.setText("ECAB")
    form.attendee_table.item(1, 1).setCheckState(Qt.CheckState.Checked)
    form.chair_box.setCurrentIndex(form.chair_box.findText("Ann A"))
    form.save()
    meeting = CABMeeting.get_by_id(form.new_id)
    assert (meeting.title, meeting.emergency, meeting.quorum) == ("ECAB", True, 2)
    assert meeting.chair_id == members[0].id
    assert meeting.ends_at - meeting.starts_at == dt.timedelta(hours=1)
    assert [a.person_id for a in CABAttendee.select().where(CABAttendee.meeting == meeting.id)] \
        == [members[1].id]
    assert form.record_id == meeting.id and form.pack_btn.isEnabled()


def test_an_action_on_a_new_meeting_creates_it_first(ctx, qtbot):
    meeting_with_members(("Ann A",))
    c = change("Firmware", status="awaiting_cab")
    form = CABMeetingForm(ctx, None)
    qtbot.addWidget(form)
    form.build_agenda()
    assert form.record_id == form.new_id and CABMeeting.get_by_id(form.new_id).title == "Weekly CAB"
    assert [i.change_id for i in form.data.agenda] == [c.id]


def test_absent_attendee_is_kept_and_meeting_moves_keep_their_length(ctx, qtbot):
    members = meeting_with_members(("Ann A", "Bo B"))
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0,
                                  "ends_at": T0 + dt.timedelta(hours=2)}, attendees=members)
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    form.attendee_table.item(0, 1).setCheckState(Qt.CheckState.Unchecked)
    form.start_edit.setDateTime(to_qdt(T0 + dt.timedelta(days=1)))
    assert set(form.edits()) == {"attendance", "starts_at"}
    form.save()
    row = CABMeeting.get_by_id(meeting.id)
    assert row.ends_at == T0 + dt.timedelta(days=1, hours=2)
    assert cab.meeting_view(meeting.id).attendance == {members[0].id: False, members[1].id: True}


def test_stale_meeting_edit_is_merged(ctx, qtbot, monkeypatch):
    meeting_with_members(("Ann A",))
    meeting = cab.create_meeting({"title": "Weekly CAB", "starts_at": T0})
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    cab.save_meeting(meeting.id, form.version, {"location": "Room 1", "notes": "Their notes"})
    form.notes_edit.setPlainText("My notes")
    form.title_edit.setText("Weekly CAB (week 12)")
    fake = mine_for()  # keep theirs where both changed
    monkeypatch.setattr(MergeDialog, "exec", fake)
    form.save()
    row = CABMeeting.get_by_id(meeting.id)
    assert fake.conflicts == ["notes"]
    assert (row.title, row.location, row.notes) == ("Weekly CAB (week 12)", "Room 1",
                                                    "Their notes")
    assert form.version == row.version and not form.dirty


def test_stale_vote_is_refused(ctx, qtbot, message_boxes):
    members = meeting_with_members(("Ann A", "Bo B"))
    c = change("Firmware", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0}, changes=[c])
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    cab.vote(meeting.id, c.id, members[1].id, "reject")  # someone records Bo's vote meanwhile
    form.set_vote(c.id, members[0].id, "approve")
    assert Approval.select().where(Approval.person == members[0].id).count() == 0
    assert message_boxes and "after you opened it" in message_boxes[-1][1]
    assert form.data.agenda[0].vote_of(members[1].id) == "reject"  # reloaded
    form.set_vote(c.id, members[0].id, "approve")
    assert Approval.select().where(Approval.person == members[0].id).count() == 1


@pytest.mark.parametrize("button", ["save", "discard", "cancel"])
def test_cab_form_asks_before_closing(ctx, qtbot, monkeypatch, button):
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0})
    host = Host()
    qtbot.addWidget(host)
    form = CABMeetingForm(ctx, meeting.id)
    form.setParent(host)
    form.location_edit.setText("Room 7")
    asked = answer(monkeypatch, {"save": QMessageBox.StandardButton.Save,
                                 "discard": QMessageBox.StandardButton.Discard,
                                 "cancel": QMessageBox.StandardButton.Cancel}[button])
    result = form.can_close()
    assert asked
    location = CABMeeting.get_by_id(meeting.id).location
    if button == "save":
        assert result is False and host.closed == [form] and location == "Room 7"
    elif button == "discard":
        assert result is True and location is None and not host.closed
    else:
        assert result is False and location is None and form.dirty and not host.closed


def test_cab_form_runs_no_sql_on_the_gui_thread(ctx, qtbot, gui_sql, monkeypatch, tmp_path):
    from itsmdesk.views.changes import printing

    members = meeting_with_members()
    changes = [change(f"Change {i}", status="awaiting_cab", start_h=i) for i in range(3)]
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0})
    previews = []
    monkeypatch.setattr(printing, "show_preview", lambda parent, pdf: previews.append(pdf))
    gui_sql.clear()
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    form.attendee_table.item(0, 1).setCheckState(Qt.CheckState.Checked)
    form.notes_edit.setPlainText("Quiet")
    form.save()
    form.build_agenda()
    assert form.vote_table.rowCount() == 3
    for col in (1, 2, 3):
        form.vote_table.cellWidget(0, col).setCurrentIndex(1)  # approve
    form.vote_table.setCurrentCell(0, 0)
    form.decide_selected()
    form.action_text.setText("Follow up")
    form.add_action()
    form.action_table.setCurrentCell(0, 0)
    form.toggle_action_done()
    form.history.refresh()
    form.report("cab_minutes", str(tmp_path / "minutes.pdf"))
    assert previews and (tmp_path / "minutes.pdf").stat().st_size > 1000
    assert form.data.actions[0].done and form.data.attendees[0].name == members[0].name
    assert form.data.agenda[0].decision == "approved"
    new = CABMeetingForm(ctx, None)
    qtbot.addWidget(new)
    new.save()
    assert new.data is not None
    assert gui_sql.statements == []
    assert Change.get_by_id(changes[0].id).status == "approved"


def test_meeting_view_batches_the_agenda(ctx, count_sql):
    members = meeting_with_members()
    network = person("Net N")
    cab.add_member(network.id, category="network")
    items = [change(f"Change {i}", status="awaiting_cab", start_h=i,
                    category="network" if i % 2 else None,
                    type="emergency" if i == 7 else "normal") for i in range(8)]
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0, "quorum": 2},
                                 attendees=members, changes=items)
    votes = ["approve", "reject", "abstain"]
    for i, c in enumerate(items):
        for k, m in enumerate(members[: i % 4]):
            cab.vote(meeting.id, c.id, m.id, votes[(i + k) % 3])
        if i % 2:
            cab.vote(meeting.id, c.id, network.id, "approve")
    cab.add_action(meeting.id, "Minutes out", members[0].id)
    with count_sql() as seen:
        view = cab.meeting_view(meeting.id)
    assert len(seen) == 6, seen
    assert len(view.agenda) == 8 and len(view.actions) == 1 and len(view.attendees) == 3
    for item in view.agenda:
        assert item.outcome == cab.outcome(item.change_id, meeting.id)
        assert {v.person_id for v in item.votes} == {a.person_id for a in Approval.select()
                                                     .where(Approval.change == item.change_id)}
    assert network.id in view.agenda[1].eligible and network.id not in view.agenda[0].eligible


def test_someone_elses_vote_reloads_the_agenda(ctx, qtbot):
    members = meeting_with_members(("Ann A",))
    c = change("Firmware", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0}, changes=[c])
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    assert form.vote_table.rowCount() == 1 and form.vote_table.horizontalHeaderItem(1).text() \
        == "Ann A"
    assert form.vote_table.item(0, 0).text() == f"{c.ref}: Firmware"
    ctx.write(cab.vote, meeting.id, c.id, members[0].id, "approve")  # another window's vote
    assert form.data.agenda[0].vote_of(members[0].id) == "approve"
    assert form.vote_table.cellWidget(0, 1).currentData() == "approve"


@pytest.mark.parametrize("language", ["en", "sv"])
def test_forms_fit_beside_the_docks(demo_ctx, qtbot, tmp_path, qapp, settings, language):
    """At 1400x900 with the default docks, in English and Swedish, each form fits (the window
    does not widen) and its pages are drawn (screenshots in tmp_path)."""
    from itsmdesk.i18n import install_translators, remove_translators
    from itsmdesk.models.release import Release
    from itsmdesk.views.main_window import MainWindow

    translators = install_translators(qapp, "sv_SE") if language == "sv" else []
    try:
        w = MainWindow(demo_ctx, settings)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        qtbot.waitExposed(w)
        records_ = (("change", Change.select().where(Change.status == "scheduled").first().id),
                    ("cab_meeting", CABMeeting.select().where(CABMeeting.status == "planned")
                     .first().id),
                    ("release", Release.select().first().id), ("change", None),
                    ("cab_meeting", None), ("release", None))
        for kind, record_id in records_:
            form = w.open_record(kind, record_id)
            assert form.loaded, kind
            for page in range(form.tabs.count()):
                form.tabs.setCurrentIndex(page)
                qtbot.wait(5)
                path = tmp_path / f"{language}-{kind}-{record_id is None}-{page}.png"
                w.grab().save(str(path))
                assert path.stat().st_size > 20000
            assert w.width() <= 1400, (kind, language, form.minimumSizeHint().width())
    finally:
        remove_translators(qapp, translators)


# -- the dock -----------------------------------------------------------------------------------------

def test_changes_panel_lists_and_opens(ctx, qtbot):
    a = change("First")
    change("Second", start_h=3)
    cab.create_meeting({"title": "CAB", "starts_at": T0 + dt.timedelta(days=1)})
    panel = ChangesPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()  # a hidden dock reads nothing until it is shown
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
    panel.show()  # a hidden dock reads nothing until it is shown
    made = []
    new_from_template(panel, ctx, "Renew TLS certificate", on_done=made.append)
    c = made[0]
    assert c.type == "standard" and c.template_id is not None
    assert c.planned_end - c.planned_start == dt.timedelta(minutes=45)
    assert panel.changes.rowCount() == 1


def test_print_preview_paints_every_page(ctx, qtbot, tmp_path, monkeypatch):
    import shutil

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
    panel.show()  # a hidden dock reads nothing until it is shown
    panel.success_by.setCurrentIndex(panel.success_by.findData("type"))
    rows = {panel.success.item(r, 0).text(): panel.success.item(r, 5).text()
            for r in range(panel.success.rowCount())}
    assert rows == {"normal": "50.0 %", "total": "50.0 %"}
    path = panel.export_success(str(tmp_path / "s.csv"))
    with open(path, encoding="utf-8") as fh:
        data = list(csv.DictReader(fh))
    assert [(d["group"], d["finished"], d["successful"]) for d in data] == [
        ("normal", "2", "1"), ("total", "2", "1")]
