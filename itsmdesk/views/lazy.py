"""A hidden panel does no work until it is shown.

``WhenShown(panel, panel.refresh)`` replaces direct calls of ``refresh``: ``request()`` runs it
at once while the panel is visible, and otherwise only notes that the panel is stale; the panel's
next Show event runs it (once, however many changes came in meanwhile).  Docks stacked as tabs
hide all but the current one, so the change calendar or a dashboard behind another tab reads
nothing at start-up and nothing after each save until someone looks at it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


class WhenShown(QObject):
    def __init__(self, widget: QWidget, refresh: Callable[[], None]) -> None:
        super().__init__(widget)
        self.widget = widget
        self.refresh = refresh
        self.pending = False
        widget.installEventFilter(self)

    def request(self) -> None:
        """Refresh now if the panel can be seen, else when it is next shown."""
        if self.widget.isVisible():
            self.pending = False
            self.refresh()
        else:
            self.pending = True

    def request_later(self, timer) -> None:  # noqa: ANN001 - a single-shot QTimer (debounce)
        """After a change: start the panel's debounce timer if it can be seen, else refresh
        once it is shown (a hidden dock's timer never fires into work nobody sees)."""
        if self.widget.isVisible():
            timer.start()
        else:
            self.pending = True

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self.widget and event.type() == QEvent.Type.Show and self.pending:
            self.pending = False
            self.refresh()  # only asks for a query: the answer arrives later
        return False
