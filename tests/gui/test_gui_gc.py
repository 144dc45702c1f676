"""Qt objects are freed on the GUI thread, never on a worker: cyclic garbage is collected by
the GUI thread once workers run, and a delivered operation lets go of its closures there.
(A Qt object destroyed on a worker deadlocked the GUI thread in Qt's signal/slot mutex.)"""

from __future__ import annotations

import gc
import threading

import pytest

pytestmark = pytest.mark.gui


class _Tracked:
    """Says on which thread it was freed; holds a Qt timer like a closed form holds its own."""

    def __init__(self, freed: list[str]) -> None:
        from PySide6.QtCore import QTimer

        self.freed = freed
        self.timer = QTimer()  # Python-owned: freed with this object
        self.timer.start(60_000)
        self.me = self  # a reference cycle: only the cyclic collector frees it

    def __del__(self) -> None:
        self.freed.append(threading.current_thread().name)


def test_cyclic_garbage_is_collected_on_the_gui_thread_while_workers_allocate(qapp, qtbot):
    from itsmdesk.views import gui_gc

    collector = gui_gc.install()
    assert collector is not None and not gc.isenabled()
    freed: list[str] = []
    _Tracked(freed)  # garbage at once, in a cycle

    kept: list[list[int]] = []

    def allocate() -> None:  # far past the youngest generation's threshold
        kept.extend([i] for i in range(50_000))

    worker = threading.Thread(target=allocate, name="busy-worker")
    worker.start()
    worker.join()
    assert freed == []  # the worker's allocations collected nothing
    qtbot.waitUntil(lambda: bool(freed), timeout=5_000)  # the timer's turn, on this thread
    assert freed == ["MainThread"]
    kept.clear()


def test_a_delivered_operation_lets_go_of_its_closures_on_the_gui_thread(qapp, qtbot):
    from itsmdesk.views.ops import Ops

    ops = Ops(readers=1)
    freed: list[str] = []
    try:
        tracked = _Tracked(freed)
        del tracked.me  # no cycle: reference counting frees it where the last holder lets go
        results: list[object] = []
        first = ops.query(lambda held=tracked: held.timer is not None, on_done=results.append)
        del tracked
        qtbot.waitUntil(lambda: first.done, timeout=5_000)
        assert results == [True]
        second = ops.query(lambda: 2, on_done=results.append)  # the reader takes the next one
        qtbot.waitUntil(lambda: second.done, timeout=5_000)
        assert results == [True, 2]
        assert freed == ["MainThread"]
    finally:
        ops.stop()
