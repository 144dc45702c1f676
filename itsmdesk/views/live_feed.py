"""The bridge from the database's change notifications to the panels.

Runs :class:`itsmdesk.services.live.Listener` on a thread of its own (one listening connection
per workstation) and hands each :class:`~itsmdesk.services.live.LiveChanges` to the GUI thread,
where it goes out on the same change feed as this window's own writes
(``AppContext.sig_changes``).  Panels cannot tell the two apart and need not: they refresh what
is named, by kind and id.  A notification of this process's own write (its batch id is in
``ops.own_batches``) was broadcast already when the write was delivered, and is dropped.

The listener's connection state goes to ``AppContext.connection_report`` (the main window's
banner), like the workers'.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from itsmdesk.services import live
from itsmdesk.views import gui_gc

SOURCE = "itsmdesk-listen"


class LiveFeed(QObject):
    _sig_changes = Signal(object)  # from the listener's thread, queued to the GUI thread
    _sig_state = Signal(str, str, int)

    sig_received = Signal(object)
    """(LiveChanges) every change another workstation made, after it went on the feed."""

    def __init__(self, ctx, parent: QObject | None = None) -> None:  # noqa: ANN001 - AppContext
        super().__init__(parent)
        self.ctx = ctx
        self.listener: live.Listener | None = None
        self.dropped_own = 0
        self._sig_changes.connect(self._deliver)
        self._sig_state.connect(ctx.connection_report)

    def start(self) -> None:
        gui_gc.install()  # a thread of its own allocates: cycles are collected on this one
        self.listener = live.Listener(
            live.connect_params, self._sig_changes.emit,  # the app's database at each connect
            on_state=lambda state, attempt: self._sig_state.emit(SOURCE, state, attempt))
        self.listener.start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop(timeout=1.0)

    def _deliver(self, changes: live.LiveChanges) -> None:
        own = self.ctx.ops.own_batches
        if changes.batches and all(b in own for b in changes.batches):
            self.dropped_own += 1
            return
        self.ctx.broadcast(changes)
        self.sig_received.emit(changes)
