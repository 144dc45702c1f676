"""The main window: docks from :mod:`itsmdesk.views.panels`, record forms as tabs in the centre,
a View menu listing every panel, layout saved with a version and restored with a fallback."""

from __future__ import annotations

import importlib
import re
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QStyleOptionTab,
    QTabBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk import __version__, config
from itsmdesk.kinds import Kind
from itsmdesk.views import gui_gc
from itsmdesk.views.context import AppContext
from itsmdesk.views.messages import error_text, show_error
from itsmdesk.views.panels import FORMS, MENU_MODULES, PANELS, PanelSpec

LAYOUT_VERSION = 2
FIRST_PANEL = "queuesDock"
"""The panel built first after the window's first paint: the queue is what a person came for.
The others follow one per turn (visible ones first)."""


def _import_optional(module_name: str):
    """The module, or None when it does not exist yet (other import errors propagate)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise


class Placeholder(QWidget):
    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setStyleSheet("color: palette(mid); font-size: 13px;")
        layout.addWidget(label)


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, settings: QSettings | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = settings or QSettings()
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("itsmdesk — {db}").format(db=ctx.info.display))
        self.resize(1400, 900)
        self.setAcceptDrops(True)  # .eml/.msg files (dropEvent)
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}
        self._unbuilt: dict[str, PanelSpec] = {}  # docks whose panel is built after the first paint
        self._build_scheduled = False
        self._build_first: str | None = None
        self.menus: dict[str, QMenu] = {}

        self.tabs = QTabWidget()
        self.tabs.setTabBar(RecordTabBar(self.tabs))  # (before any other tab setting)
        self.tabs.setObjectName("recordTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.setMovable(True)
        # many open records must not widen the window: long titles elide, extra tabs scroll
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        # one banner above the tabs for a lost database connection (not a dialog per action)
        self.connection_banner = QLabel()
        self.connection_banner.setObjectName("connectionBanner")
        self.connection_banner.setWordWrap(True)
        self.connection_banner.hide()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.connection_banner)
        central_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._welcome()

        self._restore_actor()  # before the docks: the queues open on this person's work
        self._build_menus()
        self._build_docks()
        self._build_status_bar()
        ctx.sig_open_record.connect(self.open_record)
        ctx.sig_status.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self._default_state: QByteArray | None = None
        self._arranged = False
        self._closing = False
        self._opening: dict[str, QWidget] = {}  # forms built, their tabs added next turn

    # -- construction --------------------------------------------------------------------------
    def _menu(self, key: str) -> QMenu:
        return self.menus[key]

    def _build_menus(self) -> None:
        bar = self.menuBar()
        titles = {"File": self.tr("&File"), "Records": self.tr("&Records"),
                  "View": self.tr("&View"), "Reports": self.tr("Re&ports"),
                  "Tools": self.tr("&Tools"), "Help": self.tr("&Help")}
        for key, title in titles.items():
            self.menus[key] = bar.addMenu(title)
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.menus["File"].addAction(quit_action)
        self.quick_open_action = QAction(self.tr("&Quick open…"), self)
        self.quick_open_action.setShortcut(QKeySequence("Ctrl+K"))
        self.quick_open_action.triggered.connect(self.quick_open)
        self.menus["File"].insertAction(quit_action, self.quick_open_action)
        self.connect_action = QAction(self.tr("&Connect to shared database…"), self)
        self.connect_action.setObjectName("connectSharedDatabase")
        self.connect_action.triggered.connect(self.connect_shared)
        self.menus["File"].insertAction(quit_action, self.connect_action)
        self.menus["File"].insertSeparator(quit_action)
        from itsmdesk.views.dialogs.backup_actions import BackupActions

        self.backup_actions = BackupActions(self, self.ctx, self.menus["File"], quit_action)
        self.menus["File"].insertSeparator(quit_action)
        self.close_tab_action = QAction(self.tr("Close tab"), self)
        self.close_tab_action.setShortcut(QKeySequence("Ctrl+W"))
        self.close_tab_action.triggered.connect(lambda: self.close_tab(self.tabs.currentIndex()))
        self.addAction(self.close_tab_action)
        about = QAction(self.tr("&About itsmdesk"), self)
        about.triggered.connect(self._about)
        self.menus["Help"].addAction(about)

    def _build_docks(self) -> None:
        view = self.menus["View"]
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        for spec in PANELS:
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(spec.object_name)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.docks[spec.object_name] = dock
            if self.ctx.ops.synchronous:
                dock.setWidget(self._create_panel(spec))
            else:
                # The panel is built after the window's first paint (_build_next_panel), the
                # queue first: ten panels and their first layout in one turn held the window
                # 80 ms at start-up.
                dock.setWidget(QWidget())
                self._unbuilt[spec.object_name] = spec
                self._add_menu_actions(_import_optional(spec.module))
                dock.visibilityChanged.connect(
                    lambda visible, name=spec.object_name: visible and self._build_soon(name))
            toggle = dock.toggleViewAction()
            if spec.shortcut:
                toggle.setShortcut(QKeySequence(spec.shortcut))
            view.addAction(toggle)
        # Docks that share an area are stacked as tabs (see _arrange_default) once the window is
        # shown: tabifying before the first show leaves stale duplicate tab bars behind (Qt 6).
        by_area: dict[Any, list[QDockWidget]] = {}
        for spec in PANELS:
            by_area.setdefault(spec.area, []).append(self.docks[spec.object_name])
        for area, docks in by_area.items():
            for dock in docks:
                self.addDockWidget(area, dock)
                if dock is not docks[0]:
                    dock.hide()  # side by side until stacked, they would widen the window
        self._by_area = by_area
        for module_name in MENU_MODULES:
            module = _import_optional(module_name)
            if module is not None:
                for menu_key, action in module.menu_actions(self.ctx, self):
                    self.menus.get(menu_key, self.menus["Tools"]).addAction(action)
        view.addSeparator()
        reset = QAction(self.tr("Reset layout"), self)
        reset.setShortcut(QKeySequence("Ctrl+Shift+R"))
        reset.triggered.connect(self.reset_layout)
        view.addAction(reset)

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().showEvent(event)
        if not self._arranged:
            self.arrange()
            self._import_forms_ahead()
            if self._unbuilt:
                self._build_soon()

    def _import_forms_ahead(self) -> None:
        """Import the record forms' modules on a background thread once the window is up, so
        the first form a person opens does not stop the window for the import (defining
        classes is all they do when imported)."""
        import threading

        if self.ctx.ops.synchronous:
            return

        def run() -> None:
            for module_name in sorted(set(FORMS.values())):
                try:
                    importlib.import_module(module_name)
                except Exception:  # noqa: BLE001 - the form says why when it is opened
                    pass

        gui_gc.install()  # (a thread that allocates: cycles are collected on this one)
        threading.Thread(target=run, name="itsmdesk-import-forms", daemon=True).start()

    def arrange(self) -> None:
        """Stack each area's docks as tabs, size them, remember that as the default layout,
        then restore the saved layout (if any)."""
        self._arranged = True
        for docks in self._by_area.values():
            for other in docks[1:]:
                self.tabifyDockWidget(docks[0], other)
                other.show()
            docks[0].raise_()
        # The bottom panels (change calendar, dashboards) need more room than a 1400x900 window
        # leaves beside a ticket form: they start closed; the View menu (Alt+3/7/8) opens them.
        for dock in self._by_area.get(Qt.DockWidgetArea.BottomDockWidgetArea, []):
            dock.hide()
        self._size_docks(self._by_area)
        self._default_state = self.saveState(LAYOUT_VERSION)
        self.restore_layout()
        for panel in list(self.panels.values()):  # (a dock that shows itself when needed)
            if hasattr(panel, "apply_visibility"):
                panel.apply_visibility()

    def _size_docks(self, by_area: dict[Any, list[QDockWidget]]) -> None:
        """Default proportions: queues wide on the left (640 px at 1400, 45 % of a wider
        window: at 1920 the queue shows a column more), the record in the centre, announcements
        narrow on the right, calendar and dashboards short at the bottom."""
        width = self.width()
        sizes = {Qt.DockWidgetArea.LeftDockWidgetArea: (max(640, round(width * 0.45)),
                                                        Qt.Orientation.Horizontal),
                 Qt.DockWidgetArea.RightDockWidgetArea: (max(240, round(width * 0.12)),
                                                         Qt.Orientation.Horizontal),
                 Qt.DockWidgetArea.BottomDockWidgetArea: (250, Qt.Orientation.Vertical)}
        for area, (size, orientation) in sizes.items():
            docks = by_area.get(area)
            if docks:
                self.resizeDocks([docks[0]], [size], orientation)

    def _create_panel(self, spec: PanelSpec, menus: bool = True) -> QWidget:
        module = _import_optional(spec.module)
        if module is None:
            return Placeholder(self.tr("{title} arrives in a later version.").format(title=spec.title))
        widget = module.create_panel(self.ctx, self)
        self.panels[spec.object_name] = widget
        if menus:
            self._add_menu_actions(module)
        return widget

    def _add_menu_actions(self, module: Any) -> None:  # noqa: ANN401 - a panel module
        if module is not None and hasattr(module, "menu_actions"):
            for menu_key, action in module.menu_actions(self.ctx, self):
                self.menus.get(menu_key, self.menus["Tools"]).addAction(action)

    # -- panels built after the first paint -------------------------------------------------------
    def panel(self, object_name: str) -> QWidget | None:
        """The panel of a dock, built now if it was still waiting its turn."""
        if object_name in self._unbuilt:
            self._build_panel(object_name)
        return self.panels.get(object_name)

    def panels_waiting(self) -> int:
        """How many docks' panels are still to be built (the benchmark's "idle" waits for 0)."""
        return len(self._unbuilt)

    def _build_soon(self, object_name: str | None = None) -> None:
        """Build one waiting panel on a 1 ms timer (a 0 ms single shot runs in the same pass,
        before the window repaints): ``object_name`` first when given, else the next visible
        one, else the next in order; each one schedules the next."""
        if object_name is not None and object_name not in self._unbuilt:
            return
        if self._build_scheduled:
            if object_name is not None:
                self._build_first = object_name
            return
        self._build_scheduled = True
        self._build_first = object_name
        QTimer.singleShot(1, self, self._build_next_panel)

    def _build_next_panel(self) -> None:
        self._build_scheduled = False
        if not self._unbuilt:
            return
        name = self._build_first if self._build_first in self._unbuilt else None
        if name is None and FIRST_PANEL in self._unbuilt:
            name = FIRST_PANEL
        if name is None:
            shown = [n for n in self._unbuilt
                     if self.docks[n].isVisible() and not self.docks[n].visibleRegion().isEmpty()]
            name = shown[0] if shown else next(iter(self._unbuilt))
        self._build_panel(name)
        if self._unbuilt:
            self._build_soon()

    def _build_panel(self, object_name: str) -> None:
        spec = self._unbuilt.pop(object_name)
        old = self.docks[object_name].widget()
        self.docks[object_name].setWidget(self._create_panel(spec, menus=False))
        if old is not None:
            old.deleteLater()

    def _build_status_bar(self) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QToolButton

        bar = self.statusBar()
        kind = self.tr("SQLite file") if self.ctx.info.backend == "sqlite" else self.tr("PostgreSQL")
        self.db_label = QLabel(f"{kind}: {self.ctx.info.display}")
        self.db_label.setObjectName("dbLabel")
        self.person_button = QToolButton()
        self.person_button.setObjectName("personButton")
        self.person_button.setAutoRaise(True)
        self.person_button.setToolTip(self.tr("Who works at this desk (Ctrl+Shift+P)"))
        self.person_button.clicked.connect(self._pick_person)
        self.person_label = self.person_button  # kept for older callers
        self.notes_button = QToolButton()
        self.notes_button.setObjectName("notificationsButton")
        self.notes_button.setAutoRaise(True)
        self.notes_button.clicked.connect(self._show_notifications)
        self.notes_button.hide()
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connectionLabel")
        from itsmdesk.views.conflicts.replica_label import ReplicaLabel

        self.replica_label = ReplicaLabel(self.ctx, self)  # (shown on a replica only)
        bar.addPermanentWidget(self.replica_label)
        bar.addPermanentWidget(self.notes_button)
        bar.addPermanentWidget(self.person_button)
        bar.addPermanentWidget(self.db_label)
        bar.addPermanentWidget(self.connection_label)
        self.ctx.sig_actor_changed.connect(self._show_actor)
        self.ctx.sig_actor_changed.connect(self._remember_actor)
        self.ctx.sig_changes.connect(
            lambda changes: self._maybe_notes() if changes.touches(Kind.INCIDENT, Kind.NOTIFICATION)
            else None)
        self.ctx.sig_database_error.connect(lambda text: self.set_connected(False, text))
        self.ctx.sig_database_open.connect(lambda: self.set_connected(True))
        self.ctx.sig_connection.connect(self._connection_changed)
        self._banner_timer = QTimer(self, singleShot=True, interval=4000)
        self._banner_timer.timeout.connect(self.connection_banner.hide)
        self.ctx.sig_database_failed.connect(
            lambda error: self.set_connected(False, error_text(error)))
        self.ctx.ops.sig_write_started.connect(self._write_started)
        self.ctx.ops.sig_write_finished.connect(self._write_finished)
        self.saving_label = QLabel()
        self.saving_label.setObjectName("savingLabel")
        bar.addPermanentWidget(self.saving_label)
        self._writes_in_flight = 0
        self._saving_timer = QTimer(self, singleShot=True, interval=300)
        self._saving_timer.timeout.connect(self._show_saving)
        self._show_actor()
        if self.ctx.ops.ready.is_set():
            self.set_connected(True)
        else:  # the database is still being opened on the writer thread
            self.connection_label.setText("● " + self.tr("Opening the database…"))
            self.connection_label.setStyleSheet("color: #ef6c00;")
        # Every minute: is the database there, and which tickets reached their escalation point.
        self._minute = QTimer(self)
        self._minute.setInterval(60_000)
        self._minute.timeout.connect(self._each_minute)
        self._minute.start()
        # and once soon after start, so SLA flags and queue counts are current from the outset
        # (a child timer: it dies with the window, unlike a bare singleShot)
        self._first_tick = QTimer(self, singleShot=True, interval=1500)
        self._first_tick.timeout.connect(self._each_minute)
        self._first_tick.start()
        # the outbox: mail queued by writes is delivered after their commit (views/mail/sender.py)
        from itsmdesk.views.mail.sender import MailSender

        self.mail_sender = MailSender(self.ctx, self)

    def _write_started(self, _ticket) -> None:  # noqa: ANN001
        self._writes_in_flight += 1
        if not self._saving_timer.isActive() and not self.saving_label.text():
            self._saving_timer.start()

    def _write_finished(self, _ticket) -> None:  # noqa: ANN001
        self._writes_in_flight = max(0, self._writes_in_flight - 1)
        if self._writes_in_flight == 0:
            self._saving_timer.stop()
            self.saving_label.setText("")

    def _show_saving(self) -> None:
        """'Saving…' in the status bar when a write takes longer than a moment."""
        if self._writes_in_flight:
            self.saving_label.setText(self.tr("Saving…"))

    def set_connected(self, connected: bool, reason: str = "") -> None:
        self.connection_label.setText(("● " + self.tr("Connected")) if connected
                                      else ("● " + self.tr("Disconnected")))
        self.connection_label.setProperty("connected", connected)
        self.connection_label.setStyleSheet("color: #2e7d32;" if connected else "color: #c62828;")
        self.connection_label.setToolTip(reason)

    def _connection_changed(self, connected: bool, attempt: int) -> None:
        """The banner: lost (reconnecting, attempt n) or reconnected (hidden after a moment)."""
        self._banner_timer.stop()
        if connected:
            self.connection_banner.setText(self.tr("Reconnected"))
            self.connection_banner.setStyleSheet("background: #e8f5e9; color: #1b5e20; "
                                                 "padding: 6px;")
            self._banner_timer.start()
        else:
            self.connection_banner.setText(
                self.tr("Connection to the database lost — reconnecting (attempt {n})…"
                        ).format(n=attempt))
            self.connection_banner.setStyleSheet("background: #fdecea; color: #b71c1c; "
                                                 "padding: 6px; font-weight: bold;")
        self.connection_banner.show()
        self.set_connected(connected)

    def _each_minute(self) -> None:
        from itsmdesk.services.servicedesk import queues
        from itsmdesk.views.dialogs.actions import run_escalation

        self.ctx.query(queues.ping, on_done=lambda _r: self.set_connected(True),
                       on_error=lambda e: self.set_connected(False, str(e)), key="ping", owner=self)
        run_escalation(self.ctx, self)
        self._maybe_notes()

    def _pick_person(self) -> None:
        """The person menu: sign in (as) / sign out / change password / manage people."""
        from PySide6.QtWidgets import QMenu

        from itsmdesk.views import signin

        menu = QMenu(self)
        menu.setObjectName("personMenu")
        accounts_on = getattr(self.ctx, "accounts_enabled", False)
        if accounts_on:
            menu.addAction(self.tr("Sign in…"), lambda: signin.show_sign_in(self.ctx, self))
        else:
            from itsmdesk.views.dialogs.actions import sign_in_as

            menu.addAction(self.tr("Sign in as…"), lambda: sign_in_as(self.ctx, self))
        signed_in = self.ctx.actor.person_id is not None
        out = menu.addAction(self.tr("Sign out"), self._sign_out)
        out.setEnabled(signed_in)
        change = menu.addAction(self.tr("Change password…"), self._change_password)
        change.setEnabled(signed_in and accounts_on)
        manage = menu.addAction(self.tr("Manage people…"), self._manage_people)
        manage.setObjectName("managePeople")
        if not (accounts_on and signin.may(self.ctx, "people.manage")):
            manage.setEnabled(False)
            manage.setToolTip(self.tr("Needs the role {role}").format(
                role=signin.role_name("administrator")))
        if not accounts_on:  # a database without accounts: its first administrator
            first = menu.addAction(self.tr("Create administrator account…"),
                                   lambda: signin.create_first_administrator(self.ctx, self))
            first.setObjectName("createAdministrator")
        menu.setToolTipsVisible(True)
        self.person_menu = menu
        menu.popup(self.person_button.mapToGlobal(self.person_button.rect().topLeft()))

    def connect_shared(self) -> None:
        from itsmdesk.views.signin.connect_dialog import connect_from_menu

        connect_from_menu(self)

    def _sign_out(self) -> None:
        from itsmdesk.services.context import ANONYMOUS, Actor

        accounts_on = getattr(self.ctx, "accounts_enabled", False)
        self.ctx.set_actor(ANONYMOUS if accounts_on else Actor(None, "system", self.ctx.site))
        if accounts_on:
            from itsmdesk.views import signin

            signin.show_sign_in(self.ctx, self)

    def _change_password(self) -> None:
        from PySide6.QtWidgets import QInputDialog, QLineEdit

        from itsmdesk.services import accounts

        old, ok = QInputDialog.getText(self, self.tr("Change password"), self.tr("Old password"),
                                       QLineEdit.EchoMode.Password)
        if not ok:
            return
        new, ok = QInputDialog.getText(self, self.tr("Change password"), self.tr("New password"),
                                       QLineEdit.EchoMode.Password)
        if not ok:
            return
        self.ctx.write(accounts.set_own_password, self.ctx.actor, old, new, owner=self,
                       on_done=lambda _r: self.ctx.sig_status.emit(self.tr("Password changed")))

    def _manage_people(self) -> None:
        from itsmdesk.views.signin.people_dialog import PeopleDialog

        dialog = PeopleDialog(self.ctx, self)
        self.people_dialog = dialog
        dialog.open()

    def _show_notifications(self) -> None:
        from itsmdesk.views.dialogs.actions import show_notifications

        show_notifications(self.ctx, self)

    def _maybe_notes(self, *_args: Any) -> None:
        """Count the signed-in person's unread notifications (after writes that may add some,
        each minute, on signing in)."""
        if self.ctx.actor.person_id is None:
            return
        from itsmdesk.services.servicedesk import escalation

        self.ctx.query(escalation.unread_count, self.ctx.actor.person_id,
                       on_done=self._show_notes_count, key="unread-notes", owner=self)

    def _show_notes_count(self, n: int) -> None:
        # the bell where a font can draw it, else words (no emoji font: a box and a number)
        template = self.tr("🔔 {n}") if _can_draw(self.notes_button.font(), 0x1F514) \
            else self.tr("{n} unread")
        self.notes_button.setText(template.format(n=n))
        self.notes_button.setToolTip(self.tr("{n} unread notifications (Ctrl+Shift+M)").format(n=n))
        self.notes_button.setVisible(n > 0)

    def _remember_actor(self) -> None:
        if self.ctx.actor.person_id is not None:
            self.settings.setValue(config.PERSON_ID.key, str(self.ctx.actor.person_id))
            self.settings.setValue(config.PERSON_NAME.key, self.ctx.actor.name)

    def _restore_actor(self) -> None:
        """Sign in again as the person who last worked at this desk, from this workstation's
        settings (no database read before the first queue rows); the person is checked in the
        background and signed out if no longer there."""
        person_id = self.settings.value(config.PERSON_ID.key)
        name = self.settings.value(config.PERSON_NAME.key)
        if not person_id or self.ctx.actor.person_id is not None:
            return
        import uuid

        from itsmdesk.services.accounts import restore_person as person_by_id
        from itsmdesk.services.context import Actor

        try:
            key = uuid.UUID(str(person_id))
        except ValueError:
            return
        if name:
            self.ctx.actor = Actor(key, str(name), self.ctx.site)

        def found(row) -> None:  # noqa: ANN001
            if row is None and self.ctx.actor.person_id == key:
                self.ctx.set_actor(Actor(None, "system", self.ctx.site))
            elif row is not None and (self.ctx.actor.person_id in (None, key)):
                self.ctx.set_actor(Actor(row[0], row[1], self.ctx.site, row[2]))

        self.ctx.query(person_by_id, key, on_done=found, on_error=lambda _e: None, owner=self)

    def _show_actor(self) -> None:
        self.person_button.setText(self.tr("Signed in: {name} ▾").format(name=self.ctx.actor.name))
        self._maybe_notes()

    def quick_open(self) -> None:
        from itsmdesk.views.quick_open import QuickOpen

        dialog = QuickOpen(self.ctx, self)
        self.quick_open_dialog = dialog
        dialog.open()

    def _welcome(self) -> None:
        if self.tabs.count() == 0:
            text = self.tr("<h2>itsmdesk {version}</h2><p>Open a queue on the left, or press "
                           "<b>Ctrl+K</b> to find any record by reference or words.</p>"
                           ).format(version=__version__)
            label = QLabel(text)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            label.setObjectName("welcome")
            self.tabs.addTab(label, self.tr("Welcome"))

    # -- records in tabs --------------------------------------------------------------------
    def open_record(self, kind: str, record_id: Any = None) -> QWidget | None:
        key = f"{kind}:{record_id}" if record_id is not None else None
        if key is not None:
            for i in range(self.tabs.count()):
                if self.tabs.widget(i).property("recordKey") == key:
                    self.tabs.setCurrentIndex(i)
                    return self.tabs.widget(i)
            if key in self._opening:
                return self._opening[key]
        module = _import_optional(FORMS.get(kind, ""))
        if module is None:
            self.statusBar().showMessage(self.tr("No form for {kind} yet").format(kind=kind), 4000)
            return None
        try:
            form = module.create_form(self.ctx, record_id, self, kind=kind)
        except Exception as exc:  # noqa: BLE001 - a form that cannot load says why
            show_error(self, exc)
            return None
        form.setProperty("recordKey", key)
        if hasattr(form, "sig_title_changed"):
            form.sig_title_changed.connect(lambda t, f=form: self._retitle(f, t))
        if hasattr(form, "sig_save_failed"):
            form.sig_save_failed.connect(self._stop_closing)
        if self.ctx.ops.synchronous:
            self._show_form(form, kind)
        else:
            # Building a form and laying out its tab are each several milliseconds of the GUI
            # thread: in two turns of the event loop neither holds up a frame.  A 1 ms timer,
            # not 0: Qt runs a 0 ms single shot as a posted event in the same pass as the build,
            # before the window can repaint.
            if key is not None:
                self._opening[key] = form
            if hasattr(form, "when_built"):  # (a form built in steps: once it is whole)
                form.when_built(lambda: self._show_form(form, kind, key))
            else:
                QTimer.singleShot(1, form, lambda: self._show_form(form, kind, key))
        return form

    def _show_form(self, form: QWidget, kind: str, key: str | None = None) -> None:
        self._opening.pop(key, None)
        if not _alive(form):
            return
        title = form.tab_title() if hasattr(form, "tab_title") else \
            form.title() if hasattr(form, "title") else kind
        index = self.tabs.addTab(form, _short(title))
        self.tabs.setTabToolTip(index, title)
        self.tabs.setCurrentIndex(index)

    def _retitle(self, form: QWidget, title: str) -> None:
        index = self.tabs.indexOf(form)
        if index >= 0:
            self.tabs.setTabText(index, _short(title))
            self.tabs.setTabToolTip(index, title)

    def close_tab(self, index: int) -> None:
        if index < 0:
            return
        widget = self.tabs.widget(index)
        if hasattr(widget, "can_close") and not widget.can_close():
            return
        self.tabs.removeTab(index)
        widget.deleteLater()

    def close_form(self, form: QWidget) -> None:
        """Remove a form's tab without asking (it saved and asked to close)."""
        index = self.tabs.indexOf(form)
        if index >= 0:
            self.tabs.removeTab(index)
            form.deleteLater()
        if self._closing and not self._dirty_forms():
            self.close()

    def _stop_closing(self) -> None:
        if self._closing:
            self._closing = False
            self.statusBar().showMessage(self.tr("Not closed: a record could not be saved."), 8000)

    def _dirty_forms(self) -> list[QWidget]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())
                if getattr(self.tabs.widget(i), "dirty", False)]

    def _confirm_close(self) -> bool:
        """May the window close?  Forms with unsaved edits: Save all (the window closes once
        every save went through) / Discard all / Cancel."""
        from PySide6.QtWidgets import QMessageBox

        dirty = self._dirty_forms()
        if not dirty:
            return True
        names = "\n".join(f"• {getattr(f, 'title', lambda: '')()}" for f in dirty[:12])
        answer = QMessageBox.question(
            self, self.tr("Unsaved changes"),
            self.tr("These records have unsaved changes:\n{names}\n\nSave them before closing?"
                    ).format(names=names),
            QMessageBox.StandardButton.SaveAll | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.SaveAll)
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.SaveAll:
            self._closing = True
            for form in dirty:
                if hasattr(form, "_close_after_save"):
                    form._close_after_save = True
                    form.save()
                elif hasattr(form, "can_close") and form.can_close():
                    self.close_form(form)
            self.statusBar().showMessage(self.tr("Saving before closing…"), 5000)
        return False

    # -- layout ------------------------------------------------------------------------------
    def restore_layout(self) -> None:
        if self.settings.value(config.LAYOUT_VERSION.key, 0, int) != LAYOUT_VERSION:
            return
        geometry = self.settings.value(config.LAYOUT_GEOMETRY.key)
        state = self.settings.value(config.LAYOUT_STATE.key)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not self.restoreState(state, LAYOUT_VERSION) \
                and self._default_state is not None:
            self.restoreState(self._default_state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        if not self._arranged:
            return
        self.settings.setValue(config.LAYOUT_VERSION.key, LAYOUT_VERSION)
        self.settings.setValue(config.LAYOUT_GEOMETRY.key, self.saveGeometry())
        self.settings.setValue(config.LAYOUT_STATE.key, self.saveState(LAYOUT_VERSION))

    def reset_layout(self) -> None:
        if self._default_state is None:
            self.arrange()
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.setFloating(False)
        self.settings.remove("layout")

    # -- mail files dropped on the window (issue 20): taken in by the unmatched mail dock --------
    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        from itsmdesk.views.mail.panel import mail_paths

        if event.mimeData().hasUrls() and mail_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        from itsmdesk.views.mail.panel import mail_paths

        paths = mail_paths(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        panel = self.panel("mailDock") if paths else None
        if panel is not None:
            event.acceptProposedAction()
            panel.import_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self._confirm_close():
            event.ignore()
            return
        self.save_layout()
        # the periodic work stops with the window (a closed window's minute tick would run on
        # stopped workers and show its error over nothing)
        from PySide6.QtCore import QTimer

        for timer in self.findChildren(QTimer):
            timer.stop()
        self.ctx.ops.stop()
        super().closeEvent(event)

    def _about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self, self.tr("About itsmdesk"),
                          self.tr("itsmdesk {version}\nIT Service Support on {db}").format(
                              version=__version__, db=self.ctx.info.display))


def _alive(widget: QWidget) -> bool:
    import shiboken6

    return shiboken6.isValid(widget)


TAB_TITLE_MAX = 36
UNSAVED = "•"
_REF = re.compile(r"[A-Z]{2,4}(?:-[A-Z0-9]{2,8})?-\d{3,}")
"""A record's reference at the start of its tab (INC-000102, KE-000007, INC-OSL-000001)."""


def _short(title: str) -> str:
    """A record tab's text: the reference and the start of the title (the whole is the tab's
    tooltip), so a long title does not take the width of three tabs.  The unsaved-edits mark
    goes first, where eliding cannot take it away; an "&" is shown, not taken as a shortcut."""
    mark = ""
    if title.endswith(" " + UNSAVED):
        mark, title = UNSAVED + " ", title[:-2].rstrip()
    room = TAB_TITLE_MAX - len(mark)
    if len(title) > room:
        title = title[:room - 1].rstrip() + "…"
    return (mark + title).replace("&", "&&")


TAB_KEPT_CHARS = 14


def _kept(text: str) -> str:
    """What a crowded tab must still show: the unsaved mark and the reference, or for a record
    without one ("New incident", a CI's name) its first characters."""
    mark = UNSAVED + " " if text.startswith(UNSAVED + " ") else ""
    found = _REF.match(text, len(mark))
    return mark + (found.group(0) if found else text[len(mark):len(mark) + TAB_KEPT_CHARS])


class RecordTabBar(QTabBar):
    """The record tabs: with many records open they narrow, the title elided from the right,
    but never below the width of the reference, so two tickets can always be told apart;
    beyond that the bar scrolls (its arrow buttons)."""

    def minimumTabSizeHint(self, index: int) -> QSize:  # noqa: N802 - Qt override
        size = super().minimumTabSizeHint(index)
        text = self.tabText(index)
        kept = _kept(text)
        if kept:
            full = self.tabSizeHint(index)
            metrics = self.fontMetrics()
            wanted = (full.width() - metrics.horizontalAdvance(text)
                      + metrics.horizontalAdvance(kept if kept == text else kept + " …") + 2)
            size.setWidth(min(full.width(), max(size.width(), wanted)))
        return size

    def shown_text(self, index: int) -> str:
        """The text the tab shows now (elided when the bar is crowded)."""
        option = QStyleOptionTab()
        self.initStyleOption(option, index)
        return option.text


def _can_draw(font, char: int) -> bool:  # noqa: ANN001 - a QFont
    """Whether ``font`` or an installed emoji font has a glyph for ``char``."""
    from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

    if QFontMetrics(font).inFontUcs4(char):
        return True
    return any(QFontMetrics(QFont(family)).inFontUcs4(char)
               for family in QFontDatabase.families() if "emoji" in family.lower())
