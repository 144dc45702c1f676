"""``gui_latency``: the real main window on PostgreSQL behind a 40 ms link, against 0 ms.

Why: the app is used against one shared PostgreSQL server from remote sites.  On loopback every
query answers in ~0.1 ms, so work done on the GUI thread, or one query per row, costs nothing
measurable; at 40 ms round trip each such query freezes the window for 40 ms.  This benchmark
puts :class:`bench.latency_proxy.LatencyProxy` (in a child process, so it does not compete for
the measured process's GIL) between the app and the server and drives the real
:class:`~itsmdesk.views.main_window.MainWindow`, built as ``itsmdesk/app.py`` builds it
(``make_application``, ``AppContext`` with its database threads, ``MainWindow``, ``show``),
through what a user does first: start, switch and sort the queue, open one record of
every kind, save an incident and a change.

Per action and RTT it prints one JSON line (median of the passes)::

    {"name": "gui_latency", "action": "open_change", "rtt_ms": 40, "loaded_ms": ...,
     "max_stall_ms": ..., "statements": ..., "round_trips": ..., "shown_ms": ...,
     "connections": 0, "runs": 3, "timeout": false, "loaded_ms_runs": [...],
     "host_ms": [before, after]}

- ``loaded_ms``: action start -> loaded, as :func:`wait_loaded` defines it (the action's widget
  shows its data, no database operation or dock refresh outstanding, the widget repainted).
- ``shown_ms``: action start -> the widget first showed its data (other docks may still load).
- ``max_stall_ms``: the longest gap between two ticks of a zero-interval heartbeat timer on the
  GUI thread during the action: how long the window was frozen at worst (target: one 16 ms frame).
- ``statements`` / ``round_trips``: counted by the proxy on the wire (``Q`` + ``E`` messages;
  client->server bursts), over every connection of the app (GUI thread, readers, writer);
  ``connections``: connections opened during the action.  ``startup`` adds ``phases``: time
  and statements when ``open_database`` returned and when ``window.show()`` returned.
- ``host_ms``: the runner's fixed Python loop before and after (the machine's speed drifts).

Then the runner prints its usual line, where ``ours_ms`` is the wall time of one whole pass
(startup + every action + settling) at 40 ms and ``baseline_ms`` the same pass at 0 ms through
the same proxy; passes alternate 40/0 (``repeat`` = 3 each) after one unmeasured warm-up pass at
0 ms (imports, Qt's first paint, the services' caches).

Each pass is a fresh window (``startup`` is measured once per pass); the actions then run in
order, each after the app has settled (not measured), each record's tab closed before it is
opened again.  An action not loaded within 30 s prints ``"timeout": true`` and the run goes on;
if the GUI thread itself is stuck in a query, a watchdog cuts the app's connections through the
proxy so the call fails, and the rest of that pass is reported as not run.

The database is the ``small`` demo (seed 42) in ``itsmdesk_bench_gui`` on the server of
``$ITSMDESK_BENCH_PG`` (a superuser or CREATEDB URL), else of ``--db`` when that is PostgreSQL,
else ``postgresql://postgres@127.0.0.1:5432/postgres``; built once and rebuilt only when missing
or when ``schema_fingerprint()`` changed (kept in ``schema_info`` under ``bench_gui_latency``).
The saves toggle a suffix on one incident's and one change's title, so the data stays put
(their version and journal grow by a few rows per run).

``python -m bench gui_latency`` runs it through the runner; ``python -m bench.bench_gui_latency
[--rtt 0 40 80] [--repeat 3]`` runs it alone, printing only the per-action lines.

Everything that knows the app's widgets (panel names, form attributes) is in the section "What
the app looks like today" below; :func:`wait_loaded` is the one place that decides "loaded".
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bench.runner import BenchContext, Benchmark, host_speed_ms

DB_NAME = "itsmdesk_bench_gui"
DEMO_SIZE = "small"
DEMO_SEED = 42
CACHE_KEY = "bench_gui_latency"  # schema_info key: fingerprint-size-seed of the cached demo
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RTT_MS = 40.0
TIMEOUT_S = 30.0
SETTLE_S = 10.0  # the most we wait, unmeasured, for the app to go idle between actions
FIRST_TICK_S = 1.7  # the main window's first "minute" tick fires 1.5 s after it is built
QUEUE_SWITCH_TO = "all"
QUEUE_SORT = ("priority", "asc")
FORM_KINDS = ("incident", "request", "problem", "known_error", "change", "cab_meeting",
              "release", "ci", "article")
EDIT_SUFFIX = " (bench edit)"


# -- the database: build once, cache -----------------------------------------------------------
def admin_url(ctx: BenchContext | None = None) -> str:
    """Where to create the benchmark database (see the module docstring)."""
    env = os.environ.get("ITSMDESK_BENCH_PG")
    if env:
        return env
    if ctx is not None and getattr(ctx.info, "backend", "") == "postgresql":
        return ctx.url
    return DEFAULT_ADMIN_URL


def url_for(admin: str, dbname: str, host: str | None = None, port: int | None = None) -> str:
    """``admin``'s credentials, another database (and optionally another host/port)."""
    from itsmdesk.models.database import parse_url

    info = parse_url(admin)
    auth = quote(info.user or "", safe="")
    if info.password:
        auth += ":" + quote(info.password, safe="")
    return f"postgresql://{auth}@{host or info.host}:{port or info.port}/{dbname}"


