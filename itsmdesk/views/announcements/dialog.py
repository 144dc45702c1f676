"""Writing or editing an announcement: what, when, which services, for whom.

A service desk tells the organisation about planned outages; the notice names the business
services it touches (so the incident form can warn an agent recording a ticket against them),
the window, and its audience: everyone or the IT staff only, at every site or one.  The dialog
opens at once; the services and sites to choose from arrive from a read, and an existing
announcement's values from another.  Saving is one write (with a key chosen when the dialog
opened, so a repeated save cannot make it twice); an error is said in the dialog, which stays
open with what was typed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.clock import utcnow
from itsmdesk.services.servicedesk import announcements
from itsmdesk.views.messages import error_text
from itsmdesk.views.releases.editors import DateTimeField

ID_ROLE = Qt.ItemDataRole.UserRole


def _t(text: str) -> str:
    return QCoreApplication.translate("AnnouncementDialog", text)


class AnnouncementDialog(QDialog):
    """``announcement_id`` None: a new announcement starting now; else that one, to edit."""

    def __init__(self, ctx, announcement_id: Any = None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.announcement_id = announcement_id
        self.new_id = uuid.uuid4() if announcement_id is None else None
        self.version: int | None = None
        self.saved: Any = None
        self._wanted_services: set[str] = set()
        self._wanted_site: str | None = None
        self.setObjectName("announcementDialog")
        self.setWindowTitle(QCoreApplication.translate("AnnouncementDialog", "New announcement")
                            if announcement_id is None
                            else QCoreApplication.translate("AnnouncementDialog", "Edit announcement"))
        self.setMinimumWidth(560)

        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("announcementTitle")
        self.title_edit.setPlaceholderText(QCoreApplication.translate(
            "AnnouncementDialog", "What people will notice, e.g. \"E-mail unavailable Saturday night\""))
        self.kind = QComboBox()
        self.kind.setObjectName("announcementKind")
        self.kind.addItem(QCoreApplication.translate("AnnouncementDialog", "Notice"), "manual")
        self.kind.addItem(QCoreApplication.translate("AnnouncementDialog", "Planned outage"), "planned_outage")
        self.starts = DateTimeField()
        self.starts.setObjectName("announcementStarts")
        self.starts.set_value(utcnow().replace(second=0, microsecond=0))
        self.ends = DateTimeField()
        self.ends.setObjectName("announcementEnds")
        self.open_ended = QCheckBox(QCoreApplication.translate("AnnouncementDialog", "until further notice"))
        self.open_ended.setObjectName("announcementOpenEnded")
        self.open_ended.setChecked(True)
        self.open_ended.toggled.connect(self._open_ended_toggled)
        self.ends.setEnabled(False)
        window = QHBoxLayout()
        window.addWidget(self.starts, 1)
        window.addWidget(QLabel("–"))
        window.addWidget(self.ends, 1)
        window.addWidget(self.open_ended)

        self.service_filter = QLineEdit()
        self.service_filter.setObjectName("announcementServiceFilter")
        self.service_filter.setPlaceholderText(QCoreApplication.translate("AnnouncementDialog", "Filter services…"))
        self.service_filter.setClearButtonEnabled(True)
        self.service_filter.textChanged.connect(self._filter_services)
        self.services = QListWidget()
        self.services.setObjectName("announcementServices")
        self.services.setMinimumHeight(110)
        self.services.addItem(QCoreApplication.translate("AnnouncementDialog", "Loading…"))
        services_box = QVBoxLayout()
        services_box.addWidget(self.service_filter)
        services_box.addWidget(self.services, 1)

        self.audience = QComboBox()
        self.audience.setObjectName("announcementAudience")
        self.audience.addItem(QCoreApplication.translate("AnnouncementDialog", "Everyone"), "everyone")
        self.audience.addItem(QCoreApplication.translate("AnnouncementDialog", "IT staff only"), "it_staff")
        self.site = QComboBox()
        self.site.setObjectName("announcementSite")
        self.site.addItem(QCoreApplication.translate("AnnouncementDialog", "Every site"), None)
        audience = QHBoxLayout()
        audience.addWidget(self.audience, 1)
        audience.addWidget(QLabel(QCoreApplication.translate("AnnouncementDialog", "at")))
        audience.addWidget(self.site, 1)

        self.body = QPlainTextEdit()
        self.body.setObjectName("announcementBody")
        self.body.setPlaceholderText(QCoreApplication.translate(
            "AnnouncementDialog", "What happens, what to do meanwhile, whom to call"))
        self.body.setTabChangesFocus(True)
        self.body.setMinimumHeight(90)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(QCoreApplication.translate("AnnouncementDialog", "&Title"), self.title_edit)
        form.addRow(QCoreApplication.translate("AnnouncementDialog", "&Kind"), self.kind)
        # (a row holding a layout gets a label with a buddy, or its "&" would show)
        for text, buddy, row in ((QCoreApplication.translate("AnnouncementDialog", "&When"), self.starts, window),
                                 (QCoreApplication.translate("AnnouncementDialog", "&Services"), self.service_filter,
                                  services_box),
                                 (QCoreApplication.translate("AnnouncementDialog", "&For"), self.audience, audience)):
            label = QLabel(text)
            label.setBuddy(buddy)
            form.addRow(label, row)
        form.addRow(QCoreApplication.translate("AnnouncementDialog", "Te&xt"), self.body)

        self.message = QLabel()
        self.message.setObjectName("announcementMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        ctx.query(announcements.choices, on_done=self._show_choices,
                  on_error=lambda exc: self.say(error_text(exc)), owner=self)
        if announcement_id is not None:
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            ctx.query(announcements.announcement_view, announcement_id, on_done=self._show,
                      on_error=lambda exc: self.say(error_text(exc)), owner=self)

    # -- filling -----------------------------------------------------------------------------------
    def _show_choices(self, choices: announcements.AnnouncementChoices) -> None:
        self.services.clear()
        for service_id, name in choices.services:
            item = QListWidgetItem(name)
            item.setData(ID_ROLE, str(service_id))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if str(service_id) in self._wanted_services
                               else Qt.CheckState.Unchecked)
            self.services.addItem(item)
        for site_id, name in choices.sites:
            self.site.addItem(name, str(site_id))
        if self._wanted_site is not None:
            self.site.setCurrentIndex(max(0, self.site.findData(self._wanted_site)))
        self._filter_services(self.service_filter.text())

    def _show(self, view: announcements.AnnouncementView) -> None:
        self.version = view.version
        self.title_edit.setText(view.title)
        self.kind.setCurrentIndex(max(0, self.kind.findData(view.kind)))
        self.starts.set_value(view.starts_at)
        self.open_ended.setChecked(view.ends_at is None)
        self.ends.set_value(view.ends_at)
        self.body.setPlainText(view.body or "")
        self.audience.setCurrentIndex(max(0, self.audience.findData(view.audience)))
        self._wanted_site = str(view.site_id) if view.site_id else None
        index = self.site.findData(self._wanted_site)
        if index >= 0:
            self.site.setCurrentIndex(index)
        self._wanted_services = {str(service_id) for service_id, _name in view.services}
        for i in range(self.services.count()):
            item = self.services.item(i)
            if item.data(ID_ROLE):
                item.setCheckState(Qt.CheckState.Checked if item.data(ID_ROLE) in self._wanted_services
                                   else Qt.CheckState.Unchecked)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)

    def _open_ended_toggled(self, open_ended: bool) -> None:
        self.ends.setEnabled(not open_ended)
        if not open_ended and self.ends.value() is None:
            start = self.starts.value() or utcnow()
            self.ends.set_value(start + dt.timedelta(hours=2))

    def _filter_services(self, text: str) -> None:
        words = text.casefold().split()
        for i in range(self.services.count()):
            item = self.services.item(i)
            item.setHidden(bool(words) and not all(w in item.text().casefold() for w in words))

    # -- saving ------------------------------------------------------------------------------------
    def values(self) -> tuple[dict[str, Any], list[str]]:
        """The announcement's fields and its services' ids, as the dialog shows them."""
        values = {
            "title": self.title_edit.text().strip(),
            "kind": self.kind.currentData(),
            "starts_at": self.starts.value(),
            "ends_at": None if self.open_ended.isChecked() else self.ends.value(),
            "body": self.body.toPlainText().strip() or None,
            "audience": self.audience.currentData(),
            "site": self.site.currentData(),
        }
        services = [self.services.item(i).data(ID_ROLE) for i in range(self.services.count())
                    if self.services.item(i).data(ID_ROLE)
                    and self.services.item(i).checkState() == Qt.CheckState.Checked]
        return values, services

    def say(self, text: str) -> None:
        self.message.setText(text)

    def save(self) -> None:
        values, services = self.values()
        if not values["title"]:
            self.say(QCoreApplication.translate("AnnouncementDialog", "An announcement needs a title."))
            self.title_edit.setFocus()
            return
        if values["starts_at"] is None:
            self.say(QCoreApplication.translate("AnnouncementDialog", "Say when it starts."))
            return
        self.buttons.setEnabled(False)
        self.say("")
        if self.announcement_id is None:
            self.ctx.write(announcements.create_announcement, values, services, self.ctx.actor,
                           self.new_id, on_done=self._saved, on_error=self._failed, owner=self)
        else:
            self.ctx.write(announcements.update_announcement, self.announcement_id, self.version,
                           values, services, self.ctx.actor, on_done=self._saved,
                           on_error=self._failed, owner=self)

    def _saved(self, row: Any) -> None:
        self.saved = row
        self.buttons.setEnabled(True)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.say(error_text(error))
