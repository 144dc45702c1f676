"""The announcements dock: current and upcoming outages, changes and notices; add, withdraw,
copy as text or HTML for an e-mail.

Reads run off the GUI thread; adding and withdrawing are writes whose Changes (kind
``announcement``) make every announcements dock read its list again."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.clock import utcnow
from itsmdesk.services.records import Changes
from itsmdesk.services.servicedesk import announcements
from itsmdesk.views.announcements.dialog import AnnouncementDialog
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.messages import show_error
from itsmdesk.views.timefmt import local_text


class AnnouncementsPanel(QWidget):
    def __init__(self, ctx, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.lazy = WhenShown(self, self._refresh_now)
        self.ctx = ctx
        self.setObjectName("announcementsPanel")
        self.list = QListWidget()
        self.list.setObjectName("announcementList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemActivated.connect(self._activate)
        buttons = QHBoxLayout()
        for text, tip, slot in ((QCoreApplication.translate("AnnouncementsPanel", "Add…"), QCoreApplication.translate("AnnouncementsPanel", "Add a manual announcement"), self.add),
                                (QCoreApplication.translate("AnnouncementsPanel", "Edit…"),
                                 QCoreApplication.translate("AnnouncementsPanel", "Edit the selected announcement (one made from a change opens the change)"),
                                 self.edit_selected),
                                (QCoreApplication.translate("AnnouncementsPanel", "Withdraw"), QCoreApplication.translate("AnnouncementsPanel", "Withdraw the selected announcement"),
                                 self.withdraw)):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        # One "Copy" button with a menu: five buttons side by side made the dock take a quarter
        # of a 1400 px window from the record in the centre.
        copy_menu = QMenu(self)
        for text, tip, how in ((QCoreApplication.translate("AnnouncementsPanel", "Copy text"),
                                QCoreApplication.translate("AnnouncementsPanel", "Copy all as plain text for an e-mail"), "text"),
                               (QCoreApplication.translate("AnnouncementsPanel", "Copy HTML"),
                                QCoreApplication.translate("AnnouncementsPanel", "Copy all as HTML for an e-mail"), "html")):
            action = copy_menu.addAction(text)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, h=how: self.copy(h))
        self.copy_button = QToolButton()
        self.copy_button.setObjectName("copyAnnouncements")
        self.copy_button.setText(QCoreApplication.translate("AnnouncementsPanel", "Copy"))
        self.copy_button.setToolTip(QCoreApplication.translate("AnnouncementsPanel", "Copy all as plain text for an e-mail"))
        self.copy_button.setMenu(copy_menu)
        self.copy_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.copy_button.clicked.connect(lambda: self.copy("text"))
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.list, 1)
        ctx.sig_changes.connect(self._changed)
        self.refresh()

    def now(self):  # noqa: ANN201
        return self.ctx.clock() if self.ctx.clock else utcnow()

    def refresh(self) -> None:
        """Read again now if the panel can be seen, else when it is next shown."""
        self.lazy.request()

    def _refresh_now(self) -> None:
        self.ctx.query(announcements.current, self.now(), on_done=self.show_items,
                       key=f"announcements-{id(self)}", owner=self)

    def show_items(self, items: list) -> None:
        self.list.clear()
        now = self.now()
        for a in items:
            when = local_text(a.starts_at) + " – " + (local_text(a.ends_at) if a.ends_at
                                                       else QCoreApplication.translate("AnnouncementsPanel", "until further notice"))
            state = QCoreApplication.translate("AnnouncementsPanel", "NOW") if a.starts_at <= now else QCoreApplication.translate("AnnouncementsPanel", "upcoming")
            text = f"{a.title}\n{state} · {when}"
            if a.services:
                text += "\n" + QCoreApplication.translate("AnnouncementsPanel", "Services: ") + a.service_names
            if a.audience == "it_staff" or a.site_name:
                who = (QCoreApplication.translate("AnnouncementsPanel", "IT staff")
                       if a.audience == "it_staff"
                       else QCoreApplication.translate("AnnouncementsPanel", "Everyone"))
                where = a.site_name or QCoreApplication.translate("AnnouncementsPanel", "every site")
                text += "\n" + QCoreApplication.translate("AnnouncementsPanel", "For: {who} at {where}").format(
                    who=who, where=where)
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, (a.id, a.version, a.source_ref))
            if a.starts_at <= now:
                item.setForeground(Qt.GlobalColor.darkRed)
            if a.body:
                item.setToolTip(a.body)
            self.list.addItem(item)
        if not items:
            self.list.addItem(QCoreApplication.translate("AnnouncementsPanel", "No current announcements."))

    def _changed(self, changes: Changes) -> None:
        if changes.touches(Kind.ANNOUNCEMENT, Kind.CHANGE):
            self.refresh()

    def _activate(self, item: QListWidgetItem) -> None:
        """An announcement made from a change opens the change (looked up off the GUI thread);
        one written here opens for editing."""
        data = item.data(Qt.ItemDataRole.UserRole)
        if data and data[2]:
            self.ctx.query(_record_of, data[2],
                           on_done=lambda found: self.ctx.open_record(*found),
                           on_error=lambda _exc: None,  # the change may be gone
                           owner=self)
        elif data:
            self.edit(data[0])

    def edit_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None and item.data(Qt.ItemDataRole.UserRole):
            self._activate(item)

    def add(self) -> AnnouncementDialog:
        """The announcement dialog (title, kind, window, services, audience, text); its one
        write's Changes make the list be read again (_changed)."""
        return self._open_dialog(None)

    def edit(self, announcement_id) -> AnnouncementDialog:  # noqa: ANN001
        return self._open_dialog(announcement_id)

    def _open_dialog(self, announcement_id) -> AnnouncementDialog:  # noqa: ANN001
        dialog = AnnouncementDialog(self.ctx, announcement_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def withdraw(self) -> None:
        item = self.list.currentItem()
        data = item.data(Qt.ItemDataRole.UserRole) if item else None
        if not data:
            return
        self.ctx.write(announcements.withdraw, data[0], data[1], self.ctx.actor,
                       on_error=lambda exc: show_error(self, exc), owner=self)

    def copy(self, fmt: str) -> None:
        """Copy every current announcement (read off the GUI thread) to the clipboard."""
        def done(text: str) -> None:
            QApplication.clipboard().setText(text)
            self.ctx.sig_status.emit(QCoreApplication.translate("AnnouncementsPanel", "Announcements copied to the clipboard"))

        self.ctx.query(announcements.export, fmt, self.now(), on_done=done, owner=self)


def _record_of(ref: str) -> tuple[str, object]:
    """(kind, id) of the record a reference names."""
    from itsmdesk.services.lookup import find_by_reference

    kind, row = find_by_reference(ref)
    return kind, row.id


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return AnnouncementsPanel(ctx, window)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    if not hasattr(window, "panel"):
        return []

    def add() -> None:
        panel = window.panel("announcementsDock")  # (built now if it was still waiting)
        if panel is not None:
            panel.add()

    action = QAction(QCoreApplication.translate("AnnouncementsPanel", "New &announcement…"), window)
    action.setShortcut(QKeySequence("Ctrl+Shift+A"))
    action.triggered.connect(add)
    return [("Records", action)]
