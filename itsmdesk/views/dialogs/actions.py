"""Service desk menu actions: sign in as (person picker), notifications, SLA and priority
settings, holiday import from .ics, run escalation now."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from itsmdesk.views.messages import show_error


def sign_in_as(ctx, window) -> None:  # noqa: ANN001
    """Pick the person working at this desk (until real accounts exist); the list of people is
    read off the GUI thread."""
    from itsmdesk.services import search

    ctx.query(search.find_people, "", 500, on_done=lambda people: _pick_person(ctx, window, people),
              owner=window)


def _pick_person(ctx, window, people: list) -> None:  # noqa: ANN001
    from itsmdesk.services.context import ALL_ROLES, Actor

    names = [name for _id, name in people]
    if not names:
        return
    current = names.index(ctx.actor.name) if ctx.actor.name in names else 0
    name, ok = QInputDialog.getItem(window, QCoreApplication.translate("ServiceDeskActions", "Sign in as"), QCoreApplication.translate("ServiceDeskActions", "Person"), names, current, True)
    if ok and name in names:
        person_id = people[names.index(name)][0]
        ctx.set_actor(Actor(person_id, name, ctx.site, ALL_ROLES))  # no accounts: every role


def show_notifications(ctx, window) -> None:  # noqa: ANN001
    from itsmdesk.services.servicedesk import escalation

    if ctx.actor.person_id is None:
        QMessageBox.information(window, QCoreApplication.translate("ServiceDeskActions", "Notifications"), QCoreApplication.translate("ServiceDeskActions", "Sign in first (Ctrl+Shift+P)."))
        return
    ctx.query(escalation.notifications_for, ctx.actor.person_id,
              on_done=lambda notes: _show_notes(ctx, window, notes), owner=window)


def _show_notes(ctx, window, notes: list) -> None:  # noqa: ANN001
    from itsmdesk.services.servicedesk import escalation

    if not notes:
        QMessageBox.information(window, QCoreApplication.translate("ServiceDeskActions", "Notifications"), QCoreApplication.translate("ServiceDeskActions", "No unread notifications."))
        return
    text = "\n".join(f"{n.created_at:%Y-%m-%d %H:%M}  {n.text}" for n in notes)
    QMessageBox.information(window, QCoreApplication.translate("ServiceDeskActions", "Notifications"), text)
    ctx.write(escalation.mark_read, [n.id for n in notes], ctx.actor, owner=window,
              on_done=lambda n: ctx.sig_status.emit(
                  QCoreApplication.translate("ServiceDeskActions", "{n} notifications read").format(n=n)))


def import_holidays(ctx, window) -> None:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars

    ctx.query(calendars.list_calendars, on_done=lambda cals: _import_holidays(ctx, window, cals),
              owner=window)


def _import_holidays(ctx, window, cals: list) -> None:  # noqa: ANN001
    from itsmdesk.services.servicedesk import calendars

    if not cals:
        QMessageBox.information(window, QCoreApplication.translate("ServiceDeskActions", "Import holidays"),
                                QCoreApplication.translate("ServiceDeskActions", "Create a business calendar first (itsmdesk business-calendar create)."))
        return
    names = [c.name for c in cals]
    name, ok = QInputDialog.getItem(window, QCoreApplication.translate("ServiceDeskActions", "Import holidays"), QCoreApplication.translate("ServiceDeskActions", "Calendar"), names, 0, False)
    if not ok:
        return
    path, _ = QFileDialog.getOpenFileName(window, QCoreApplication.translate("ServiceDeskActions", "Holidays (.ics)"), "",
                                          QCoreApplication.translate("ServiceDeskActions", "iCalendar files (*.ics)"))
    if not path:
        return

    def done(result: tuple[int, int]) -> None:
        added, skipped = result
        QMessageBox.information(window, QCoreApplication.translate("ServiceDeskActions", "Import holidays"),
                                QCoreApplication.translate("ServiceDeskActions", "{added} holidays added, {skipped} already there.").format(
                                    added=added, skipped=skipped))

    ctx.write(calendars.import_holidays, cals[names.index(name)].id, path, ctx.actor,
              on_done=done, on_error=lambda exc: show_error(window, exc), owner=window)


def run_escalation(ctx, window=None) -> None:  # noqa: ANN001
    from itsmdesk.services.servicedesk import escalation

    now = ctx.clock() if ctx.clock else None

    def done(result) -> None:  # noqa: ANN001
        ctx.sig_status.emit(QCoreApplication.translate("ServiceDeskActions", "Escalation check: {f} newly at risk, {b} newly breached").format(
            f=len(result.flagged), b=len(result.breached)))

    # a write: the tickets it flags are broadcast by id, so queues refresh those rows in place
    ctx.write(escalation.tick, now, on_done=done, owner=window)


def open_diagnostic_editor(ctx, window) -> None:  # noqa: ANN001
    from itsmdesk.views.dialogs.diagnostic_editor import DiagnosticEditorDialog

    DiagnosticEditorDialog(ctx, window).exec()


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    from itsmdesk.views.dialogs.settings_dialogs import MatrixDialog, SlaDialog

    def act(text: str, shortcut: str, slot) -> QAction:  # noqa: ANN001
        a = QAction(text, window)
        a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        return a

    return [
        ("File", act(QCoreApplication.translate("ServiceDeskActions", "Sign in &as…"), "Ctrl+Shift+P", lambda: sign_in_as(ctx, window))),
        ("Tools", act(QCoreApplication.translate("ServiceDeskActions", "&Notifications…"), "Ctrl+Shift+M", lambda: show_notifications(ctx, window))),
        ("Tools", act(QCoreApplication.translate("ServiceDeskActions", "Run SLA &escalation now"), "F9", lambda: run_escalation(ctx, window))),
        ("Tools", act(QCoreApplication.translate("ServiceDeskActions", "&SLA targets…"), "Ctrl+Alt+L", lambda: SlaDialog(ctx, window).exec())),
        ("Tools", act(QCoreApplication.translate("ServiceDeskActions", "Priority &matrix…"), "Ctrl+Alt+X", lambda: MatrixDialog(ctx, window).exec())),
        ("Tools", act(QCoreApplication.translate("ServiceDeskActions", "Import &holidays (.ics)…"), "Ctrl+Alt+H", lambda: import_holidays(ctx, window))),
        ("Tools", act(QCoreApplication.translate("ServiceDeskActions", "&Diagnostic scripts…"), "Ctrl+Alt+D", lambda: open_diagnostic_editor(ctx, window))),
    ]
