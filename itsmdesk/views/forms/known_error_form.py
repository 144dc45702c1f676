"""Known error form (KEDB): symptom, root cause, workaround, solution status, error code,
affected CIs, the problem it came from, incidents linked to it, raise RFC."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.models.problem import KE_SOLUTION_STATUSES
from itsmdesk.services.problem import lifecycle, problems
from itsmdesk.views.forms.common import RecordForm, confirm_close, save_failed, saved
from itsmdesk.views.messages import show_error
from itsmdesk.views.problems.rows_model import ID_ROLE, RowsModel, make_table


class KnownErrorForm(RecordForm):
    def __init__(self, ctx, record_id: Any = None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(ctx, record_id, parent)
        self.data: dict[str, Any] = {}
        self._dirty = False
        self.setObjectName("knownErrorForm")
        header = self.title_header(self.tr("New known error"), self.tr("What the error looks like, in a line"))
        self.error_code = QLineEdit()
        self.solution_status = QComboBox()
        labels = {"workaround_only": self.tr("Workaround only"),
                  "fix_planned": self.tr("Fix planned"),
                  "fix_in_progress": self.tr("Fix in progress"), "fixed": self.tr("Fixed"),
                  "wont_fix": self.tr("Will not be fixed")}
        for s in KE_SOLUTION_STATUSES:
            self.solution_status.addItem(labels.get(s, s), s)
        self.status = QComboBox()
        self.status.addItem(self.tr("Open"), "open")
        self.status.addItem(self.tr("Retired"), "retired")
        self.problem_edit = QLineEdit()
        self.problem_edit.setPlaceholderText("PRB-000123")
        self.cis_edit = QLineEdit()
        self.cis_edit.setPlaceholderText(self.tr("CI names, comma separated"))
        self.symptom = QPlainTextEdit()
        self.root_cause = QPlainTextEdit()
        self.workaround = QPlainTextEdit()
        for e in (self.symptom, self.root_cause, self.workaround):
            e.setTabChangesFocus(True)
            e.textChanged.connect(self._mark_dirty)
        form = QFormLayout()
        form.addRow(self.tr("Error &code"), self.error_code)
        form.addRow(self.tr("Solution &status"), self.solution_status)
        form.addRow(self.tr("Stat&us"), self.status)
        form.addRow(self.tr("&Problem"), self.problem_edit)
        form.addRow(self.tr("Affected C&Is"), self.cis_edit)
        form.addRow(self.tr("Symptom"), self.symptom)
        form.addRow(self.tr("Root cause"), self.root_cause)
        form.addRow(self.tr("Workaround"), self.workaround)
        details = QWidget()
        details.setLayout(form)
        self.incident_model = RowsModel([("ref", self.tr("Incident")), ("title", self.tr("Title")),
                                         ("status", self.tr("Status")),
                                         ("opened_at", self.tr("Opened"))], self)
        incidents = make_table(self.incident_model)
        incidents.doubleClicked.connect(lambda i: self.ctx.open_record("incident", i.data(ID_ROLE)))
        self.change_model = RowsModel([("ref", self.tr("Change")), ("title", self.tr("Title")),
                                       ("status", self.tr("Status"))], self)
        changes = make_table(self.change_model)
        changes.doubleClicked.connect(lambda i: self.ctx.open_record("change", i.data(ID_ROLE)))
        self.history_model = RowsModel([("at", self.tr("When")), ("who", self.tr("Who")),
                                        ("field", self.tr("Field")), ("new", self.tr("New"))], self)
        self.tabs = QTabWidget()
        self.tabs.addTab(details, self.tr("&Details"))
        self.tabs.addTab(incidents, self.tr("&Incidents"))
        self.tabs.addTab(changes, self.tr("C&hanges"))
        self.tabs.addTab(make_table(self.history_model, stretch=3), self.tr("Histor&y"))
        self.message = QLabel()
        self.save_button = QPushButton(self.tr("&Save"))
        self.save_button.setDefault(True)
        self.rfc_button = QPushButton(self.tr("Raise R&FC"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.rfc_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self.save_button.clicked.connect(self.save)
        self.rfc_button.clicked.connect(self.raise_rfc)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        for w in (self.title_edit, self.error_code, self.problem_edit, self.cis_edit):
            w.textEdited.connect(self._mark_dirty)
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.title()))
        self.rfc_button.setEnabled(record_id is not None)
        if record_id is not None:
            self.reload()

    def _mark_dirty(self, *_a: Any) -> None:
        self._dirty = True

    def reload(self) -> None:
        self.ctx.worker.submit(problems.load_known_error, self.record_id, on_done=self._show,
                               on_error=lambda e: show_error(self, e), key=f"ke-{id(self)}")

    def _show(self, data: dict[str, Any]) -> None:
        self.data = data
        ke = data["known_error"]
        self.record_id, self.version = ke.id, ke.version
        self.ref_label.setText(ke.ref)
        self.title_edit.setText(ke.title)
        self.error_code.setText(ke.error_code or "")
        self.solution_status.setCurrentIndex(max(0, self.solution_status.findData(ke.solution_status)))
        self.status.setCurrentIndex(max(0, self.status.findData(ke.status)))
        self.problem_edit.setText(data["problem_ref"])
        self.cis_edit.setText(", ".join(n for _i, n in data["cis"]))
        self.symptom.setPlainText(ke.symptom or "")
        self.root_cause.setPlainText(ke.root_cause or "")
        self.workaround.setPlainText(ke.workaround or "")
        self.incident_model.set_rows(data["incidents"])
        self.change_model.set_rows(data["changes"])
        self.history_model.set_rows([{"at": h.at, "who": h.who, "field": h.field, "new": h.new}
                                     for h in data["history"]])
        self.rfc_button.setEnabled(True)
        self._dirty = False
        self.sig_title_changed.emit(self.title())

    def title(self) -> str:
        ke = self.data.get("known_error")
        text = self.title_edit.text().strip() or self.tr("New known error")
        return f"{ke.ref} {text}" if ke else text

    def save(self) -> bool:
        try:
            values = {"title": self.title_edit.text().strip(),
                      "error_code": self.error_code.text().strip() or None,
                      "solution_status": self.solution_status.currentData(),
                      "status": self.status.currentData(),
                      "problem": problems.problem_id_by_ref(self.problem_edit.text()),
                      "symptom": self.symptom.toPlainText().strip() or None,
                      "root_cause": self.root_cause.toPlainText().strip() or None,
                      "workaround": self.workaround.toPlainText().strip() or None}
            cis = [problems.ci_id_by_name(n) for n in self.cis_edit.text().split(",") if n.strip()]
            from itsmdesk.services import records

            with records.atomic():
                if self.record_id is None:
                    ke = problems.create_known_error(values, self.ctx.actor, cis=cis)
                else:
                    ke = problems.update_known_error(self.record_id, self.version, values,
                                                     self.ctx.actor)
                    problems.set_known_error_cis(ke.id, cis, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001 - shown to the person
            return save_failed(self, exc)
        return saved(self, "known_error", ke)

    def raise_rfc(self) -> None:
        if (self._dirty or self.record_id is None) and not self.save():
            return
        try:
            change = lifecycle.raise_rfc(self.record_id, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.ctx.records_changed("change", [change.id])
        self.reload()
        self.ctx.open_record("change", change.id)

    def can_close(self) -> bool:
        return confirm_close(self, self._dirty, self.tr("Save the changes to this known error?"), self.save)


def create_form(ctx, record_id, window, kind: str = "known_error") -> QWidget:  # noqa: ANN001
    return KnownErrorForm(ctx, record_id)
