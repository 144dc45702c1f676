"""When the link to the shared database stops answering, the window does not freeze: a save in
progress says it is waiting and can be given up, the edits stay in the form, and nothing is
saved twice when the link comes back.

Real PostgreSQL behind the loopback latency proxy (bench/latency_proxy.py), real reader and
writer threads (not the synchronous operations of the other GUI tests).
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

pytestmark = pytest.mark.gui


class Heartbeat:
    """The longest gap between two ticks of a zero-interval timer: how long the GUI thread
    was busy with one thing."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.clock.start()
        self.last = 0
        self.longest = 0
        self.timer = QTimer()
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def reset(self) -> None:
        self.last = self.clock.elapsed()
        self.longest = 0


def _through_proxy(url: str, port: int) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{auth}127.0.0.1:{port}", parts.path, "", ""))


@pytest.fixture
def stalled_setup(qapp, pg_url):
    from bench.latency_proxy import LatencyProxy
    from itsmdesk.services.problem import problems
    from tests.conftest import _empty_pg, open_test_db

    database, _info = open_test_db(pg_url)
    _empty_pg(database)
    ke = problems.create_known_error({"title": "VPN drops", "workaround": "Reconnect"})
    database.close()
    proxy = LatencyProxy("127.0.0.1", 5432, rtt_ms=10).start()
    from itsmdesk.models.database import connect

    database, info = connect(_through_proxy(pg_url, proxy.port))
    try:
        yield proxy, info, ke
    finally:
        proxy.resume()
        proxy.stop()
        database.close()


def _wait(qtbot, predicate, timeout_ms=10_000) -> None:
    qtbot.waitUntil(predicate, timeout=timeout_ms)


def test_a_save_on_a_stalled_link_waits_without_freezing_and_can_be_given_up(stalled_setup, qtbot):
    from itsmdesk.services.problem import problems
    from itsmdesk.views.context import AppContext
    from itsmdesk.views.problems.known_error_form import KnownErrorForm

    proxy, info, ke = stalled_setup
    ctx = AppContext(info, synchronous=False)  # real threads
    form = KnownErrorForm(ctx, ke.id)
    qtbot.addWidget(form)
    form.show()
    _wait(qtbot, lambda: form.loaded)
    assert form.workaround.toPlainText() == "Reconnect"

    form.workaround.setPlainText("Reconnect, then restart the client")
    beat = Heartbeat()
    proxy.stall()
    beat.reset()
    started = time.perf_counter()
    form.save()
    _wait(qtbot, form.stop_button.isVisible, 8000)  # offered after a few seconds
    assert time.perf_counter() - started < 6
    assert "Waiting for the database" in form.message.text()
    assert beat.longest < 250, f"the window froze for {beat.longest} ms"
    assert not form.save_button.isEnabled()

    form.stop_waiting()
    assert form.save_button.isEnabled() and form.dirty
    assert form.workaround.toPlainText() == "Reconnect, then restart the client"
    assert beat.longest < 250

    # the link comes back: the save that was on its way arrives once, and only once; the form
    # recognises it as its own and is clean again at the new version
    proxy.resume()
    _wait(qtbot, lambda: not form.dirty and form.data.version == 2, 15000)
    assert "did reach the database" in form.message.text()
    assert not form.banner.isVisible()
    _wait(qtbot, lambda: ctx.ops.idle(), 15000)
    ctx.ops.stop()
    from itsmdesk.models.database import connect

    database, _ = connect(info.url)
    view = problems.known_error_view(ke.id)
    assert view.workaround == "Reconnect, then restart the client" and view.version == 2
    database.close()
