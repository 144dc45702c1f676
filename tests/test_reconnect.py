"""A lost PostgreSQL connection heals by itself: the server kills the app's connections
(pg_terminate_backend, as a restart does) mid-session and mid-save, or refuses connections for
a while; the workers and the listener reconnect with back-off, reads run again, a save lands
exactly once (counted in journal batches), and not one dialog is shown -- one banner state.

Real reader/writer threads (not the synchronous operations of the GUI tests).
"""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QEventLoop, QTimer

pytestmark = pytest.mark.parametrize("db", ["postgres"], indirect=True)


def _wait(predicate, timeout_s: float = 15.0) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout_s:
            raise AssertionError("timed out waiting")
        loop = QEventLoop()
        QTimer.singleShot(10, loop.quit)
        loop.exec()
    return time.perf_counter() - started


def _superuser():
    import psycopg2

    from tests.conftest import PG_CANDIDATES

    for url in reversed(PG_CANDIDATES):  # postgres@ first
        try:
            conn = psycopg2.connect(url, connect_timeout=3)
        except psycopg2.Error:
            continue
        conn.autocommit = True
        return conn
    pytest.skip("no PostgreSQL connection that may terminate backends")


def _terminate(dbname: str, where: str = "true", params: tuple = ()) -> int:
    conn = _superuser()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid() "
                        "AND application_name LIKE 'itsmdesk%%' AND " + where,
                        (dbname, *params))
            return cur.fetchone()[0]
    finally:
        conn.close()


class Watch:
    """What a person would have seen: dialogs (error handler calls) and banner states."""

    def __init__(self, ctx, monkeypatch) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.errors: list[BaseException] = []
        self.boxes: list[str] = []
        self.banner: list[tuple[bool, int]] = []
        ctx.ops.default_error = lambda error, _owner: self.errors.append(error)
        ctx.sig_connection.connect(lambda ok, n: self.banner.append((ok, n)))
        for kind in ("warning", "critical", "information", "question"):
            monkeypatch.setattr(QMessageBox, kind, staticmethod(
                lambda *a, _k=kind, **k: self.boxes.append(_k) or QMessageBox.StandardButton.Ok))


def _batches(record_id) -> int:
    from itsmdesk.models.journal import JournalEntry

    return (JournalEntry.select(JournalEntry.batch).where(JournalEntry.record_id == record_id)
            .distinct().count())


@pytest.fixture
def desk(db, qapp, monkeypatch):
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.views.context import AppContext

    inc = incidents.create_incident({"title": "Mail down", "impact": 2, "urgency": 2})
    ctx = AppContext(db)
    watch = Watch(ctx, monkeypatch)
    _wait(lambda: ctx.live_feed.listener.conn is not None)
    yield ctx, watch, inc, db
    ctx.ops.stop()


def _read(ctx, fn, *args):
    out = []
    ctx.query(fn, *args, on_done=out.append)
    _wait(lambda: out)
    return out[0]


def _write(ctx, fn, *args):
    out = []
    ticket = ctx.write(fn, *args, on_done=out.append, on_error=out.append)
    _wait(lambda: out, 30)
    return out[0], ticket


def test_killed_mid_session_the_app_reconnects_by_itself(desk):
    from itsmdesk.services.servicedesk import incidents

    ctx, watch, inc, info = desk
    assert _read(ctx, incidents.incident_view, inc.id).title == "Mail down"
    listener = ctx.live_feed.listener
    killed = _terminate(info.dbname)
    assert killed >= 2  # the workers' connections and the listener's
    _wait(lambda: listener.connects >= 2)  # the listener noticed and came back on its own
    # every action after: works, after a transparent reconnect -- no error, no dialog
    for _ in range(3):
        assert _read(ctx, incidents.incident_view, inc.id).title == "Mail down"
    result, _ticket = _write(ctx, incidents.update_incident, inc.id, inc.version,
                             {"title": "Mail down for everyone"})
    assert not isinstance(result, BaseException), result
    assert _read(ctx, incidents.incident_view, inc.id).title == "Mail down for everyone"
    assert watch.errors == [] and watch.boxes == []
    assert watch.banner and watch.banner[-1] == (True, 0)  # lost ... then reconnected
    assert all(n >= 1 for ok, n in watch.banner if not ok)


