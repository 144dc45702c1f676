"""One database worker: slow reads run off the GUI thread, results come back by signal.

``DbWorker.submit(fn, *args, on_done=..., on_error=..., key=...)`` runs ``fn`` on the worker
thread.  A newer request with the same ``key`` supersedes an older one that has not started or
whose result has not been delivered (a new sort or filter cancels the old one).  Tests set
``synchronous=True`` so work runs inline and is deterministic.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal


class DbWorker(QObject):
    _sig_result = Signal(int, object, object)  # ticket, result, error

    def __init__(self, synchronous: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self._tickets = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None, str | None]] = {}
        self._latest: dict[str, int] = {}
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._sig_result.connect(self._deliver)

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None, key: str | None = None) -> int:
        ticket = next(self._tickets)
        self._callbacks[ticket] = (on_done, on_error, key)
        if key is not None:
            self._latest[key] = ticket
        if self.synchronous:
            try:
                result, error = fn(*args), None
            except Exception as exc:  # noqa: BLE001 - delivered to on_error
                result, error = None, exc
            self._deliver(ticket, result, error)
            return ticket
        self._ensure_thread()
        self._queue.put((ticket, fn, args, key))
        return ticket

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="itsmdesk-db", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            ticket, fn, args, key = item
            if key is not None and self._latest.get(key) != ticket:
                continue  # superseded before it started
            try:
                result, error = fn(*args), None
            except Exception as exc:  # noqa: BLE001
                result, error = None, exc
            self._sig_result.emit(ticket, result, error)

    def _deliver(self, ticket: int, result: Any, error: Any) -> None:
        on_done, on_error, key = self._callbacks.pop(ticket, (None, None, None))
        if key is not None and self._latest.get(key) != ticket:
            return  # superseded: a newer request will deliver
        if error is not None:
            if on_error:
                on_error(error)
            else:
                from itsmdesk.views.messages import show_error

                show_error(None, error)
        elif on_done:
            on_done(result)

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=2)
