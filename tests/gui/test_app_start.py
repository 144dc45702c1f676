"""The desktop app starts with its window at once and opens the database on its writer thread:
nothing waits on the database before the window is there, and a database that cannot be opened
is said in a sentence."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_the_window_shows_before_the_database_is_open(qapp, qtbot, tmp_path, settings):
    from itsmdesk.app import start

    url = f"sqlite:///{tmp_path / 'new.db'}"
    ctx, window = start(url, demo=True, settings=settings)  # a new file: created, demo built
    qtbot.addWidget(window)
    try:
        assert window.isVisible()
        assert "Opening the database" in window.connection_label.text()  # not open yet
        qtbot.waitUntil(lambda: "Connected" in window.connection_label.text(), timeout=60_000)
        panel = window.panel("queuesDock")
        qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=30_000)
        assert "Connected" in window.connection_label.text()
        assert (tmp_path / "new.db").exists()
    finally:
        window.close()


def test_a_database_that_cannot_be_opened_is_said_in_a_sentence(qapp, qtbot, tmp_path, settings):
    from itsmdesk.app import start

    bad = tmp_path / "not-a-database.db"
    bad.write_bytes(b"this is not SQLite" * 100)
    ctx, window = start(f"sqlite:///{bad}", settings=settings)
    qtbot.addWidget(window)
    failed = []
    ctx.sig_database_failed.connect(failed.append)
    try:
        qtbot.waitUntil(lambda: bool(failed), timeout=15_000)
        assert "is not an itsmdesk database or is corrupt" in str(failed[0])
        assert "Disconnected" in window.connection_label.text()
        assert bad.read_bytes().startswith(b"this is not SQLite")  # left untouched
    finally:
        window.close()



def test_panels_are_built_after_the_first_paint_and_a_hidden_one_reads_nothing(
        qapp, qtbot, tmp_path, settings):
    """The window paints first; then the queue's panel, then the others one per turn.
    A dock stacked behind another tab builds its panel but reads nothing until it is raised;
    a panel asked for by name is built at once."""
    from itsmdesk.app import start

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    ctx, window = start(url, demo=True, settings=settings)
    qtbot.addWidget(window)
    try:
        assert window.panels == {}  # every panel waits for the window's first paint
        assert window.panels_waiting() == len(window.docks)
        assert window.menus["Records"].actions()  # the menus are there already
        assert window.panel("announcementsDock") is window.panels["announcementsDock"]  # asked
        qtbot.waitUntil(lambda: window.panels_waiting() == 0, timeout=10_000)
        assert set(window.panels) == set(window.docks)
        assert all(window.docks[name].widget() is panel for name, panel in window.panels.items())
        qtbot.waitUntil(lambda: window.panels["queuesDock"].model.rowCount() > 0, timeout=60_000)
        changes = window.panels["changesDock"]  # behind the CMDB and queue tabs
        assert window.docks["changesDock"].visibleRegion().isEmpty()
        assert changes.lazy.pending and changes.changes.rowCount() == 0  # nothing read
        window.docks["changesDock"].raise_()
        qtbot.waitUntil(lambda: changes.changes.rowCount() > 0, timeout=10_000)
        assert not changes.lazy.pending
    finally:
        window.close()


def test_a_big_form_is_built_in_steps_then_shown_then_filled(qapp, qtbot, tmp_path, settings):
    """The incident form is built a part per turn of the event loop; its tab appears once it is
    whole, and its data (asked for at once) is shown after that."""
    from itsmdesk.app import start

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    ctx, window = start(url, demo=True, settings=settings)
    qtbot.addWidget(window)
    try:
        queue = window.panel("queuesDock")
        qtbot.waitUntil(lambda: queue.model.rowCount() > 0, timeout=60_000)
        qtbot.waitUntil(lambda: queue.model.row_at(0) is not None, timeout=10_000)
        record_id = queue.model.row_at(0).id
        tabs_before = window.tabs.count()
        form = window.open_record("incident", record_id)
        assert form.building and not hasattr(form, "side")  # the first part only
        assert window.tabs.count() == tabs_before  # no tab for half a form
        order = []
        form.sig_loaded.connect(lambda: order.append(("loaded", window.tabs.indexOf(form) >= 0)))
        qtbot.waitUntil(lambda: form.loaded, timeout=10_000)
        assert not form.building and window.tabs.indexOf(form) >= 0
        assert order == [("loaded", True)]  # filled after its tab was there
        assert form.title_edit.text() and form.title() == form.data.ref
    finally:
        window.close()


def test_exit_when_ready_proves_the_window_starts(tmp_path):
    """ITSMDESK_EXIT_WHEN_READY (the bundle's smoke test uses it): the real app starts, shows
    the demo's queue and quits with 0 by itself."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("ITSMDESK_DB", "ITSMDESK_LANG")}
    env.update(PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen", ITSMDESK_EXIT_WHEN_READY="1",
               ITSMDESK_USER="henrik.nilsson", ITSMDESK_PASSWORD="demo",  # (the demo's agent)
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = subprocess.run([sys.executable, "-m", "itsmdesk", "--demo"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("itsmdesk: ready: the window shows ")
    assert "for Henrik Nilsson" in done.stdout, done.stdout
    assert (tmp_path / "data" / "itsmdesk" / "demo.db").exists()
