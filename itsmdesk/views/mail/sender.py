"""The app's mail sender: every minute (and soon after start) an operation delivers the due
outbox rows (``outgoing.send_queued``).

It runs as a write on the worker's writer thread: the sends are short and each row is marked
through the write funnel; the SMTP session has a 20-second timeout, so a dead server delays
other writes by at most that once a minute.  The marks it makes are broadcast like any write,
so a ticket's History tab shows "notification ... sent" when it is open.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from itsmdesk.services.mail import outgoing


class MailSender(QObject):
    """Start it once with the main window as parent: ``MailSender(ctx, window)``."""

    INTERVAL_MS = 60_000

    def __init__(self, ctx, parent: QObject | None = None,  # noqa: ANN001
                 interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.busy = False
        self.last: outgoing.SendResult | None = None
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.run)
        self.timer.start()
        QTimer.singleShot(3000, self, self.run)

    def run(self) -> None:
        if self.busy:  # (the previous run has not answered yet)
            return
        from itsmdesk.services.permissions import allowed

        if not allowed(self.ctx.actor, "ticket.work"):
            return  # (a requester's desk does not deliver the desk's mail)
        self.busy = True
        now = self.ctx.clock() if getattr(self.ctx, "clock", None) else None

        def done(result: outgoing.SendResult) -> None:
            self.busy = False
            self.last = result
            if result.sent or result.failed:
                self.ctx.sig_status.emit(self.tr("Mail: {sent} sent, {failed} failed").format(
                    sent=len(result.sent), failed=len(result.failed)))
            elif result.error:
                self.ctx.sig_status.emit(self.tr("Mail not sent: {error}").format(
                    error=result.error))

        def failed(_exc: BaseException) -> None:
            self.busy = False

        self.ctx.write(outgoing.send_queued, now, on_done=done, on_error=failed, owner=self)
