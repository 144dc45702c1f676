"""The right-hand side of the ticket form: suggestions, diagnostic script, work log, files."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.messages import show_error
from itsmdesk.views.numfmt import grouped
from itsmdesk.views.timefmt import local_text


def tr(text: str) -> str:
    return QCoreApplication.translate("IncidentForm", text)


class SidePanel(QWidget):
    def __init__(self, form) -> None:  # noqa: ANN001 - the IncidentForm
        super().__init__(form)
        self.form = form
        self.ctx = form.ctx

        self.suggestions = QListWidget()
        self.suggestions.setObjectName("suggestions")
        self.suggestions.setMaximumHeight(110)
        self.suggestions.itemActivated.connect(self._open_suggestion)
        sug_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Known errors and articles that match"))
        QVBoxLayout(sug_box).addWidget(self.suggestions)

        self.script_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Diagnostic script"))
        self.script_box.setObjectName("scriptBox")
        self.script_form = QFormLayout()
        self.script_button = QPushButton(QCoreApplication.translate("IncidentForm", "Record answers"))
        self.script_button.setObjectName("recordAnswers")
        self.script_button.clicked.connect(self.record_answers)
        script_layout = QVBoxLayout(self.script_box)
        script_layout.addLayout(self.script_form)
        script_layout.addWidget(self.script_button, 0, Qt.AlignmentFlag.AlignRight)
        self.script_box.hide()
        self.script_steps: list[tuple[dict, QComboBox]] = []

        self.work_log = QListWidget()
        self.work_log.setObjectName("workLog")
        self.work_log.setWordWrap(True)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setObjectName("noteEdit")
        self.note_edit.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Add a note… (Ctrl+L)"))
        self.note_edit.setMaximumHeight(60)
        self.public_check = QCheckBox(QCoreApplication.translate("IncidentForm", "Public (caller sees it)"))
        self.public_check.setObjectName("notePublic")
        self.add_note_button = QPushButton(QCoreApplication.translate("IncidentForm", "Add note"))
        self.add_note_button.setObjectName("addNote")
        self.add_note_button.clicked.connect(self.add_note)
        note_row = QHBoxLayout()
        note_row.addWidget(self.public_check)
        note_row.addStretch(1)
        note_row.addWidget(self.add_note_button)
        log_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Work log"))
        log_layout = QVBoxLayout(log_box)
        log_layout.addWidget(self.work_log, 1)
        log_layout.addWidget(self.note_edit)
        log_layout.addLayout(note_row)

        self.attachments = QListWidget()
        self.attachments.setObjectName("attachments")
        self.attachments.setMaximumHeight(70)
        self.attachments.itemActivated.connect(self._save_attachment)
        self.attach_button = QPushButton(QCoreApplication.translate("IncidentForm", "Attach file…"))
        self.attach_button.setObjectName("attachButton")
        self.attach_button.clicked.connect(self._pick_file)
        att_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Attachments"))
        att_layout = QVBoxLayout(att_box)
        att_layout.addWidget(self.attachments)
        att_layout.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignRight)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(sug_box)
        layout.addWidget(self.script_box)
        layout.addWidget(log_box, 1)
        layout.addWidget(att_box)

    def set_enabled_for_record(self, enabled: bool) -> None:
        for w in (self.note_edit, self.add_note_button, self.attach_button, self.script_button,
                  self.public_check):
            w.setEnabled(enabled)
        if not enabled:
            self.note_edit.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Save the ticket first to add notes"))

    def show_record(self, data: dict[str, Any]) -> None:
        self.work_log.clear()
        for entry in reversed(data["work_log"]):
            who = entry["author"] or QCoreApplication.translate("IncidentForm", "system")
            vis = QCoreApplication.translate("IncidentForm", "public") if entry["public"] else QCoreApplication.translate("IncidentForm", "private")
            item = QListWidgetItem(f"{local_text(entry['at'])} · {who} · {vis}\n{entry['text']}")
            if entry["public"]:
                item.setForeground(Qt.GlobalColor.darkBlue)
            self.work_log.addItem(item)
        if not data["work_log"]:
            self.work_log.addItem(QCoreApplication.translate("IncidentForm", "No notes yet."))
        self.attachments.clear()
        for att in data["attachments"]:
            item = QListWidgetItem(f"{att['filename']}  ({grouped(att['size'])} B)")
            item.setData(Qt.ItemDataRole.UserRole, att["id"])
            self.attachments.addItem(item)

    def show_suggestions(self, hits: list) -> None:
        self.suggestions.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.ref}  {hit.title}")
            item.setData(Qt.ItemDataRole.UserRole, (hit.kind, hit.id))
            if hit.snippet:
                item.setToolTip(hit.snippet)
            self.suggestions.addItem(item)
        if not hits:
            self.suggestions.addItem(QCoreApplication.translate("IncidentForm", "Type a title to see matching known errors."))

    def _open_suggestion(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if data:
            self.ctx.open_record(*data)

    # -- diagnostic script ----------------------------------------------------------------------------
    def show_script(self, steps: list[dict]) -> None:
        while self.script_form.rowCount():
            self.script_form.removeRow(0)
        self.script_steps = []
        for step in steps:
            combo = QComboBox()
            combo.addItem("", None)
            for answer in step.get("answers", []):
                combo.addItem(answer.get("label", ""), answer)
            label = QLabel(step.get("question", ""))
            label.setWordWrap(True)
            self.script_form.addRow(label, combo)
            self.script_steps.append((step, combo))
        self.script_box.setVisible(bool(steps))

    def answer(self, index: int, label: str) -> None:
        _step, combo = self.script_steps[index]
        combo.setCurrentIndex(combo.findText(label))

    def record_answers(self) -> None:
        if self.form.record_id is None:
            return
        answers, route = [], None
        for step, combo in self.script_steps:
            answer = combo.currentData()
            if answer:
                answers.append((step.get("question", ""), answer.get("label", "")))
                route = answer.get("route_team") or route
        if not answers:
            return
        try:
            incidents.record_diagnosis(self.form.record_id, answers, route, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.ctx.records_changed("incident", [self.form.record_id])
        self.form.reload()

    # -- work log and files ---------------------------------------------------------------------------
    def add_note(self) -> None:
        text = self.note_edit.toPlainText().strip()
        if not text or self.form.record_id is None:
            return
        try:
            incidents.add_work_log(self.form.record_id, text, self.ctx.actor,
                                   public=self.public_check.isChecked())
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.note_edit.clear()
        self.ctx.records_changed("incident", [self.form.record_id])
        self.form.reload()

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, QCoreApplication.translate("IncidentForm", "Attach file"))
        if path:
            self.attach(path)

    def attach(self, path: str) -> bool:
        try:
            incidents.add_attachment(self.form.record_id, path, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return False
        self.form.reload()
        return True

    def _save_attachment(self, item: QListWidgetItem) -> None:
        att_id = item.data(Qt.ItemDataRole.UserRole)
        name, data = incidents.attachment_data(att_id)
        path, _ = QFileDialog.getSaveFileName(self, QCoreApplication.translate("IncidentForm", "Save attachment"), name)
        if path:
            with open(path, "wb") as fh:
                fh.write(data)
