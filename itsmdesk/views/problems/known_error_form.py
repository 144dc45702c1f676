"""Known error form (KEDB): symptom, root cause, workaround, solution status, error code,
affected CIs, the problem it came from, incidents linked to it, changes raised for it, history;
"Raise RFC" creates the corrective change."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.problem import lifecycle, problems
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.forms.common import header_label
from itsmdesk.views.problems.rows_model import ID_ROLE, RowsModel, make_table

SOLUTION_STATUSES = (("workaround_only", QT_TRANSLATE_NOOP("KnownErrorForm", "Workaround only")),
                     ("fix_planned", QT_TRANSLATE_NOOP("KnownErrorForm", "Fix planned")),
                     ("fix_in_progress", QT_TRANSLATE_NOOP("KnownErrorForm", "Fix in progress")),
                     ("fixed", QT_TRANSLATE_NOOP("KnownErrorForm", "Fixed")),
                     ("wont_fix", QT_TRANSLATE_NOOP("KnownErrorForm", "Will not be fixed")))
TEXTS = ("symptom", "root_cause", "workaround")


class KnownErrorForm(RecordForm):
    KIND = Kind.KNOWN_ERROR

    def build(self) -> None:
        self.setObjectName("knownErrorForm")
        self.ref_label = header_label(QCoreApplication.translate("KnownErrorForm", "New known error"))
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("titleEdit")
        self.title_edit.setPlaceholderText(QCoreApplication.translate("KnownErrorForm", "What the error looks like, in a line"))
        self.error_code = QLineEdit()
        self.solution_status = QComboBox()
        for value, label in SOLUTION_STATUSES:
            self.solution_status.addItem(QCoreApplication.translate("KnownErrorForm", label), value)
        self.status = QComboBox()
        self.status.addItem(QCoreApplication.translate("KnownErrorForm", "Open"), "open")
        self.status.addItem(QCoreApplication.translate("KnownErrorForm", "Retired"), "retired")
        self.problem_edit = QLineEdit()
        self.problem_edit.setPlaceholderText("PRB-000123")
        self.cis_edit = QLineEdit()
        self.cis_edit.setPlaceholderText(QCoreApplication.translate("KnownErrorForm", "CI names, comma separated"))
        self.symptom = QPlainTextEdit()
        self.root_cause = QPlainTextEdit()
        self.workaround = QPlainTextEdit()
        for e in (self.symptom, self.root_cause, self.workaround):
            e.setTabChangesFocus(True)
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("KnownErrorForm", "Error &code"), self.error_code)
        form.addRow(QCoreApplication.translate("KnownErrorForm", "Solution &status"), self.solution_status)
        form.addRow(QCoreApplication.translate("KnownErrorForm", "Stat&us"), self.status)
        form.addRow(QCoreApplication.translate("KnownErrorForm", "&Problem"), self.problem_edit)
        form.addRow(QCoreApplication.translate("KnownErrorForm", "Affected C&Is"), self.cis_edit)
        form.addRow(QCoreApplication.translate("KnownErrorForm", "Symptom"), self.symptom)
        form.addRow(QCoreApplication.translate("KnownErrorForm", "Root cause"), self.root_cause)
        form.addRow(QCoreApplication.translate("KnownErrorForm", "Workaround"), self.workaround)
        details = QWidget()
        details.setLayout(form)
        self.incident_model = RowsModel([("ref", QCoreApplication.translate("KnownErrorForm", "Incident")), ("title", QCoreApplication.translate("KnownErrorForm", "Title")),
                                         ("status", QCoreApplication.translate("KnownErrorForm", "Status")), ("opened_at", QCoreApplication.translate("KnownErrorForm", "Opened"))],
                                        self)
        incidents = make_table(self.incident_model)
        incidents.doubleClicked.connect(lambda i: self.ctx.open_record("incident", i.data(ID_ROLE)))
        self.change_model = RowsModel([("ref", QCoreApplication.translate("KnownErrorForm", "Change")), ("title", QCoreApplication.translate("KnownErrorForm", "Title")),
                                       ("status", QCoreApplication.translate("KnownErrorForm", "Status"))], self)
        changes = make_table(self.change_model)
        changes.doubleClicked.connect(lambda i: self.ctx.open_record("change", i.data(ID_ROLE)))
        self.tabs = QTabWidget()
        self.tabs.addTab(details, QCoreApplication.translate("KnownErrorForm", "&Details"))
        self.tabs.addTab(incidents, QCoreApplication.translate("KnownErrorForm", "&Incidents"))
        self.tabs.addTab(changes, QCoreApplication.translate("KnownErrorForm", "C&hanges"))
        self.tabs.addTab(self.history, QCoreApplication.translate("KnownErrorForm", "Histor&y"))
        header = QHBoxLayout()
        header.addWidget(self.ref_label)
        header.addWidget(self.title_edit, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        self.rfc_button = QPushButton(QCoreApplication.translate("KnownErrorForm", "Raise R&FC"))
        self.rfc_button.setObjectName("raiseRfcButton")
        self.rfc_button.clicked.connect(self.raise_rfc)
        self.rfc_button.setEnabled(False)
        self.button_row.insertWidget(1, self.rfc_button)
        self.watch(self.title_edit, self.error_code, self.solution_status, self.status,
                   self.problem_edit, self.cis_edit, self.symptom, self.root_cause, self.workaround)
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.tab_title()))

    # -- reading ------------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return problems.known_error_view, (self.record_id,)

    def fill(self, data: problems.KnownErrorView) -> None:
        self.ref_label.setText(data.ref)
        self.title_edit.setText(data.title)
        self.error_code.setText(data.error_code or "")
        self.solution_status.setCurrentIndex(max(0, self.solution_status.findData(data.solution_status)))
        self.status.setCurrentIndex(max(0, self.status.findData(data.status)))
        self.problem_edit.setText(data.problem_ref)
        self.cis_edit.setText(", ".join(data.ci_names))
        self.symptom.setPlainText(data.symptom or "")
        self.root_cause.setPlainText(data.root_cause or "")
        self.workaround.setPlainText(data.workaround or "")
        self.incident_model.set_rows(list(data.incidents))
        self.change_model.set_rows(list(data.changes))
        self.rfc_button.setEnabled(True)

    def title(self) -> str:
        text = self.title_edit.text().strip() or QCoreApplication.translate("KnownErrorForm", "New known error")
        return f"{self.data.ref} {text}" if self.data is not None else text

    # -- saving -------------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        return {"title": self.title_edit.text().strip(),
                "error_code": self.error_code.text().strip() or None,
                "solution_status": self.solution_status.currentData(),
                "status": self.status.currentData(),
                "problem_ref": self.problem_edit.text().strip().upper(),
                "ci_names": [n.strip() for n in self.cis_edit.text().split(",") if n.strip()],
                **{name: getattr(self, name).toPlainText().strip() or None for name in TEXTS}}

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            return {k: v for k, v in values.items() if v not in (None, "", [])}
        d = self.data
        was = {"title": d.title, "error_code": d.error_code, "solution_status": d.solution_status,
               "status": d.status, "problem_ref": d.problem_ref, "ci_names": d.ci_names,
               "symptom": d.symptom, "root_cause": d.root_cause, "workaround": d.workaround}
        return {k: v for k, v in values.items() if v != was[k]}

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return problems.save_known_error, (self.record_id, self.version, edits, self.ctx.actor,
                                           self.new_id)

    def raise_rfc(self) -> None:
        """Create the corrective change (the known error is saved first when it has edits)."""
        if self.dirty or self.record_id is None:
            self.after_save(self.raise_rfc)
            self.save()
            return
        self.ctx.write(lifecycle.raise_rfc, self.record_id, self.ctx.actor, owner=self,
                       on_done=lambda change: self.ctx.open_record("change", change.id))


def create_form(ctx, record_id, window, kind: str = "known_error") -> QWidget:  # noqa: ANN001
    return KnownErrorForm(ctx, record_id)
