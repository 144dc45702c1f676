"""Retake the README's screenshots from the app as installed.

    python tools/screenshots.py [OUT_DIR]          (default: docs/)

Run it with the interpreter of an installed itsmdesk, from outside the checkout, so what is
pictured is what ``pip install .`` gives (tools/screenshots.sh does exactly that: it builds the
wheel, installs it in a fresh virtual environment and runs this file there).  It builds the small
demo in a temporary folder, opens the real main window offscreen at 1400x900, and saves:

- ``screenshot-main.png``: the ticket queue with an incident open (English);
- ``screenshot-main-sv.png``: the same in Swedish;
- ``screenshot-calendar.png``: the change calendar's week with the conflicts list;
- ``screenshot-cab.png``: a CAB meeting with its agenda.

Waiting is done with an event loop and a timer (``QTest.qWait`` holds the GIL in PySide and
starves the app's database threads).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _shoot(out: Path, lang: str) -> None:
    os.environ["QT_QPA_PLATFORM"] = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    if lang != "en":
        os.environ["ITSMDESK_LANG"] = lang
    work = Path(tempfile.mkdtemp(prefix="itsmdesk-shots-"))
    os.environ["XDG_DATA_HOME"] = str(work / "data")
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")

    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    import itsmdesk
    from itsmdesk.app import make_application, start

    print(f"itsmdesk from {Path(itsmdesk.__file__).parent}", file=sys.stderr)
    app = make_application()

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    url = f"sqlite:///{work / 'demo.db'}"
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    _sign_in_as_analyst(url, settings)
    ctx, window = start(url, demo=True, settings=settings, sign_in=True)
    window.resize(1400, 900)
    queue = None
    for _ in range(600):  # the demo is built on the writer thread: up to a minute
        wait(100)
        queue = window.panels.get("queuesDock")
        if queue is not None and queue.model.rowCount() > 0:
            break
    wait(1500)
    suffix = "" if lang == "en" else f"-{lang.split('_')[0]}"
    team = [i for i in range(queue.queue_list.count())
            if queue.queue_list.item(i).text().startswith(("My team", "Mitt team"))]
    if team:  # the analyst's team queue: a morning's work, not just their own three tickets
        queue.queue_list.setCurrentRow(team[0])
        wait(1500)
    pick = _most_urgent(queue.model)
    queue.table.selectRow(pick)
    window.open_record("incident", queue.model.row_at(pick).id)
    wait(2000)
    window.grab().save(str(out / f"screenshot-main{suffix}.png"))
    if lang == "en":
        calendar = window.docks["calendarDock"]
        calendar.show()
        calendar.raise_()
        wait(1500)
        panel = window.panel("calendarDock")
        week = panel.mode_box.findData("week")
        if week >= 0:  # the week: long changes as a band over the days, the rest stacked below
            panel.mode_box.setCurrentIndex(week)
        wait(2000)
        window.grab().save(str(out / "screenshot-calendar.png"))
        calendar.hide()
        changes = window.panel("changesDock")
        window.docks["changesDock"].raise_()
        wait(1500)
        changes.tabs.setCurrentIndex(1)  # CAB meetings
        wait(500)
        meetings = changes.meetings
        planned = [r for r in range(meetings.rowCount()) if meetings.item(r, 2).text() == "planned"]
        if meetings.rowCount():
            row = planned[0] if planned else 0  # the next meeting: what the CAB will vote on
            form = window.open_record("cab_meeting", meetings.item(row, 0).data(0x0100))  # UserRole
            wait(2500)
            form.tabs.setCurrentIndex(2)  # Agenda and votes
            wait(1000)
        window.grab().save(str(out / "screenshot-cab.png"))
    window.close()
    app.quit()


def _sign_in_as_analyst(url: str, settings) -> None:  # noqa: ANN001 - QSettings
    """Build the demo first and sit at a service desk analyst's desk (so "My open" and "My
    team" count something): the person the app restores at start."""
    from itsmdesk import config
    from itsmdesk.demo import builder
    from itsmdesk.models import Person
    from itsmdesk.services.session import open_database

    database, _info = open_database(url)
    builder.generate("small", 42)
    person = (Person.select().where(Person.job_title == "Service desk analyst")
              .order_by(Person.name).first())
    if person is not None:
        settings.setValue(config.PERSON_ID.key, str(person.id))
        settings.setValue(config.PERSON_NAME.key, person.name)
        if getattr(person, "login", None):
            os.environ.setdefault("ITSMDESK_USER", person.login)
            os.environ.setdefault("ITSMDESK_PASSWORD", "demo")
    settings.sync()
    database.close()


def _most_urgent(model) -> int:  # noqa: ANN001 - the queue's table model
    """The row of the first ticket with the highest priority among the first rows shown."""
    best, best_row = 9, 0
    for r in range(min(model.rowCount(), 40)):
        row = model.row_at(r)
        priority = (row.values or {}).get("priority") if row is not None else None
        if isinstance(priority, int) and priority < best:
            best, best_row = priority, r
    return best_row


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "docs").resolve()
    out.mkdir(parents=True, exist_ok=True)
    if len(argv) > 2:  # (a child process per language: Qt's language is chosen at start)
        _shoot(out, argv[2])
        return 0
    for lang in ("en", "sv_SE"):
        subprocess.run([sys.executable, __file__, str(out), lang], check=True)
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
