"""Bulk edit: one field, one value, applied to every selected ticket in one transaction.

The dialog opens at once; the teams, agents and categories its value picker offers are read off
the GUI thread (OK is disabled until they are there).  The queue panel runs the write."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.servicedesk.incidents import INCIDENT_STATUSES
from itsmdesk.views.context import AppContext
from itsmdesk.words import word

FIELDS = [("assignee", QT_TRANSLATE_NOOP("BulkEditDialog", "Assignee")),
          ("team", QT_TRANSLATE_NOOP("BulkEditDialog", "Team")),
          ("status", QT_TRANSLATE_NOOP("BulkEditDialog", "Status")),
          ("priority", QT_TRANSLATE_NOOP("BulkEditDialog", "Priority")),
          ("category", QT_TRANSLATE_NOOP("BulkEditDialog", "Category")),
          ("impact", QT_TRANSLATE_NOOP("BulkEditDialog", "Impact")),
          ("urgency", QT_TRANSLATE_NOOP("BulkEditDialog", "Urgency"))]


class BulkEditDialog(QDialog):
    def __init__(self, ctx: AppContext, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bulkEditDialog")
        self.setWindowTitle(QCoreApplication.translate("BulkEditDialog", "Edit {n} tickets").format(n=count))
        self.choices: dict[str, list] = {"team": [], "assignee": [], "category": []}
        self.field_combo = QComboBox()
        self.field_combo.setObjectName("bulkField")
        for key, label in FIELDS:
            self.field_combo.addItem(QCoreApplication.translate("BulkEditDialog", label), key)
        self.value_combo = QComboBox()
        self.value_combo.setObjectName("bulkValue")
        self.value_combo.setMinimumWidth(240)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(QCoreApplication.translate("BulkEditDialog", "Pending reason / solution when needed"))
        self.field_combo.currentIndexChanged.connect(self._fill_values)
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("BulkEditDialog", "Field"), self.field_combo)
        form.addRow(QCoreApplication.translate("BulkEditDialog", "New value"), self.value_combo)
        form.addRow(QCoreApplication.translate("BulkEditDialog", "Reason"), self.reason_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(False)  # until the choices are read
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(QCoreApplication.translate("BulkEditDialog", "The change applies to all {n} selected tickets at once and can "
                                   "be undone with Ctrl+Shift+Z.").format(n=count)))
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._fill_values()
        ctx.query(incidents.choices, on_done=self._choices_read, owner=self)

    def _choices_read(self, choices: dict[str, list]) -> None:
        self.choices = choices
        value = self.value_combo.currentData()
        self._fill_values()
        self.set_value(value)  # a value picked meanwhile (a status, a priority) stays
        if self.value_combo.currentIndex() < 0:
            self.value_combo.setCurrentIndex(0)
        self.ok_button.setEnabled(True)

    def set_field(self, key: str) -> None:
        self.field_combo.setCurrentIndex(self.field_combo.findData(key))

    def set_value(self, value: Any) -> None:
        self.value_combo.setCurrentIndex(self.value_combo.findData(value))

    def _fill_values(self) -> None:
        key = self.field_combo.currentData()
        self.value_combo.clear()
        if key in ("assignee", "team", "category"):
            if key != "team":
                self.value_combo.addItem(QCoreApplication.translate("BulkEditDialog", "(nobody)") if key == "assignee" else QCoreApplication.translate("BulkEditDialog", "(none)"), None)
            for value, label in self.choices[key]:
                self.value_combo.addItem(label, value)
        elif key == "status":
            for s in INCIDENT_STATUSES:
                self.value_combo.addItem(word(s), s)
        elif key == "priority":
            for p in (1, 2, 3, 4, 5):
                self.value_combo.addItem(f"P{p}", p)
        else:
            for v, label in ((1, QCoreApplication.translate("BulkEditDialog", "1 high")), (2, QCoreApplication.translate("BulkEditDialog", "2 medium")), (3, QCoreApplication.translate("BulkEditDialog", "3 low"))):
                self.value_combo.addItem(label, v)

    def changes(self) -> dict[str, Any]:
        key = self.field_combo.currentData()
        out = {key: self.value_combo.currentData()}
        reason = self.reason_edit.text().strip()
        if key == "status" and reason:
            out["pending_reason" if out[key] == "pending" else "solution"] = reason
            if out[key] == "resolved":
                out["resolution_code"] = "solved_workaround"
        return out