def test_killed_mid_save_the_save_lands_exactly_once(desk):
    """The writer's connection is terminated while its transaction is open: that attempt rolls
    back, the worker reconnects and runs the write again -- one batch in the journal."""
    from itsmdesk.models.base import db as proxy_db
    from itsmdesk.services import records
    from itsmdesk.services.servicedesk import incidents

    ctx, watch, inc, info = desk
    before = _batches(inc.id)
    calls = []

    def slow_update(record_id, version, changes):  # noqa: ANN001, ANN202
        calls.append(1)
        with records.atomic():  # one transaction, still open while it sleeps
            result = incidents.update_incident(record_id, version, changes)
            if len(calls) == 1:
                proxy_db.obj.execute_sql("SELECT pg_sleep(3)")
        return result

    def killer() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _terminate(info.dbname, "query LIKE %s", ("%pg_sleep%",)):
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    result, ticket = _write(ctx, slow_update, inc.id, inc.version, {"title": "Saved once"})
    thread.join()
    assert not isinstance(result, BaseException), result
    assert len(calls) == 2 and ticket.retries == 1
    assert _batches(inc.id) == before + 1
    assert _read(ctx, incidents.incident_view, inc.id).title == "Saved once"
    assert watch.errors == [] and watch.boxes == []


def test_connection_lost_during_commit_is_not_applied_twice(desk, monkeypatch):
    """The COMMIT reached the server and committed, but its answer never came back (the
    connection died in between): the worker finds the write's batch in the journal and does not
    run it again."""
    import psycopg2

    from itsmdesk.models.base import db as proxy_db
    from itsmdesk.services.servicedesk import incidents

    ctx, watch, inc, info = desk
    before = _batches(inc.id)
    calls = []
    database = proxy_db.obj
    real_commit = type(database).commit

    def commit_then_lose_the_answer(self):  # noqa: ANN001, ANN202
        real_commit(self)
        if threading.current_thread().name == "itsmdesk-write" and not calls:
            calls.append(1)
            pid = self.connection().get_backend_pid()
            _terminate(info.dbname, "pid = %s", (pid,))
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(type(database), "commit", commit_then_lose_the_answer)
    result, ticket = _write(ctx, incidents.update_incident, inc.id, inc.version,
                            {"title": "Exactly once"})
    assert calls == [1]
    assert not isinstance(result, BaseException), result
    assert ticket.retries == 0  # not run again
    assert str(result.id) == str(inc.id) and result.version == inc.version + 1
    assert ticket.changes and inc.id in ticket.changes.ids("incident")  # still broadcast
    assert _batches(inc.id) == before + 1
    assert _read(ctx, incidents.incident_view, inc.id).title == "Exactly once"
    assert watch.errors == [] and watch.boxes == []


def test_a_call_of_several_transactions_is_not_run_again_halfway(desk):
    """A call that committed one transaction and lost its connection in the next is not run
    again (it would repeat the first): the person is told instead, and the first is kept."""
    from itsmdesk.errors import DatabaseUnavailableError
    from itsmdesk.models.base import db as proxy_db
    from itsmdesk.services.servicedesk import incidents

    ctx, watch, inc, info = desk
    before = _batches(inc.id)
    calls = []

    def two_steps(record_id, version):  # noqa: ANN001, ANN202
        calls.append(1)
        first = incidents.update_incident(record_id, version, {"title": "Step one"})
        pid = proxy_db.obj.connection().get_backend_pid()
        _terminate(info.dbname, "pid = %s", (pid,))
        return incidents.update_incident(record_id, first.version, {"title": "Step two"})

    result, ticket = _write(ctx, two_steps, inc.id, inc.version)
    assert isinstance(result, DatabaseUnavailableError)
    assert calls == [1] and ticket.retries == 0
    assert _batches(inc.id) == before + 1
    assert _read(ctx, incidents.incident_view, inc.id).title == "Step one"
    assert watch.boxes == []


def test_server_away_for_seconds_backs_off_and_a_save_waits(desk, monkeypatch):
    """Connections refused for ~3 s (a restart): the banner counts attempts, a save asked for
    meanwhile waits and lands once when the server is back."""
    from bench.latency_proxy import LatencyProxy
    from itsmdesk.models.base import db as proxy_db
    from itsmdesk.services.servicedesk import incidents

    ctx, watch, inc, info = desk
    ctx.ops.stop()
    proxy = LatencyProxy(info.host, info.port).start()
    try:
        proxy_db.obj.connect_params["port"] = proxy.port  # every new connection via the proxy
        proxy_db.obj.close()
        from itsmdesk.views.context import AppContext

        ctx2 = AppContext(info)
        watch = Watch(ctx2, monkeypatch)
        _wait(lambda: ctx2.live_feed.listener.conn is not None)
        assert _read(ctx2, incidents.incident_view, inc.id).title == "Mail down"
        before = _batches(inc.id)

        proxy.refuse(True)
        proxy.drop_all()  # the server "restarts"
        _wait(lambda: any(not ok for ok, _n in watch.banner), 5)
        out = []
        started = time.perf_counter()
        ctx2.write(incidents.update_incident, inc.id, inc.version, {"title": "After restart"},
                   on_done=out.append, on_error=out.append)
        loop_wait = _wait(lambda: max((n for ok, n in watch.banner if not ok), default=0) >= 3, 10)
        assert not out  # still waiting, not failed
        proxy.refuse(False)
        _wait(lambda: out, 30)
        assert not isinstance(out[0], BaseException), out[0]
        assert time.perf_counter() - started > loop_wait
        _wait(lambda: watch.banner[-1] == (True, 0), 15)
        from itsmdesk.services.session import reconnect_thread

        reconnect_thread()  # (this test thread's own connection went with the "restart")
        assert _batches(inc.id) == before + 1
        assert watch.errors == [] and watch.boxes == []
        ctx2.ops.stop()
    finally:
        proxy.refuse(False)
        proxy.stop()
        proxy_db.obj.connect_params["port"] = info.port


