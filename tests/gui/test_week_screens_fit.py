"""This week's screens looked at 1400x900 (tools/screens_week.py renders them): what was cut
stays whole.  The conflicts list keeps who-and-when, the field and the reason readable and says a
refused action in words; the sync dialog grows to its wrapped result; the mail settings dialog is
wide enough for its longest hint; a ticket's Mail tab gives the subject the free width; the unmatched mail
dock says what shows there when nothing does."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from itsmdesk.services.mail import intake
from itsmdesk.services.sync import decide


def _conflict(ref: str, field: str, reason: str, hub: str, replica: str) -> decide.Conflict:
    return decide.Conflict(journal_id=1, kind="incident", record_id=uuid.uuid4(), ref=ref,
                           field=field, reason=reason, hub=hub, replica=replica, child_id=None,
                           site="OSL", batch="b", who_name="Ann Agent",
                           at="2026-12-05T04:07:00", noted_at=None)


def _elided(view, column: int) -> bool:  # noqa: ANN001
    return view.horizontalHeader().sectionSize(column) < view.sizeHintForColumn(column)


def test_conflicts_columns_not_elided_at_1400_and_reason_in_words(ctx, qtbot):
    from itsmdesk.views.conflicts.panel import ConflictsPanel

    panel = ConflictsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1400, 300)
    panel.show()
    qtbot.waitExposed(panel)
    long = "Oslo: the printer on floor 2 jams on every duplex job since the toner was changed"
    panel.show_page(decide.Page([
        _conflict("INC-000018", "description", "changed on both sides", "Hub side only", long),
        _conflict("INC-000302", "title", "not permitted: ticket.work", "VPN drops", long)], None))
    table = panel.table
    reason = table.item(1, 6).text()
    assert reason == "the author may not work on tickets"  # not "not permitted: ticket.work"
    assert table.item(1, 6).toolTip() == reason
    qtbot.waitUntil(lambda: not any(_elided(table, c) for c in (0, 1, 4, 5, 6)))
    assert table.item(0, 3).toolTip() == long  # the cut value is whole in its tooltip


def test_sync_dialog_grows_to_its_wrapped_result(ctx, qtbot):
    from itsmdesk.views.conflicts.sync_dialog import SyncDialog

    dialog = SyncDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.hub_label.setText("Replica OSL: syncing with sqlite:////tmp/hub.db")
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(520, 1)  # as small as it goes (the app showed it so, with one line to come)
    dialog._finish(dialog.DONE, "Synced: sent 12 change(s), received 340 journal row(s); 3 new "
                                "conflict(s) to decide in the Sync conflicts dock, and a few "
                                "more words so that it takes three lines at this width.")
    label = dialog.result_label

    def whole() -> bool:
        return label.height() >= label.heightForWidth(label.width())

    qtbot.waitUntil(whole)
    assert label.heightForWidth(label.width()) > label.fontMetrics().lineSpacing() * 2


def test_mail_settings_wide_enough_for_the_keyring_hint(ctx, qtbot):
    from itsmdesk.views.mail.settings_dialog import MailSettingsDialog

    dialog = MailSettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.view is not None)
    narrow = dialog.width()
    dialog.fill(replace(dialog.view, keyring=False, imap_password_known=False))
    hint = dialog.password.placeholderText()
    assert "ITSMDESK_MAIL_PASSWORD" in hint and dialog.password.toolTip() == hint
    # the Swedish hint, cut at the dialog's first 560 px: the dialog widens to it
    dialog.password.setPlaceholderText("den här datorn har ingen nyckelring: sätt "
                                       "ITSMDESK_MAIL_PASSWORD")
    dialog.widen_to_placeholders()
    metrics = dialog.password.fontMetrics()
    qtbot.waitUntil(lambda: dialog.password.width()
                    >= metrics.horizontalAdvance(dialog.password.placeholderText()))
    assert dialog.width() > narrow


def test_mail_tab_subject_takes_the_free_width(ctx, qtbot):
    from itsmdesk.views.mail.thread_view import MailThreadView

    view = MailThreadView(ctx)
    qtbot.addWidget(view)
    view.resize(560, 300)
    view.show()
    qtbot.waitExposed(view)
    subject = "Re: [INC-000001] Printer on floor 3 is broken"
    when = dt.datetime(2026, 11, 3, 8, 0)
    view.show_lines([intake.MailLine(uuid.uuid4(), 1, "ticket", "in", when, when,
                                     "alice@example.com", "Alice Andersson", subject, "Works",
                                     None)])
    tree = view.list

    def fits() -> bool:
        header = tree.header()
        return all(header.sectionSize(c) >= tree.sizeHintForColumn(c) for c in range(3))

    qtbot.waitUntil(fits)  # a 560 px tab: who, when and the whole subject


def test_unmatched_mail_empty_state_says_what_shows_there(ctx, qtbot):
    from itsmdesk.views.mail.panel import UnmatchedMailPanel

    panel = UnmatchedMailPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(420, 600)
    panel.show()
    qtbot.waitUntil(lambda: panel.preview.toPlainText() != "")
    text = panel.preview.toPlainText()
    assert panel.list.count() == 0
    assert text.startswith("No mail is waiting. Mail that no rule turns into a ticket shows here")
    assert "Fetch" in text and not panel.buttons["discard"].isEnabled()


def _luminance(color) -> float:  # noqa: ANN001 - a QColor (WCAG relative luminance)
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in color.getRgb()[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_problem_candidates_limits_readable_and_dates_whole(ctx, qtbot):
    import datetime as dt

    from itsmdesk.services.problem.recurring import Candidate, CandidateReport
    from itsmdesk.views.problems.panel import ProblemsPanel

    panel = ProblemsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(430, 700)  # the left dock's width at 1400 px
    panel.show()
    panel.tabs.setCurrentIndex(2)
    label = panel.candidate_limits
    fg, bg = label.palette().color(label.foregroundRole()), label.palette().color(
        label.backgroundRole())
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5  # WCAG AA for body text
    assert "palette(mid)" not in label.styleSheet()
    now = dt.datetime(2026, 12, 1, 2, 55)
    found = Candidate("service", 1, "Handheld Scanner Gateway", [1, 2, 3], ["INC-1", "INC-2",
                      "INC-3"], ["Warehouse Management: scanners lose their session every "
                                 "morning"], ["scanner"], now, now)
    panel._show_candidates(CandidateReport([found], now, now, 100, 400, 1, 0, 0))
    table = panel.candidate_table
    qtbot.waitUntil(lambda: not _elided(table, 2) and not _elided(table, 3))


def test_back_up_dialog_names_what_it_writes(ctx, qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMainWindow

    from itsmdesk.views.dialogs.backup_actions import BackupActions

    window = QMainWindow()
    qtbot.addWidget(window)
    menu = window.menuBar().addMenu("File")
    actions = BackupActions(window, ctx, menu, menu.addAction("Quit"))
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: asked.append(a) or ("", "")))
    actions.back_up()  # (cancelled: nothing written)
    [(_parent, title, default, kinds)] = asked
    assert title == "Back up the database" and default.endswith(".db")
    assert kinds.split(";;")[0] == "itsmdesk backups (*.db *.bak *.sqlite)"


def test_restore_question_puts_each_path_on_its_own_line(ctx, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

    from itsmdesk.views.dialogs.backup_actions import BackupActions

    window = QMainWindow()
    qtbot.addWidget(window)
    menu = window.menuBar().addMenu("File")
    actions = BackupActions(window, ctx, menu, menu.addAction("Quit"))
    backup = str(tmp_path / "itsmdesk-20261205-0408.db")
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (backup, "")))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda _parent, _title, text, *a: asked.append(text) or QMessageBox.StandardButton.Cancel))
    actions.restore()  # (cancelled: nothing restored)
    lines = asked[0].split("\n")
    assert lines[:4] == ["Replace the database", ctx.info.display, "with the backup", backup + "?"]
