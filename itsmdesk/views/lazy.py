"""A hidden panel does no work until it is shown.

``WhenShown(panel, panel.refresh)`` replaces direct calls of ``refresh``: ``request()`` runs it
at once while the panel can be seen, and otherwise only notes that the panel is stale; the
panel's next showing runs it (once, however many changes came in meanwhile).

"Can be seen" needs care for docks stacked as tabs: Qt keeps every dock of a tab group
``isVisible()``, and only the current tab has a visible region; a tab becoming current emits
its dock's ``visibilityChanged`` rather than a Show event.  So a panel inside a dock is seen
when its dock is visible *and* has a visible region, and the dock's ``visibilityChanged(True)``
runs a pending refresh.  The change calendar or a dashboard behind another tab reads nothing at
start-up and nothing after each save until someone looks at it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget


class WhenShown(QObject):
    def __init__(self, widget: QWidget, refresh: Callable[[], None]) -> None:
        super().__init__(widget)
        self.widget = widget
        self.refresh = refresh
        self.pending = False
        self._dock: QDockWidget | None = None
        widget.installEventFilter(self)

    def _find_dock(self) -> QDockWidget | None:
        if self._dock is None:
            parent = self.widget.parentWidget()
            while parent is not None and not isinstance(parent, QDockWidget):
                parent = parent.parentWidget()
            if parent is not None:
                self._dock = parent
                parent.visibilityChanged.connect(self._dock_visibility)
        return self._dock

    def seen(self) -> bool:
        """Whether a person can see the panel now."""
        if not self.widget.isVisible():
            return False
        dock = self._find_dock()
        if dock is None:
            return True
        return not dock.visibleRegion().isEmpty()

    def request(self) -> None:
        """Refresh now if the panel can be seen, else when it is next shown."""
        if self.seen():
            self.pending = False
            self.refresh()
        else:
            self.pending = True

    def request_later(self, timer) -> None:  # noqa: ANN001 - a single-shot QTimer (debounce)
        """After a change: start the panel's debounce timer if it can be seen, else refresh
        once it is shown (a hidden dock's timer never fires into work nobody sees)."""
        if self.seen():
            timer.start()
        else:
            self.pending = True

    def _run_pending(self) -> None:
        if self.pending:
            self.pending = False
            self.refresh()  # only asks for a query: the answer arrives later

    def _dock_visibility(self, visible: bool) -> None:
        if visible:
            self._run_pending()

    def _check(self) -> None:
        if self.pending and self.seen():
            self._run_pending()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # (getattr: Qt may deliver an event while the Python side is being set up or torn down)
        if event.type() == QEvent.Type.Show and obj is getattr(self, "widget", None):
            if self._find_dock() is None:
                self._run_pending()
            else:  # a dock being shown may not have its region yet: look again in a moment
                QTimer.singleShot(0, self._check)
        return False
