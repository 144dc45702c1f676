"""Python's cyclic garbage collector runs on the GUI thread only, once worker threads run.

Python starts a collection on whichever thread happens to allocate when a generation's count
crosses its threshold; with the reader and writer threads building rows (or the demo
database), that is usually a worker.  Any Qt object that is cyclic garbage then (a closed form
or dialog in a reference cycle with its own slots, a timer a lambda refers back to) is destroyed
by C++ on that worker.  Qt objects must be destroyed on their own thread, and shiboken lets go
of the GIL around the C++ destructor, which takes Qt's signal/slot mutexes (a pool shared by all
objects) and, inside them, needs the GIL again for the Python slots and wrappers it drops.  The
GUI thread, holding the GIL, then waits for one of those mutexes forever (seen in the test
suite: the GUI thread in ``QObject::connectImpl``'s mutex, the writer waiting for the GIL in a
frame that had just allocated).

So once the first worker thread starts, automatic collection is switched off and a timer on the
GUI thread collects whenever Python would have: the same per-generation thresholds, checked
every 100 ms (pyqtgraph's ``GarbageCollector`` does the same for the same reason).  Reference
counting is untouched: only cycles wait for the GUI thread.
"""

from __future__ import annotations

import gc

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

INTERVAL_MS = 100

_collector: GuiGarbageCollector | None = None


class GuiGarbageCollector(QObject):
    """Collects cyclic garbage on the GUI thread, generation by generation, as Python would."""

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.collections = [0, 0, 0]  # per generation, run here
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count crossed its threshold (none: 0).
        Returns the number of unreachable objects found."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if thresholds[0] <= 0 or counts[0] <= thresholds[0]:
            return 0
        generation = 0
        for older in (1, 2):
            if counts[older] > thresholds[older]:
                generation = older
        self.collections[generation] += 1
        return gc.collect(generation)


def install() -> GuiGarbageCollector | None:
    """Switch automatic collection off and collect on the GUI thread from now on (once per
    process; call it on the GUI thread before starting a worker thread).  Without a Qt
    application (a script, a CLI) nothing changes and None is returned."""
    global _collector
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        return _collector
    if _collector is None or not shiboken6.isValid(_collector):  # (none yet, or its app gone)
        _collector = GuiGarbageCollector(parent=app)
    gc.disable()
    return _collector


def installed() -> GuiGarbageCollector | None:
    return _collector


def collect_due() -> int:
    """What the timer does, for callers that do not run an event loop (the test suite between
    tests)."""
    return _collector.collect_due() if _collector is not None else 0