def cache_value() -> str:
    from itsmdesk.models.migrations import schema_fingerprint

    return f"{schema_fingerprint()}-{DEMO_SIZE}-seed{DEMO_SEED}"


def ensure_database(admin: str) -> str:
    """The URL of the demo database, (re)built when missing or built for another schema.

    An advisory lock makes concurrent runs wait for one builder.  The cache key is written last,
    so a build that died half-way is rebuilt."""
    import psycopg2

    from itsmdesk.models.database import parse_url

    info = parse_url(admin)
    target = url_for(admin, DB_NAME)
    conn = psycopg2.connect(host=info.host, port=info.port, user=info.user,
                            password=info.password, dbname=info.dbname, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (DB_NAME,))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is not None and _cached_key(info, DB_NAME) == cache_value():
                return target
            print(f"gui_latency: building the {DEMO_SIZE} demo in {DB_NAME} (once) ...",
                  file=sys.stderr, flush=True)
            cur.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{DB_NAME}"')
            _build_demo(target)
            return target
    finally:
        conn.close()  # releases the advisory lock too


def _cached_key(info: Any, dbname: str) -> str | None:  # noqa: ANN401 - a DbInfo
    import psycopg2

    conn = psycopg2.connect(host=info.host, port=info.port, user=info.user,
                            password=info.password, dbname=dbname, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT value FROM schema_info WHERE key = %s", (CACHE_KEY,))
            row = cur.fetchone()
            return row[0] if row else None
    except psycopg2.Error:
        return None  # no schema_info: not one of ours
    finally:
        conn.close()


def _build_demo(url: str) -> None:
    from itsmdesk.demo import builder as demo
    from itsmdesk.models.base import SchemaInfo
    from itsmdesk.services.session import open_database

    database, _info = open_database(url)
    try:
        demo.generate(DEMO_SIZE, DEMO_SEED)
        (SchemaInfo.insert(key=CACHE_KEY, value=cache_value())
         .on_conflict(conflict_target=[SchemaInfo.key], update={SchemaInfo.value: cache_value()})
         .execute())
    finally:
        database.close()


# Which record of each kind to open: a busy one (most links), so one-query-per-row code shows.
PICKS: dict[str, str] = {
    "incident": "SELECT id, ref FROM incident WHERE kind = 'incident' AND ci_id IS NOT NULL "
                "AND status NOT IN ('closed', 'cancelled') ORDER BY opened_at DESC, ref LIMIT 1",
    "request": "SELECT id, ref FROM incident WHERE kind = 'request' "
               "ORDER BY opened_at DESC, ref LIMIT 1",
    "problem": "SELECT p.id, p.ref FROM problem p LEFT JOIN incident i ON i.problem_id = p.id "
               "GROUP BY p.id, p.ref ORDER BY count(i.id) DESC, p.ref LIMIT 1",
    "known_error": "SELECT id, ref FROM known_error ORDER BY ref LIMIT 1",
    "change": "SELECT c.id, c.ref FROM change c LEFT JOIN change_ci x ON x.change_id = c.id "
              "GROUP BY c.id, c.ref ORDER BY count(x.id) DESC, c.ref LIMIT 1",
    "cab_meeting": "SELECT m.id, m.ref FROM cab_meeting m JOIN cab_agenda_item a "
                   "ON a.meeting_id = m.id GROUP BY m.id, m.ref "
                   "ORDER BY count(a.id) DESC, m.ref LIMIT 1",
    "release": "SELECT r.id, r.ref FROM release r LEFT JOIN release_change x "
               "ON x.release_id = r.id GROUP BY r.id, r.ref "
               "ORDER BY count(x.id) DESC, r.ref LIMIT 1",
    "ci": "SELECT c.id, c.name FROM ci c JOIN relation r ON c.id IN (r.source_id, r.target_id) "
          "GROUP BY c.id, c.name ORDER BY count(r.id) DESC, c.name LIMIT 1",
    "article": "SELECT id, ref FROM article ORDER BY ref LIMIT 1",
}


def pick_records(url: str) -> dict[str, tuple[uuid.UUID, str] | str]:
    """kind -> (id, the text its form's title shows once loaded), or the reason there is none."""
    import psycopg2

    from itsmdesk.models.database import parse_url

    info = parse_url(url)
    conn = psycopg2.connect(host=info.host, port=info.port, user=info.user,
                            password=info.password, dbname=info.dbname, connect_timeout=5)
    conn.autocommit = True
    out: dict[str, tuple[uuid.UUID, str] | str] = {}
    try:
        for kind, sql in PICKS.items():
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    row = cur.fetchone()
                out[kind] = (uuid.UUID(str(row[0])), row[1]) if row else f"no {kind} in the demo"
            except psycopg2.Error as exc:
                out[kind] = f"cannot pick a {kind}: {str(exc).splitlines()[0]}"
    finally:
        conn.close()
    return out


# -- What the app looks like today (the refactor changes this section, nothing else) -------------
@dataclass
class Session:
    """One main window under test, and what it needs."""

    url: str
    window: Any = None  # MainWindow
    ctx: Any = None  # AppContext
    database: Any = None  # the peewee database (its GUI-thread connection)
    settings_dir: Any = None  # tempfile.TemporaryDirectory: QSettings of this window only
    counters: Callable[[], dict[str, int]] | None = None  # the proxy's, read at each mark
    marks: dict[str, tuple[float, dict[str, int]]] = field(default_factory=dict)
    broken: str | None = None  # why the rest of the pass cannot run in this window

    def mark(self, name: str) -> None:
        """A phase of the action ended: remember when, and the proxy's counters then."""
        self.marks[name] = (time.perf_counter(), self.counters() if self.counters else {})


def start_app(session: Session) -> None:
    """What ``itsmdesk.app.run`` does once the QApplication exists: ``app.start`` shows the
    window at once and opens the database on the writer thread (the panels' reads wait for
    it), with the window's settings in a private file so no user's layout or signed-in person
    leaks in (as ``bench/memory.py`` does)."""
    from PySide6.QtCore import QSettings

    from itsmdesk.app import start

    session.settings_dir = tempfile.TemporaryDirectory(prefix="itsmdesk-bench-")
    settings = QSettings(os.path.join(session.settings_dir.name, "settings.ini"),
                         QSettings.Format.IniFormat)
    session.ctx, session.window = start(session.url, settings=settings)
    session.mark("window_shown")


def close_app(session: Session) -> None:
    """Close the window (its closeEvent stops the database threads), then the GUI thread's
    connection.

    The window must really go: ``deleteLater`` alone waits for an event loop, and until then
    the window's timers (the first and the minute tick) fire in the next pass and put their
    queries into its figures."""
    from PySide6.QtCore import QCoreApplication, QEvent

    if session.window is not None:
        session.window.close()
        session.window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    if session.database is not None:
        session.database.close()
    if session.settings_dir is not None:
        session.settings_dir.cleanup()
    session.window = session.ctx = session.database = session.settings_dir = None


def queue_panel(session: Session) -> Any:  # noqa: ANN401 - QueuePanel
    return session.window.panels.get("queuesDock") if session.window is not None else None


def queue_rows_shown(session: Session, key: str | None = None,
                     order: tuple[str, str] | None = None) -> bool:
    """The queue dock holds rows (of queue ``key``, in ``order``, when given)."""
    panel = queue_panel(session)
    if panel is None or panel.model.rowCount() == 0 or panel.model.cached_rows() == 0:
        return False
    if key is not None and (panel.model.spec is None or panel.model.spec.key != key):
        return False
    return order is None or tuple(panel.model.order) == order


def queue_view(session: Session) -> Any:  # noqa: ANN401 - the widget that paints the rows
    panel = queue_panel(session)
    return panel.table.viewport() if panel is not None else None


def record_form(session: Session, kind: str, record_id: uuid.UUID) -> Any:  # noqa: ANN401
    """The open form (tab) of this record, or None."""
    if session.window is None:
        return None
    tabs = session.window.tabs
    key = f"{kind}:{record_id}"
    for i in range(tabs.count()):
        if tabs.widget(i).property("recordKey") == key:
            return tabs.widget(i)
    return None


def form_shows(session: Session, kind: str, record_id: uuid.UUID, label: str) -> bool:
    """The record's form is open and its title shows the record (ref, or a CI's name): every
    form sets its title from the loaded record, whether it loads on the worker or inline."""
    form = record_form(session, kind, record_id)
    return form is not None and label in form.title()


def close_record_tabs(session: Session) -> None:
    """Close every record tab without asking (the harness never leaves unsaved edits)."""
    if session.window is None:
        return
    tabs = session.window.tabs
    for i in reversed(range(tabs.count())):
        widget = tabs.widget(i)
        if widget.property("recordKey") is not None:
            tabs.removeTab(i)
            widget.deleteLater()


def set_form_title(form: Any, kind: str, text: str) -> None:  # noqa: ANN401
    """Type a new title into the form (the text field every savable form has)."""
    form.title_edit.setText(text)


def saved_title(form: Any, kind: str) -> str | None:  # noqa: ANN401
    """The title the form shows from the database (after its reload), not the edit box."""
    if kind not in ("incident", "change"):
        raise ValueError(kind)
    # every record form holds its typed read model in ``data`` once loaded (forms/base.py)
    return getattr(form.data, "title", None) if form.data is not None else None


DEBOUNCE_MAX_MS = 1000


def app_idle(session: Session) -> bool:
    """Nothing the action set off is still to come: :func:`worker_idle` (the reader and writer
    threads of ``ctx.ops``, formerly the one ``ctx.worker``), and no debounce
    pending in the window.  Docks refresh after a write through a single-shot QTimer (problems
    and releases 250 ms, dashboard 800 ms...) before they submit their read; a pending
    single-shot timer of at most ``DEBOUNCE_MAX_MS`` is taken for such a debounce; and no dock
    panel is still waiting to be built (``MainWindow.panels_waiting``).  (Longer
    ones are not waited for: the first tick at 1.5 s, the 30 s countdowns, the minute tick.)
    The timers are looked up only once the worker is idle: ``findChildren`` walks every
    widget of the window."""
    from PySide6.QtCore import QTimer

    if not worker_idle(session.ctx.ops):
        return False
    if session.window is None:
        return True
    waiting = getattr(session.window, "panels_waiting", None)
    if callable(waiting) and waiting():
        return False  # panels still to be built after the first paint (each then loads)
    return not any(t.isActive() and t.isSingleShot() and t.interval() <= DEBOUNCE_MAX_MS
                   for t in session.window.findChildren(QTimer))


def worker_idle(worker: Any) -> bool:  # noqa: ANN401 - Ops (or the older DbWorker)
    """No database operation the GUI asked for is still to be delivered to its slot.

    ``Ops.idle()`` (``itsmdesk/views/ops.py``): no ticket open; a superseded one leaves the open
    set when its successor is asked for.  The older ``DbWorker`` kept ``_callbacks`` until
    delivery, but never delivered a ticket superseded before it started, so only unkeyed
    tickets and the latest of each key count there."""
    idle = getattr(worker, "idle", None)
    if callable(idle):
        return bool(idle())
    latest = worker._latest
    return not any(key is None or latest.get(key) == ticket
                   for ticket, (_done, _error, key) in list(worker._callbacks.items()))


# -- measuring ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    started_at: float | None = None
    shown_at: float | None = None  # (a) first held, whatever the worker was doing
    loaded_at: float | None = None  # (a) and (b), and painted
    timeout: bool = False
    error: str | None = None


def wait_loaded(session: Session, loaded: Callable[[Session], bool], timeout_s: float = TIMEOUT_S,
                start: Callable[[Session], Any] | None = None,
                paint: Callable[[Session], Any] | None = None) -> Outcome:
    """Run ``start`` as the first event of a Qt event loop and spin the loop until loaded.

    Loaded means, checked every millisecond between events (never inside a slot):
      (a) ``loaded(session)`` holds: the action's own sign that its data is shown (rows in the
          queue model, the record's reference in its form's title, the saved title read back);
      (b) the app is idle (:func:`app_idle`): its database worker has no job outstanding, so
          every read the action caused has been delivered to its slot, and no dock's refresh
          is still waiting behind a debounce timer;
      then ``paint(session)`` (a widget) is repainted synchronously, and the clock stops.
    ``shown_at`` is when (a) first held, whatever (b) said: what the user sees first.  A modal dialog (an error message)
    ends the wait with ``error`` = its text, after closing it; so does an exception in
    ``start``.  After ``timeout_s`` it gives up with ``timeout`` set.
    """
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    outcome = Outcome()
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s

    def begin() -> None:
        outcome.started_at = time.perf_counter()
        if start is not None:
            try:
                start(session)
            except Exception as exc:  # noqa: BLE001 - reported in the JSON line
                outcome.error = f"{type(exc).__name__}: {exc}"[:300]

    def check() -> None:
        if outcome.started_at is None:
            return
        modal = QApplication.activeModalWidget()
        if modal is not None:
            text = modal.text() if hasattr(modal, "text") else modal.windowTitle()
            outcome.error = outcome.error or f"dialog: {text}"[:300]
            modal.close()
        if outcome.error is not None:
            loop.quit()
            return
        if session.ctx is not None and loaded(session):
            if outcome.shown_at is None:
                outcome.shown_at = time.perf_counter()
            if app_idle(session):
                widget = paint(session) if paint is not None else None
                if widget is not None:
                    widget.repaint()
                outcome.loaded_at = time.perf_counter()
                loop.quit()
                return
        if time.perf_counter() > deadline:
            outcome.timeout = True
            loop.quit()

    poll = QTimer()
    poll.setTimerType(Qt.TimerType.PreciseTimer)
    poll.setInterval(1)
    poll.timeout.connect(check)
    QTimer.singleShot(0, begin)
    poll.start()
    loop.exec()
    poll.stop()
    return outcome


class Heartbeat:
    """A zero-interval timer on the GUI thread: the longest gap between two ticks is the
    longest time the thread was busy with one thing (a slot, a synchronous query, painting,
    waiting for the GIL) and the window frozen."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self._timer = QTimer()
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._beat)
        self._last = 0.0
        self.max_gap_ms = 0.0

    def start(self) -> None:
        self.max_gap_ms = 0.0
        self._last = time.perf_counter()
        self._timer.start()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.max_gap_ms = max(self.max_gap_ms, (now - self._last) * 1000)
        self._last = now

    def stop(self) -> float:
        self._beat()  # a freeze at the very end counts too
        self._timer.stop()
        return self.max_gap_ms


@dataclass
class Run:
    action: str
    rtt_ms: float
    loaded_ms: float | None
    max_stall_ms: float
    statements: int
    round_trips: int
    timeout: bool = False
    error: str | None = None
    shown_ms: float | None = None
    connections: int = 0  # connections the app opened during the action
    phases: dict[str, dict[str, float]] = field(default_factory=dict)  # startup: see start_app


@dataclass
class Action:
    """One user action: ``prepare`` (not measured), then ``start`` until ``loaded``."""

    name: str
    start: Callable[[Session], Any]
    loaded: Callable[[Session], bool]
    paint: Callable[[Session], Any] | None = None
    prepare: Callable[[Session], None] | None = None
    skip: str | None = None  # why this action cannot run (no such record)


def measure(session: Session, action: Action, proxy: Any, rtt_ms: float) -> Run:  # noqa: ANN401
    """Prepare, then one measured run of the action: heartbeat and proxy counters around it."""
    if action.skip:
        return Run(action.name, rtt_ms, None, 0.0, 0, 0, error=action.skip)
    if action.name != "startup" and session.window is None:
        return Run(action.name, rtt_ms, None, 0.0, 0, 0, error="no window (startup failed)")
    if session.broken:
        return Run(action.name, rtt_ms, None, 0.0, 0, 0, error=f"not run: {session.broken}")
    if action.prepare is not None:
        try:
            action.prepare(session)
        except Exception as exc:  # noqa: BLE001 - reported in the JSON line
            return Run(action.name, rtt_ms, None, 0.0, 0, 0,
                       error=f"prepare: {type(exc).__name__}: {exc}"[:300])
    before = proxy.snapshot()
    session.counters = proxy.snapshot
    session.marks.clear()
    # A query on the GUI thread that never returns (a link that hangs) blocks the event loop,
    # so wait_loaded's own timeout cannot fire: cut the app's connections instead, the call
    # fails, the app shows its error, and the action counts as timed out.
    hung = threading.Event()

    def unblock() -> None:
        hung.set()
        proxy.drop_all()

    watchdog = threading.Timer(TIMEOUT_S + 2.0, unblock)
    watchdog.daemon = True
    heartbeat = Heartbeat()
    heartbeat.start()
    watchdog.start()
    outcome = wait_loaded(session, action.loaded, TIMEOUT_S, start=action.start, paint=action.paint)
    watchdog.cancel()
    stall = heartbeat.stop()
    after = proxy.snapshot()
    if hung.is_set():
        outcome.timeout = True
        session.broken = "its connections were cut after a blocked action"
    started = outcome.started_at or 0.0

    def since_start(at: float | None) -> float | None:
        return (at - started) * 1000 if at is not None and outcome.started_at else None

    phases = {name: {"ms": round((at - started) * 1000, 1),
                     "statements": counts["statements"] - before["statements"]}
              for name, (at, counts) in session.marks.items()}
    return Run(action.name, rtt_ms, since_start(outcome.loaded_at), stall,
               after["statements"] - before["statements"],
               after["round_trips"] - before["round_trips"], outcome.timeout, outcome.error,
               since_start(outcome.shown_at), after["connections"] - before["connections"],
               phases)


def settle(session: Session, at_least_s: float = 0.0) -> None:
    """Not measured: let the app finish what it does on its own (the first tick, refreshes)."""
    if session.ctx is None:
        return
    until = time.perf_counter() + at_least_s
    wait_loaded(session, lambda _s: time.perf_counter() >= until, at_least_s + SETTLE_S)


# -- the actions -------------------------------------------------------------------------------
def build_actions(picks: dict[str, tuple[uuid.UUID, str] | str]) -> list[Action]:
    """Startup, the queue, one form of each kind, two saves: in the order they run."""

    def start_app_action(session: Session) -> None:
        start_app(session)

    actions = [
        Action("startup", start_app_action, lambda s: queue_rows_shown(s), queue_view),
        Action("queue_switch", lambda s: queue_panel(s).select_queue(QUEUE_SWITCH_TO),
               lambda s: queue_rows_shown(s, QUEUE_SWITCH_TO), queue_view,
               prepare=lambda s: settle(s, FIRST_TICK_S)),
        Action("queue_sort", _sort_queue, lambda s: queue_rows_shown(s, order=QUEUE_SORT),
               queue_view, prepare=settle),
    ]
    for kind in FORM_KINDS:
        actions.append(_open_action(kind, picks.get(kind, f"no {kind}")))
    for kind in ("incident", "change"):
        actions.append(_save_action(kind, picks.get(kind, f"no {kind}")))
    return actions


def _sort_queue(session: Session) -> None:
    """A click on the column header (what ``bench_queue_gui`` does)."""
    from PySide6.QtCore import Qt

    panel = queue_panel(session)
    column = panel.model.columns.index(QUEUE_SORT[0])
    order = Qt.SortOrder.AscendingOrder if QUEUE_SORT[1] == "asc" else Qt.SortOrder.DescendingOrder
    panel.table.sortByColumn(column, order)


def _open_action(kind: str, pick: tuple[uuid.UUID, str] | str) -> Action:
    name = f"open_{kind}"
    if isinstance(pick, str):
        return Action(name, lambda _s: None, lambda _s: False, skip=pick)
    record_id, label = pick

    def prepare(session: Session) -> None:
        close_record_tabs(session)
        settle(session)

    return Action(name, lambda s: s.ctx.open_record(kind, record_id),
                  lambda s: form_shows(s, kind, record_id, label),
                  lambda s: record_form(s, kind, record_id), prepare=prepare)


def _save_action(kind: str, pick: tuple[uuid.UUID, str] | str) -> Action:
    """Open the record (not measured), type a new title, save: until the form shows the saved
    title and every dock has refreshed.  The title toggles a suffix, so runs undo each other."""
    name = f"save_{kind}"
    if isinstance(pick, str):
        return Action(name, lambda _s: None, lambda _s: False, skip=pick)
    record_id, label = pick
    wanted: dict[str, Any] = {}

    def prepare(session: Session) -> None:
        close_record_tabs(session)
        settle(session)
        outcome = wait_loaded(session, lambda s: form_shows(s, kind, record_id, label),
                              start=lambda s: s.ctx.open_record(kind, record_id))
        if outcome.loaded_at is None:
            raise RuntimeError(outcome.error or "the form did not load")
        current = saved_title(record_form(session, kind, record_id), kind) or ""
        wanted["title"] = (current[:-len(EDIT_SUFFIX)] if current.endswith(EDIT_SUFFIX)
                           else current + EDIT_SUFFIX)

    def start(session: Session) -> None:
        form = record_form(session, kind, record_id)
        set_form_title(form, kind, wanted["title"])
        if form.save() is False:  # (a save that runs as an operation may return None)
            raise RuntimeError("save() returned False")

    def loaded(session: Session) -> bool:
        form = record_form(session, kind, record_id)
        return form is not None and saved_title(form, kind) == wanted["title"]

    return Action(name, start, loaded, lambda s: record_form(s, kind, record_id), prepare=prepare)


# -- passes, and the runner's hooks -------------------------------------------------------------
@dataclass
class State:
    proxy: Any = None  # ProxyProcess
    proxy_url: str = ""
    actions: list[Action] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    skip: str | None = None
    host_before: float = 0.0


def prepare_state(admin: str) -> State:
    """Build or reuse the database, start the proxy and the QApplication: everything a pass
    needs.  A server that cannot be reached gives a State with ``skip`` set, not an error."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from bench.latency_proxy import ProxyProcess
    from itsmdesk.app import make_application
    from itsmdesk.models.database import parse_url

    _quiet_qt()
    state = State(host_before=host_speed_ms())
    try:
        direct = ensure_database(admin)
        picks = pick_records(direct)
    except Exception as exc:  # noqa: BLE001 - no server: say so in the output, run the rest
        state.skip = f"PostgreSQL at {parse_url(admin).display}: {str(exc).strip().splitlines()[0]}"
        return state
    info = parse_url(admin)
    state.proxy = ProxyProcess(info.host or "127.0.0.1", info.port or 5432, 0.0).start()
    state.proxy_url = url_for(admin, DB_NAME, "127.0.0.1", state.proxy.port)
    state.actions = build_actions(picks)
    make_application()
    run_pass(state, 0.0, record=False)  # warm-up: imports, Qt's first paint, caches
    return state


def _quiet_qt() -> None:
    """Drop the offscreen platform's "does not support propagateSizeHints()" warning, printed
    for every dock shown (hundreds of lines); other Qt messages still reach stderr."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode: Any, _context: Any, message: str) -> None:  # noqa: ANN401
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


def run_pass(state: State, rtt_ms: float, record: bool = True) -> list[Run]:
    """A fresh main window at ``rtt_ms``, every action once, the window closed."""
    state.proxy.set_rtt(rtt_ms)
    session = Session(state.proxy_url)
    runs: list[Run] = []
    try:
        for action in state.actions:
            runs.append(measure(session, action, state.proxy, rtt_ms))
    finally:
        close_app(session)
    if record:
        state.runs.extend(runs)
    return runs


def summarize(runs: list[Run], host_ms: list[float]) -> list[dict[str, Any]]:
    """One line per action and RTT: medians over the runs that loaded."""
    lines = []
    for action in dict.fromkeys(r.action for r in runs):  # in the order they ran
        for rtt in sorted({r.rtt_ms for r in runs if r.action == action}):
            mine = [r for r in runs if r.action == action and r.rtt_ms == rtt]
            ok = [r for r in mine if r.loaded_ms is not None]
            line: dict[str, Any] = {"name": "gui_latency", "action": action, "rtt_ms": rtt}
            if ok:
                line.update(
                    loaded_ms=_median([r.loaded_ms for r in ok]),
                    max_stall_ms=_median([r.max_stall_ms for r in ok]),
                    statements=statistics.median_low([r.statements for r in ok]),
                    round_trips=statistics.median_low([r.round_trips for r in ok]),
                    shown_ms=_median([r.shown_ms for r in ok]),
                    connections=statistics.median_low([r.connections for r in ok]))
                for phase in ok[0].phases:
                    line.setdefault("phases", {})[phase] = {
                        key: _median([r.phases[phase][key] for r in ok if phase in r.phases])
                        for key in ("ms", "statements")}
            else:
                line.update(loaded_ms=None, max_stall_ms=None, statements=None, round_trips=None)
            line["runs"] = len(ok)
            line["timeout"] = any(r.timeout for r in mine)
            line["loaded_ms_runs"] = [round(r.loaded_ms, 1) if r.loaded_ms is not None else None
                                      for r in mine]
            errors = sorted({r.error for r in mine if r.error})
            if errors:
                line["errors"] = errors
            line["host_ms"] = host_ms
            lines.append(line)
    return lines


def _median(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def _state(ctx: BenchContext) -> State:
    return ctx.state["gui_latency"]


def _setup(ctx: BenchContext) -> None:
    if "gui_latency" not in ctx.state:
        ctx.state["gui_latency"] = prepare_state(admin_url(ctx))


def _ours(ctx: BenchContext) -> int:
    state = _state(ctx)
    return 0 if state.skip else len(run_pass(state, RTT_MS))


def _baseline(ctx: BenchContext) -> int:
    state = _state(ctx)
    return 0 if state.skip else len(run_pass(state, 0.0))


def _restore_runner(ctx: BenchContext) -> None:
    """Leave the process as the next benchmark expects it: the models bound to the runner's
    database again (``open_database`` rebinds the one proxy), no application style sheet
    (``bench_queue_gui`` paints the queue dock unstyled)."""
    from PySide6.QtWidgets import QApplication

    from itsmdesk.models.base import db

    db.initialize(ctx.database)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setStyleSheet("")


def _extra(ctx: BenchContext) -> dict[str, Any]:
    """Print the per-action lines (before the runner's own line), stop the proxy, and add a
    summary of them to the runner's line."""
    import json

    state = _state(ctx)
    if state.proxy is not None:
        state.proxy.stop()
        state.proxy = None
    _restore_runner(ctx)
    if state.skip:
        return {"skipped": state.skip}
    lines = summarize(state.runs, [state.host_before, host_speed_ms()])
    for line in lines:
        print(json.dumps(line), flush=True)
    worst = max((line for line in lines if line["rtt_ms"] == RTT_MS and line["max_stall_ms"]),
                key=lambda line: line["max_stall_ms"], default=None)
    return {"action": "(whole pass)", "rtt_ms": RTT_MS, "actions": len(state.actions),
            "timeouts": sum(r.timeout for r in state.runs),
            "errors": sum(r.error is not None and not r.timeout for r in state.runs),
            "worst_stall_action": worst["action"] if worst else None,
            "worst_stall_ms": worst["max_stall_ms"] if worst else None}


BENCHMARKS = [
    Benchmark("gui_latency", ours=_ours, baseline=_baseline, setup=_setup, extra=_extra,
              repeat=3, warmup=0, own_database=True,
              note="real main window on PostgreSQL (small demo) through a latency proxy: ours = "
                   "one pass (startup, queue, every form, two saves) at 40 ms rtt, baseline = "
                   "the same at 0 ms; the lines before this one give each action"),
]


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.bench_gui_latency``: the per-action lines only, any RTTs."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.bench_gui_latency")
    parser.add_argument("--rtt", type=float, nargs="+", default=[0.0, RTT_MS],
                        help="round-trip times in ms (default: 0 40)")
    parser.add_argument("--repeat", type=int, default=3, help="passes per RTT (default: 3)")
    parser.add_argument("--admin-url", default=admin_url(),
                        help="PostgreSQL URL allowed to create the benchmark database")
    args = parser.parse_args(argv)
    state = prepare_state(args.admin_url)
    if state.skip:
        print(json.dumps({"name": "gui_latency", "skipped": state.skip}))
        return 2
    try:
        for _ in range(args.repeat):
            for rtt in args.rtt:  # turn about, so the machine's drift spreads over all RTTs
                run_pass(state, rtt)
    finally:
        state.proxy.stop()
    for line in summarize(state.runs, [state.host_before, host_speed_ms()]):
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
