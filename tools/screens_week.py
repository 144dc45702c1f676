"""Render this week's new screens to PNGs, in English and Swedish, at 1400x900 (offscreen).

    python tools/screens_week.py [OUT_DIR]          (default: /tmp/itsmdesk-screens-week)

Run it from the checkout (``PYTHONPATH=$PWD``).  It builds the small demo as a hub in a
temporary folder, imports the HPSM fixtures (the "Imported" boxes), takes in the test mails
(unmatched mail, a ticket's Mail tab), subscribes people to a business service, makes a replica
for site OSL with conflicts (the same fields changed on both sides, then a sync), and opens the
real main window on the replica, signed in as the demo's head of IT.  For each language (a child
process each: Qt's language is chosen at start) it saves ``<screen>-en.png`` / ``<screen>-sv.png``:

status-bar (the replica label), conflicts (the dock with a conflict selected), sync-dialog
(before and after a real sync), mail-settings-imap / -smtp, unmatched-mail, ticket-mail-tab,
incident-imported / change-imported, backup-dialog, restore-dialog / restore-confirm,
calendar-conflicts, problems-candidates, service-subscribers.

``ITSMDESK_SCREENS_SCOPE=site=OSL`` makes the replica a scoped one (its status-bar line names
the scope).

Waiting is done with an event loop and a timer (``QTest.qWait`` holds the GIL in PySide and
starves the app's database threads).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
USER = "emma.haddad"  # the demo's head of IT: administrator, change manager
SERVICE = "E-mail and Calendar"


def _cli(url: str, *args: str, user: str = USER) -> str:
    env = dict(os.environ, ITSMDESK_USER=user, ITSMDESK_PASSWORD="demo")
    done = subprocess.run([sys.executable, "-m", "itsmdesk", "--db", url, *args], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        print(f"({' '.join(args)}: {done.stderr.strip()})", file=sys.stderr)
    return done.stdout


def prepare(work: Path) -> dict[str, Any]:
    """The hub and its replica; returns the ids the shots open (written to ``plan.json``)."""
    hub_url = f"sqlite:///{work / 'hub.db'}"
    _cli(hub_url, "init")
    _cli(hub_url, "demo", "--size", "small")
    fixtures = ROOT / "tests" / "fixtures"
    _cli(hub_url, "import", "incidents", str(fixtures / "hpsm" / "incidents.csv"),
         "--map", "hpsm-incidents", "--quiet")
    _cli(hub_url, "import", "changes", str(fixtures / "hpsm" / "changes.csv"),
         "--map", "hpsm-changes", "--quiet")
    _cli(hub_url, "mail", "import", *sorted(str(p) for p in (fixtures / "mail").glob("*.eml")),
         user="maja.holm")  # (an agent's work)
    for person in ("maja.holm", "lena.haddad", "henrik.nilsson"):
        _cli(hub_url, "mail", "subscribe", SERVICE, person, user="johan.muller")
    replica = work / "r.db"
    scope = os.environ.get("ITSMDESK_SCREENS_SCOPE")  # e.g. "site=OSL": a scoped replica
    _cli(hub_url, "replica", "create", "--from", hub_url, "--site", "OSL", str(replica),
         *(["--scope", scope] if scope else []))
    return _conflicts_and_ids(hub_url, f"sqlite:///{replica}")


def _on(database, site: str = ""):  # noqa: ANN001, ANN202 - a peewee database
    from itsmdesk.services.sync.link import bound

    return bound(database, site)


def _conflicts_and_ids(hub_url: str, replica_url: str) -> dict[str, Any]:
    from itsmdesk.models.change import Change
    from itsmdesk.models.cmdb import CI
    from itsmdesk.models.incident import Incident
    from itsmdesk.models.mail import MailMessage
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.services.session import open_database
    from itsmdesk.services.sync import engine
    from itsmdesk.services.sync.link import open_unbound

    replica, _info = open_database(replica_url)
    hub, _hub_info = open_unbound(hub_url)
    with _on(replica):
        open_ones = list(Incident.select().where(Incident.external_key.is_null(True))
                         .order_by(Incident.id).limit(3))
        plan: dict[str, Any] = {
            "imported_incident": _first_id(Incident.select().where(
                Incident.external_key.is_null(False)).order_by(Incident.id)),
            "imported_change": _first_id(Change.select().where(
                Change.external_key.is_null(False)).order_by(Change.id)),
            "mail_incident": _mail_ticket(MailMessage),
            "service": _first_id(CI.select().where(CI.name == SERVICE)),
        }
    texts = [("Oslo: the printer on floor 2 jams on every duplex job since the toner was "
              "changed; the user tried another tray.\nSecond line of the Oslo note.",
              "Hub: drum unit replaced by the vendor, waiting for the user to confirm."),
             ("Oslo office: VPN drops every 20 minutes", "VPN drops (all sites)"),
             ("", "Hub side only")]
    for incident, (oslo, there) in zip(open_ones, texts, strict=False):
        field = "description" if incident is open_ones[0] or not oslo else "title"
        with _on(replica, "OSL"):
            incidents.update_incident(incident.id, None, {field: oslo or None})
        with _on(hub):
            incidents.update_incident(incident.id, None, {field: there})
    report = engine.sync_with(replica, hub)
    plan["conflicts"] = len(report.conflicts)
    with _on(replica, "OSL"):  # one more local change waiting: the sync dialog has work to do
        incidents.update_incident(open_ones[-1].id, None, {"title": "Oslo: after the sync"})
    hub.close()
    replica.close()
    plan["replica_url"] = replica_url
    return plan


def _first_id(query) -> Any:  # noqa: ANN001, ANN401
    row = query.first()
    return row.id if row is not None else None


def _mail_ticket(model) -> Any:  # noqa: ANN001, ANN401
    """An incident with the most mail rows (the Mail tab with something in it)."""
    best: dict[Any, int] = {}
    for row in model.select():
        key = row.ticket_id
        if key is not None:
            best[key] = best.get(key, 0) + 1
    return max(best, key=best.get) if best else None


# -- the shots -----------------------------------------------------------------------------------

def shoot(out: Path, lang: str, work: Path) -> None:
    os.environ["QT_QPA_PLATFORM"] = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    if lang != "en":
        os.environ["ITSMDESK_LANG"] = lang
    os.environ["XDG_DATA_HOME"] = str(work / f"data-{lang}")
    os.environ["XDG_CONFIG_HOME"] = str(work / f"config-{lang}")
    os.environ["ITSMDESK_USER"] = USER
    os.environ["ITSMDESK_PASSWORD"] = "demo"
    plan = json.loads((work / "plan.json").read_text())

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QGroupBox, QMessageBox, QScrollArea

    from itsmdesk.app import make_application, start

    app = make_application()
    suffix = "en" if lang == "en" else lang.split("_")[0]

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def save(widget, name: str) -> None:  # noqa: ANN001
        path = out / f"{name}-{suffix}.png"
        widget.grab().save(str(path))
        print(path)

    settings = QSettings(str(work / f"settings-{lang}.ini"), QSettings.Format.IniFormat)
    ctx, window = start(plan["replica_url"], settings=settings, sign_in=True)
    window.resize(1400, 900)
    for _ in range(300):
        wait(100)
        queue = window.panels.get("queuesDock")
        if queue is not None and queue.model.rowCount() > 0:
            break
    wait(1500)

    def dock(name: str):  # noqa: ANN202
        window.docks[name].show()
        window.docks[name].raise_()
        wait(1500)
        return window.panel(name)

    # the replica label in the status bar, and the conflicts dock with its first row selected
    conflicts = dock("conflictsDock")
    if conflicts.table.rowCount():
        conflicts.table.selectRow(0)
    wait(800)
    save(window, "conflicts")
    save(window.statusBar(), "status-bar")
    window.docks["conflictsDock"].hide()

    from itsmdesk.views.conflicts.sync_dialog import SyncDialog

    sync = SyncDialog(ctx, window)
    sync.show()
    wait(300)
    save(sync, "sync-dialog-start")
    sync.start()
    for _ in range(600):  # the real sync process against the hub file
        wait(100)
        if sync.state is not None:
            break
    wait(1500)
    save(sync, "sync-dialog-done")
    sync.close()
    window.docks["conflictsDock"].hide()  # (it shows itself on a replica: room for the rest)

    from itsmdesk.views.mail.settings_dialog import MailSettingsDialog

    mail = MailSettingsDialog(ctx, window)
    mail.show()
    wait(1500)
    save(mail, "mail-settings-imap")
    mail.tabs.setCurrentIndex(1)
    wait(300)
    save(mail, "mail-settings-smtp")
    mail.reject()

    dock("mailDock")
    save(window, "unmatched-mail")
    window.docks["mailDock"].hide()

    def form(kind: str, key: str, name: str, tab_text: str | None = None) -> None:
        if plan.get(key) is None:
            print(f"(no record for {name})", file=sys.stderr)
            return
        opened = window.open_record(kind, plan[key])
        wait(2500)
        if tab_text is not None:
            tabs = getattr(opened, "tabs", None)
            for i in range(tabs.count() if tabs is not None else 0):
                if tabs.tabText(i).replace("&", "").startswith(tab_text):
                    tabs.setCurrentIndex(i)
            wait(1000)
        box = opened.findChild(QGroupBox, "importedBox")
        if box is not None and box.isVisible():  # the Imported box, scrolled into view
            for area in opened.findChildren(QScrollArea):
                if area.isAncestorOf(box):
                    area.ensureWidgetVisible(box)
            wait(300)
        save(window, name)
        window.close_tab(window.tabs.indexOf(opened))

    sv = lang != "en"
    form("incident", "mail_incident", "ticket-mail-tab", "E-post" if sv else "Mail")
    form("incident", "imported_incident", "incident-imported")
    form("change", "imported_change", "change-imported")
    form("ci", "service", "service-subscribers", "Prenumeranter" if sv else "Subscribers")

    # File > Back up now… and Restore from backup…: grab the modal dialog, then answer it
    def answer(name: str, then, kind: type = QDialog) -> None:  # noqa: ANN001
        def later() -> None:
            modal = QApplication.activeModalWidget()
            if not isinstance(modal, kind):
                QTimer.singleShot(200, later)
                return
            modal.resize(max(modal.width(), 900), max(modal.height(), 560)) \
                if isinstance(modal, QFileDialog) else None
            wait(500)
            save(modal, name)
            then(modal)
        QTimer.singleShot(800, later)

    answer("backup-dialog", lambda d: d.reject())
    window.backup_actions.back_up()
    wait(500)
    backup = work / "backup.db"
    _cli(plan["replica_url"], "backup", str(backup))

    answer("restore-dialog", lambda d: d.reject())
    window.backup_actions.restore()
    wait(500)
    # the confirmation: the file chosen (the file dialog pictured above), then Cancel
    QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (str(backup), ""))
    answer("restore-confirm", lambda box: box.done(QMessageBox.StandardButton.Cancel),
           QMessageBox)
    window.backup_actions.restore()
    wait(1000)

    calendar = dock("calendarDock")
    week = calendar.mode_box.findData("week")
    if week >= 0:
        calendar.mode_box.setCurrentIndex(week)
    wait(2500)
    save(window, "calendar-conflicts")
    save(calendar, "calendar-panel")
    window.docks["calendarDock"].hide()

    problems = dock("problemsDock")
    for i in range(problems.tabs.count()):
        if problems.tabs.widget(i).findChild(type(problems.candidate_limits), "candidateLimits"):
            problems.tabs.setCurrentIndex(i)
    wait(4000)
    save(window, "problems-candidates")
    print(f"window {window.width()}x{window.height()}", file=sys.stderr)
    window.close()
    app.quit()


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "/tmp/itsmdesk-screens-week").resolve()
    out.mkdir(parents=True, exist_ok=True)
    if len(argv) > 3:  # a child: one language
        shoot(out, argv[2], Path(argv[3]))
        return 0
    work = Path(tempfile.mkdtemp(prefix="itsmdesk-week-"))
    (work / "plan.json").write_text(json.dumps(prepare(work), default=str))
    for lang in ("en", "sv_SE"):
        subprocess.run([sys.executable, __file__, str(out), lang, str(work)], check=True)
    print(f"screens written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
