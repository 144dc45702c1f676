"""Operations: every database call of the GUI runs off the GUI thread (after Anki's
``CollectionOp``/``QueryOp``).

``ops.query(fn, *args, on_done=..., key=...)`` runs a read on one of the reader threads.  A newer
query with the same ``key`` supersedes an older one: if it has not started it never runs, and a
result that arrives for it is dropped (a new sort or filter cancels the old one).

``ops.write(fn, *args, on_done=...)`` runs a service call on the one writer thread inside
``records.capture()``; once it has committed, ``on_done(result)`` runs on the GUI thread and then
the call's ``Changes`` is broadcast once to every panel (``AppContext.sig_changes``).  Writes run
one at a time in the order they were asked for; reads never queue behind them (SQLite in WAL
mode and PostgreSQL both let readers go on while a write is in progress; each thread has its own
connection).

Errors go to one place: ``on_error`` when given (``on_conflict`` for a stale edit), else the
context's handler, which shows a domain error's sentence and reports a lost connection in the
status bar instead of a dialog per action.

A callback whose ``owner`` widget has been deleted is not called.  ``Ticket.cancel()`` gives up
waiting: the callbacks are not called; a write that still commits afterwards is broadcast like
any other (its record's next edit then sees the new version), so nothing is silently lost.

A lost PostgreSQL connection (server restarted, backend terminated, network cut) is not an
error a person sees per action: the worker whose statement failed reports it
(``sig_connection``), backs off (0.5, 1, 2, 4, 8, 10 s ...), reconnects its own connection and
runs the operation again.  A read simply runs again.  A write's journal batch id is chosen
before it runs (``Ticket.batch``), so after a connection that died during COMMIT the worker asks
the database whether that batch landed, and only runs the write again if it did not: a save is
never applied twice.  A ticket cancelled meanwhile is not run again (a write then stays
unapplied unless it had committed already, in which case its Changes are still broadcast).

Tests set ``synchronous=True``: work runs inline and is deterministic; the same callbacks and
broadcasts happen in the same order.
"""

from __future__ import annotations

import collections
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from itsmdesk.errors import ConflictError
from itsmdesk.services import records
from itsmdesk.services.session import (
    as_domain_error,
    backoff_delay,
    is_connection_lost,
    reconnect_thread,
    run_retrying,
)
from itsmdesk.views import gui_gc

READ, WRITE = "read", "write"
_here = threading.local()


def in_operation() -> bool:
    """Whether this thread is running an operation's function (tests check that the GUI thread
    touches the database only inside operations)."""
    return getattr(_here, "op", False)


@dataclass(eq=False)
class Ticket:
    """One operation: what to run and whom to tell."""

    id: int
    kind: str  # READ | WRITE
    fn: Callable[..., Any]
    args: tuple
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    on_conflict: Callable[[ConflictError], None] | None = None
    key: str | None = None
    owner: QObject | None = None
    label: str = ""
    submitted: float = field(default_factory=time.perf_counter)
    started: float | None = None
    cancelled: bool = False
    done: bool = False
    changes: Any = None  # a write's records.Changes once it committed
    batch: uuid.UUID | None = None  # a write's journal batch id, chosen before it runs
    retries: int = 0  # times it ran again after a lost connection

    def cancel(self) -> None:
        """Stop waiting for this operation (its callbacks will not run)."""
        self.cancelled = True

    def release(self) -> None:
        """Drop what it was to run and whom to tell, once delivered (on the GUI thread).

        Those closures and bound methods hold widgets; the worker that ran the ticket still
        refers to it until it takes the next one, and must not be the one that frees them
        (a Qt object destroyed off its thread: see :mod:`itsmdesk.views.gui_gc`)."""
        self.fn = _released
        self.args = ()
        self.on_done = self.on_error = self.on_conflict = None
        self.owner = None


def _released(*_args: Any) -> None:
    raise RuntimeError("this operation was delivered already")


def _owner_alive(owner: QObject | None) -> bool:
    if owner is None:
        return True
    try:
        import shiboken6

        return shiboken6.isValid(owner)
    except Exception:  # noqa: BLE001 - without shiboken assume alive
        return True


