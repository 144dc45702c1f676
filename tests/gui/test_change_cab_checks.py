"""The change and CAB screens as a change manager checks them: the stored risk factors, an
approved change's risk changed only with a reason (and what happened said), a decision against
the votes with its reason, overdue actions highlighted, and the Changes and CAB lists fitting
their dock at 1400x900 and 1920x1080."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from itsmdesk.models.change import CABAgendaItem, Change
from itsmdesk.services.change import cab
from itsmdesk.services.change import changes as change_service
from itsmdesk.views.changes import change_form
from itsmdesk.views.changes.cab_meeting_form import WARN_COLOUR, CABMeetingForm
from itsmdesk.views.changes.change_form import ChangeForm
from itsmdesk.words import word
from tests.change_helpers import T0, change, person, stack

pytestmark = pytest.mark.gui


def _members(n: int = 3):
    people = [person(f"Member {i}") for i in range(n)]
    for p in people:
        cab.add_member(p.id)
    return people


def _approved(title: str):
    c = change(title)
    for target in ("submitted", "assessed", "awaiting_cab"):
        c = change_service.transition(c.id, None, target)
    for m in _members():
        change_service.cast_vote(c.id, m.id, "approve")
    return change_service.transition(c.id, None, "approved", role="cab")


def _reason_dialog(monkeypatch, reason: str | None):
    """The reason dialog answers ``reason`` (None: cancelled); returns what it was told."""
    seen = []

    def exec_(dialog):
        seen.append(dialog)
        if reason is None:
            return QDialog.DialogCode.Rejected
        dialog.reason_edit.setText(reason)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(change_form.RiskReasonDialog, "exec", exec_)
    return seen


def test_risk_tab_shows_the_stored_factors_or_says_there_are_none(ctx, qtbot):
    assessed = _approved("Assessed on its way to the CAB")
    form = ChangeForm(ctx, assessed.id)
    qtbot.addWidget(form)
    form.show()
    form.tabs.setCurrentIndex(3)
    assert form.factor_table.isVisible() and not form.factor_note.isVisible()
    stored = Change.get_by_id(assessed.id).risk_factors
    assert form.factor_table.rowCount() == len(stored) == 5
    assert [form.factor_table.item(r, 3).text() for r in range(5)] == [f["why"] for f in stored]
    typed = change("Imported", risk_level="high", risk_score=50)
    other = ChangeForm(ctx, typed.id)
    qtbot.addWidget(other)
    other.show()
    other.tabs.setCurrentIndex(3)
    assert not other.factor_table.isVisible() and other.factor_note.isVisible()
    assert "No factors were stored" in other.factor_note.text()
    assert other.risk_label.text().startswith(f"Risk: {word('high')} (score 50)")


def test_reassessing_an_approved_change_asks_why_and_says_what_happened(ctx, qtbot,
                                                                        monkeypatch):
    srv, _app, _shop = stack()
    c = _approved("Router firmware")
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    assert form.assess_btn.text() == "Re-assess risk…"
    asked = _reason_dialog(monkeypatch, None)
    form.assess()
    assert len(asked) == 1 and c.ref in asked[0].findChild(type(form.risk_label)).text()
    assert Change.get_by_id(c.id).version == c.version  # cancelled: nothing written
    # the CMDB now puts a critical service behind it: a new level, back to the CAB
    change_service.update_change(c.id, None, {"outage": True})
    change_service.set_affected_cis(c.id, [srv])
    form.reload()
    _reason_dialog(monkeypatch, "Shop depends on the router now")
    form.assess()
    stored = Change.get_by_id(c.id)
    assert stored.status == "awaiting_cab" and stored.risk_level != "low"
    assert form.message.text() == (
        f"Risk changed from {word('low')} to {word(stored.risk_level)}: {c.ref} went back to "
        f"{word('awaiting_cab')} for approval.")
    assert form.status_label.text() == f"Status: {word('awaiting_cab')}"
    # an unapproved change is assessed without a question
    asked = _reason_dialog(monkeypatch, "never asked")
    form.assess()
    assert asked == [] and form.message.text().startswith("Risk assessed:")


def test_the_risk_of_a_started_change_is_not_reassessed(ctx, qtbot):
    c = change("Running", status="implementing", risk_level="low", risk_score=5)
    form = ChangeForm(ctx, c.id)
    qtbot.addWidget(form)
    assert not form.assess_btn.isEnabled() and not form.override_btn.isEnabled()


def test_cab_form_decides_against_the_votes_with_a_reason(ctx, qtbot, message_boxes):
    members = _members()
    c = change("Core switch", status="awaiting_cab")
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0}, attendees=members,
                                 changes=[c])
    for m, vote in zip(members, ("approve", "approve", "reject"), strict=True):
        cab.vote(meeting.id, c.id, m.id, vote)
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    form.vote_table.setCurrentCell(0, 0)
    form.decision_box.setCurrentIndex(form.decision_box.findData("rejected"))
    form.decide_selected()  # no reason: refused before anything is written
    assert CABAgendaItem.get().decision is None and message_boxes == []
    assert "give the reason" in form.message.text()
    form.decision_reason_edit.setText("Audit week freeze")
    form.decide_selected()
    assert CABAgendaItem.get().decision_reason == "Audit week freeze"
    assert Change.get_by_id(c.id).status == "rejected"
    cell = form.vote_table.item(0, len(form.members) + 2)
    assert cell.text() == (f"{word('rejected')} · against the votes ({word('approved')}): "
                           "Audit week freeze")
    assert cell.foreground().color().name() == WARN_COLOUR


def test_overdue_actions_are_highlighted(ctx, qtbot):
    owner = _members(1)[0]
    meeting = cab.create_meeting({"title": "CAB", "starts_at": T0})
    today = dt.date.today()
    late = cab.add_action(meeting.id, "Late and open", owner.id, today - dt.timedelta(days=2))
    done = cab.add_action(meeting.id, "Late but done", owner.id, today - dt.timedelta(days=3))
    cab.set_action_done(done.id)
    cab.add_action(meeting.id, "Next week", owner.id, today + dt.timedelta(days=7))
    form = CABMeetingForm(ctx, meeting.id)
    qtbot.addWidget(form)
    table = form.action_table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    due, state = table.item(rows["Late and open"], 2), table.item(rows["Late and open"], 3)
    assert due.text() == late.due.isoformat() and due.font().bold()
    assert state.text() == "overdue" and state.font().bold()
    assert all(table.item(rows["Late and open"], c).foreground().color().name() == WARN_COLOUR
               for c in range(table.columnCount()))
    assert table.item(rows["Late but done"], 3).text() == "yes"
    assert table.item(rows["Next week"], 3).text() == "no"
    for text in ("Late but done", "Next week"):
        assert table.item(rows[text], 2).foreground().color().name() != WARN_COLOUR


@pytest.mark.parametrize("size", [(1400, 900), (1920, 1080)])
@pytest.mark.parametrize("language", ["en", "sv"])
def test_changes_and_cab_lists_fit_their_dock(demo_ctx, qtbot, qapp, settings, size, language,
                                              tmp_path):
    """The title takes the room the other columns leave; they show their contents whole; a
    title is one line (elided, whole in its tooltip), never wrapped into two."""
    from itsmdesk.i18n import install_translators, remove_translators
    from itsmdesk.views.changes.panel import MEETING_TITLE_COLUMN, TITLE_COLUMN, ChangesPanel
    from itsmdesk.views.main_window import MainWindow

    translators = install_translators(qapp, "sv_SE") if language == "sv" else []
    try:
        w = MainWindow(demo_ctx, settings)
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        dock = w.docks["changesDock"]
        dock.show()
        dock.raise_()
        panel = w.panel("changesDock")
        assert isinstance(panel, ChangesPanel)
        qtbot.waitUntil(lambda: panel.changes.rowCount() > 0 and panel.meetings.rowCount() > 0)
        for tab, table, title_col in ((0, panel.changes, TITLE_COLUMN),
                                      (1, panel.meetings, MEETING_TITLE_COLUMN)):
            panel.tabs.setCurrentIndex(tab)
            qtbot.wait(20)
            w.grab().save(str(tmp_path / f"{language}-{size[0]}-{tab}.png"))
            header = table.horizontalHeader()
            view = table.viewport().width()
            assert header.length() <= view, (header.length(), view)  # no sideways scrolling
            others = sum(header.sectionSize(c) for c in range(table.columnCount())
                         if c != title_col)
            assert header.sectionSize(title_col) == view - others  # the free space
            assert header.sectionSize(title_col) >= 0.3 * view
            fm = table.fontMetrics()
            for c in range(table.columnCount()):
                if c == title_col:
                    continue
                widest = max(fm.horizontalAdvance(table.item(r, c).text())
                             for r in range(table.rowCount()))
                assert header.sectionSize(c) >= widest + 6, (c, header.sectionSize(c), widest)
            assert not table.wordWrap()
            assert table.textElideMode() == Qt.TextElideMode.ElideRight
            line = fm.height()
            assert all(table.rowHeight(r) < 2 * line for r in range(table.rowCount()))
            for r in range(table.rowCount()):
                item = table.item(r, title_col)
                assert item.toolTip() == item.text()  # an elided title is whole in its tooltip
    finally:
        remove_translators(qapp, translators)