def test_the_window_shows_one_banner_and_a_save_waits_visibly(desk, qtbot, monkeypatch):
    """While connections are refused: the main window's banner says it is reconnecting and
    counts attempts; a form's save says it is waiting and offers Cancel; Cancel keeps the edits
    and nothing is saved; the banner says Reconnected when the server is back."""
    from bench.latency_proxy import LatencyProxy
    from itsmdesk.models.base import db as proxy_db
    from itsmdesk.views.context import AppContext
    from itsmdesk.views.main_window import MainWindow
    from itsmdesk.views.queue.incident_form import IncidentForm

    ctx, _watch, inc, info = desk
    ctx.ops.stop()
    proxy = LatencyProxy(info.host, info.port).start()
    window = None
    try:
        proxy_db.obj.connect_params["port"] = proxy.port
        proxy_db.obj.close()
        ctx2 = AppContext(info)
        watch = Watch(ctx2, monkeypatch)
        from PySide6.QtCore import QSettings

        window = MainWindow(ctx2, QSettings("itsmdesk-test", "reconnect-banner"))
        window.show()
        form = IncidentForm(ctx2, inc.id)
        qtbot.addWidget(form)
        form.show()
        _wait(lambda: form.loaded and ctx2.live_feed.listener.conn is not None)
        before = _batches(inc.id)
        form.title_edit.setText("Typed during the outage")

        proxy.refuse(True)
        proxy.drop_all()
        _wait(lambda: window.connection_banner.isVisible(), 5)
        assert "reconnecting (attempt" in window.connection_banner.text()
        form.save()
        _wait(lambda: "waiting for the database" in form.message.text(), 5)
        assert form.message.text() == "Saving — waiting for the database…"
        assert form.stop_button.isVisible() and form.stop_button.text() == "Cancel"
        _wait(lambda: "attempt 3" in window.connection_banner.text(), 10)
        form.stop_button.click()  # Cancel: the edits stay, the save is not applied
        assert form.dirty and form.title_edit.text() == "Typed during the outage"
        assert form.save_button.isEnabled()

        proxy.refuse(False)
        _wait(lambda: window.connection_banner.text() == "Reconnected", 20)
        _wait(lambda: ctx2.ops.idle(), 20)
        from itsmdesk.services.session import reconnect_thread

        reconnect_thread()
        assert _batches(inc.id) == before  # cancelled during the outage: not applied
        assert watch.errors == [] and watch.boxes == []
        form.save()  # and now it saves
        _wait(lambda: not form.dirty, 10)
        assert _batches(inc.id) == before + 1
    finally:
        proxy.refuse(False)
        if window is not None:
            window._confirm_close = lambda: True
            window.close()
        proxy.stop()
        proxy_db.obj.connect_params["port"] = info.port


def test_a_timeout_is_an_error_not_a_lost_connection(desk):
    """A statement cancelled by the server (timeout) reaches the caller once: it is not taken
    for a lost connection and run again and again."""
    from itsmdesk.models.base import db as proxy_db
    from itsmdesk.services.session import as_domain_error, is_connection_lost

    ctx, watch, _inc, _info = desk
    calls = []

    def too_slow():  # noqa: ANN202
        calls.append(1)
        proxy_db.obj.execute_sql("SET statement_timeout = 50")
        try:
            proxy_db.obj.execute_sql("SELECT pg_sleep(2)")
        finally:
            proxy_db.obj.execute_sql("SET statement_timeout = 0")

    out = []
    ctx.query(too_slow, on_done=out.append, on_error=out.append)
    _wait(lambda: out)
    assert isinstance(out[0], BaseException) and len(calls) == 1
    assert not is_connection_lost(out[0])
    assert watch.banner == []
    # whereas a closed link is
    import psycopg2

    assert is_connection_lost(as_domain_error(psycopg2.OperationalError(
        "server closed the connection unexpectedly")))