class Ops(QObject):
    """The reader threads, the writer thread and the delivery of their results."""

    _sig_result = Signal(object, object, object, object)  # ticket, result, error, changes

    sig_pending = Signal(int)
    """(number of operations asked for and not yet delivered) whenever it changes."""

    sig_write_started = Signal(object)
    """(Ticket) a write began on the writer thread (delivered to the GUI thread)."""

    sig_write_finished = Signal(object)
    """(Ticket) a write's result (or error) was delivered, or it was given up."""

    sig_connection = Signal(str, str, int)
    """(source, state, attempt) from a worker thread: ``"lost"`` (reconnect attempt n comes
    next, after back-off) or ``"reconnected"`` (attempt 0).  Source: the thread's name."""

    def __init__(self, synchronous: bool = False, readers: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self.readers = max(1, readers)
        self.broadcast: Callable[[records.Changes], None] | None = None
        self.default_error: Callable[[BaseException, QObject | None], None] | None = None
        self._ids = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._open: dict[int, Ticket] = {}
        self._reads: queue.Queue = queue.Queue()
        self._writes: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = False
        self.ready = threading.Event()  # the database is open (cleared by open_first)
        self.ready.set()
        self.delivering: Ticket | None = None  # the ticket whose callbacks are running
        self._stop_event = threading.Event()
        self.on_stop: list[Callable[[], None]] = []  # (the live feed stops with the workers)
        self._own = collections.deque(maxlen=5000)
        self.own_batches: set[uuid.UUID] = set()  # batch ids of this process's recent writes
        self._sig_result.connect(self._deliver)

    # -- asking for work ---------------------------------------------------------------------------
    def query(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None, key: str | None = None,
              owner: QObject | None = None) -> Ticket:
        """Run a read off the GUI thread; ``on_done(result)`` on the GUI thread."""
        return self._submit(READ, fn, args, on_done, on_error, None, key, owner, "")

    def write(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None,
              on_conflict: Callable[[ConflictError], None] | None = None,
              owner: QObject | None = None, label: str = "") -> Ticket:
        """Run a service call that writes; its Changes are broadcast after ``on_done``."""
        return self._submit(WRITE, fn, args, on_done, on_error, on_conflict, None, owner, label)

    @staticmethod
    def favour_the_gui_thread() -> None:
        """Python lets a thread keep the GIL for 5 ms before another may take it; with two
        readers building rows, the GUI thread would wait several such slices to paint a frame.
        A 1 ms slice keeps its waits below a frame at a small cost in throughput."""
        import sys

        if sys.getswitchinterval() > 0.001:
            sys.setswitchinterval(0.001)

    def warm(self) -> None:
        """Open every thread's database connection now, all at once, instead of on each
        thread's first query (a PostgreSQL connection costs several round trips: paid once,
        in parallel, while the window is built)."""
        if self.synchronous:
            return
        self.favour_the_gui_thread()
        from itsmdesk.services.session import connect_thread

        self._ensure_threads()
        gate = threading.Barrier(self.readers, timeout=10)

        def reader() -> None:
            connect_thread()
            try:
                gate.wait()  # hold this thread until every reader took one
            except threading.BrokenBarrierError:
                pass

        for _ in range(self.readers):
            self._reads.put(Ticket(next(self._ids), READ, reader, ()))
        self._writes.put(Ticket(next(self._ids), READ, connect_thread, ()))  # no Changes

    def pending(self) -> int:
        """Operations asked for whose results have not been delivered yet."""
        return len(self._open)

    def idle(self) -> bool:
        return not self._open

    # -- running -----------------------------------------------------------------------------------
    def _submit(self, kind: str, fn: Callable[..., Any], args: tuple, on_done, on_error,  # noqa: ANN001
                on_conflict, key: str | None, owner: QObject | None, label: str) -> Ticket:
        ticket = Ticket(next(self._ids), kind, fn, args, on_done, on_error, on_conflict, key, owner,
                        label)
        if kind == WRITE:
            ticket.batch = uuid.uuid4()
            if len(self._own) == self._own.maxlen:
                self.own_batches.discard(self._own[0])
            self._own.append(ticket.batch)
            self.own_batches.add(ticket.batch)
        if key is not None:
            previous = self._latest.get(key)
            self._latest[key] = ticket.id
            if previous is not None and previous in self._open:
                self._open.pop(previous).cancelled = True
        self._open[ticket.id] = ticket
        self.sig_pending.emit(len(self._open))
        if self.synchronous:
            result, error, changes = self._run(ticket)
            self._deliver(ticket, result, error, changes)
            return ticket
        self._ensure_threads()
        (self._writes if kind == WRITE or label in ("open", "exclusive") else self._reads).put(ticket)
        return ticket

    def _ensure_threads(self) -> None:
        gui_gc.install()  # (before the first worker can allocate: cycles are collected here)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            names = {t.name for t in self._threads}
            wanted = [f"itsmdesk-read-{i}" for i in range(self.readers)] + ["itsmdesk-write"]
            for name in wanted:
                if name not in names:
                    source = self._writes if name == "itsmdesk-write" else self._reads
                    thread = threading.Thread(target=self._loop, args=(source,), name=name,
                                              daemon=True)
                    thread.start()
                    self._threads.append(thread)

    def open_first(self, fn: Callable[..., Any], *args: Any,
                   on_done: Callable[[Any], None] | None = None,
                   on_error: Callable[[BaseException], None] | None = None) -> Ticket:
        """Run ``fn`` (opening the database) on the writer thread before anything else; the
        readers wait for it, so panels can ask for data while the window is being shown."""
        if self.synchronous:
            return self._submit(READ, fn, args, on_done, on_error, None, None, None, "open")
        self.ready.clear()

        def opening(*a: Any) -> Any:
            try:
                return fn(*a)
            finally:
                self.ready.set()  # (on failure too: the readers then fail with a sentence)

        ticket = self._submit(READ, opening, args, on_done, on_error, None, None, None, "open")
        return ticket

    def exclusive(self, fn: Callable[..., Any], *args: Any,
                  on_done: Callable[[Any], None] | None = None,
                  on_error: Callable[[BaseException], None] | None = None,
                  owner: QObject | None = None) -> Ticket:
        """Run ``fn`` on the writer thread while every reader thread has closed its connection
        and waits (restoring the database file needs it to itself); the readers reconnect on
        their next query.  ``fn`` closes and reopens the writer's own connection."""
        if self.synchronous:
            return self._submit(READ, fn, args, on_done, on_error, None, None, owner, "exclusive")
        self._ensure_threads()
        parked = threading.Barrier(self.readers + 1, timeout=30)
        release = threading.Event()

        def park() -> None:
            _close_thread_connection()
            try:
                parked.wait()
            except threading.BrokenBarrierError:
                return
            release.wait(300)

        for _ in range(self.readers):
            self._reads.put(Ticket(next(self._ids), READ, park, ()))

        def alone(*a: Any) -> Any:
            try:
                parked.wait()
            except threading.BrokenBarrierError:
                from itsmdesk.errors import N_, DatabaseBusyError

                raise DatabaseBusyError(N_("The window is still reading from the database; "
                                           "nothing was changed, try again.")) from None
            try:
                return fn(*a)
            finally:
                release.set()

        return self._submit(READ, alone, args, on_done, on_error, None, None, owner, "exclusive")

    def _loop(self, source: queue.Queue) -> None:
        while self._take(source):
            pass

    def _take(self, source: queue.Queue) -> bool:
        """Run the next ticket and hand it to the GUI thread; False when told to stop.  (A
        function of its own so that this thread holds nothing of it while it waits for the
        next one: the GUI thread is the one that lets go of a result and its callbacks.)"""
        ticket = source.get()
        if ticket is None:
            _close_thread_connection()
            return False
        if source is self._reads:
            self.ready.wait()
        if ticket.cancelled:  # superseded or given up before it ran: nothing happens
            self._sig_result.emit(ticket, None, None, None)
            return True
        result, error, changes = self._run(ticket)
        self._sig_result.emit(ticket, result, error, changes)
        return True

    def _run(self, ticket: Ticket) -> tuple[Any, BaseException | None, records.Changes | None]:
        ticket.started = time.perf_counter()
        outer = in_operation()
        _here.op = True
        try:
            return self._call(ticket)
        finally:
            _here.op = outer

    def _call(self, ticket: Ticket) -> tuple[Any, BaseException | None, records.Changes | None]:
        if ticket.kind == WRITE:
            self.sig_write_started.emit(ticket)  # queued to the GUI thread
        recoveries = 0
        while True:
            outcome = self._attempt(ticket)
            error = outcome[1]
            if error is None or self.synchronous or not is_connection_lost(error):
                return outcome
            # The connection is gone: back off, reconnect this thread's connection, go again.
            # A call that had committed a transaction of its own before (several in one call,
            # an import) is not run again: half of it is in; the person is told.
            partial = ticket.kind == WRITE and bool(outcome[2] is not None and outcome[2].batches)
            while True:
                recoveries += 1
                if not self._recover(quiet=recoveries == 1):
                    return outcome  # stopping
                if partial:
                    return outcome
                if ticket.kind != WRITE:
                    if ticket.cancelled:
                        return outcome  # superseded or given up meanwhile: not run again
                    break
                try:  # did the write commit before its connection died?  Only the journal knows.
                    landed = _landed(ticket.batch)
                except Exception as exc:  # noqa: BLE001 - lost again: recover again
                    if is_connection_lost(as_domain_error(exc)):
                        continue
                    return None, as_domain_error(exc), outcome[2]
                if landed is not None:
                    return landed
                if ticket.cancelled:
                    return outcome  # given up and not applied: it stays so
                break
            ticket.retries += 1

    def _attempt(self, ticket: Ticket) -> tuple[Any, BaseException | None, records.Changes | None]:
        if ticket.kind == WRITE:
            with records.capture() as changes:
                try:
                    # a deadlock or serialisation failure on PostgreSQL runs the call again
                    if ticket.batch is None:
                        return run_retrying(lambda: ticket.fn(*ticket.args)), None, changes
                    with records.preset_batch(ticket.batch):
                        return run_retrying(lambda: ticket.fn(*ticket.args)), None, changes
                except Exception as exc:  # noqa: BLE001 - delivered to the error handler
                    return None, as_domain_error(exc), changes
        try:
            return ticket.fn(*ticket.args), None, None
        except Exception as exc:  # noqa: BLE001
            return None, as_domain_error(exc), None

    def _recover(self, quiet: bool = True) -> bool:
        """Reconnect this thread's connection with back-off; False when the workers are
        stopping first.  ``quiet``: first try at once without a word (the server is often up
        and only this connection was cut); not when a retry failed again (no tight loop)."""
        source = threading.current_thread().name
        if quiet:
            try:
                reconnect_thread()
                return True
            except Exception:  # noqa: BLE001 - it is away: say so and back off
                pass
        attempt = 0
        while True:
            attempt += 1
            self.sig_connection.emit(source, "lost", attempt)
            deadline = time.monotonic() + backoff_delay(attempt)
            while time.monotonic() < deadline:
                if self._stop_event.wait(0.05):
                    return False
            try:
                reconnect_thread()
            except Exception:  # noqa: BLE001 - still away
                continue
            self.sig_connection.emit(source, "reconnected", 0)
            return True

    # -- delivering (GUI thread) -------------------------------------------------------------------
    def _deliver(self, ticket: Ticket, result: Any, error: Any, changes: Any) -> None:
        self._open.pop(ticket.id, None)
        ticket.done = True
        ticket.changes = changes
        if ticket.key is not None and self._latest.get(ticket.key) == ticket.id:
            del self._latest[ticket.key]
        self.sig_pending.emit(len(self._open))
        alive = not ticket.cancelled and _owner_alive(ticket.owner)
        self.delivering = ticket
        try:
            if alive:
                if error is None:
                    if ticket.on_done is not None:
                        ticket.on_done(result)
                elif isinstance(error, ConflictError) and ticket.on_conflict is not None:
                    ticket.on_conflict(error)
                elif ticket.on_error is not None:
                    ticket.on_error(error)
                elif self.default_error is not None:
                    self.default_error(error, ticket.owner)
        finally:
            self.delivering = None
            if ticket.kind == WRITE:
                self.sig_write_finished.emit(ticket)
            try:
                if changes and self.broadcast is not None:
                    self.broadcast(changes)
            finally:
                ticket.release()

    def stop(self, timeout: float = 2.0) -> None:
        """Let the threads finish what they run and close their connections."""
        self._stopping = True
        self._stop_event.set()
        for callback in self.on_stop:
            try:
                callback()
            except Exception:  # noqa: BLE001 - stopping anyway
                pass
        threads = [t for t in self._threads if t.is_alive()]
        for thread in threads:
            (self._writes if thread.name == "itsmdesk-write" else self._reads).put(None)
        deadline = time.perf_counter() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.perf_counter()))


def _landed(batch: uuid.UUID | None) -> tuple[Any, None, records.Changes] | None:
    """A write whose batch is in the journal: (what it wrote, no error, its Changes)."""
    if batch is None:
        return None
    from itsmdesk.services.live import changes_of_batch
    from itsmdesk.services.session import landed_write

    landed = landed_write(batch)
    if landed is None:
        return None
    changes = records.Changes()
    changes.merge(changes_of_batch(batch))
    return landed, None, changes


def _close_thread_connection() -> None:
    from itsmdesk.services.session import close_thread_connection

    try:
        close_thread_connection()
    except Exception:  # noqa: BLE001 - the thread is ending anyway
        pass
