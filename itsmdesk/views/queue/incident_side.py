"""The right-hand side of the ticket form: suggestions (link a known error, apply its
workaround), the category's diagnostic script, the work log and attachments.

Nothing here reads or writes the database itself: what it shows comes from the form's read
model (``IncidentView``) and the form's suggestion query; what the agent does goes to the form,
which runs it as a write with the version it holds.
"""

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

from itsmdesk.views.numfmt import grouped
from itsmdesk.views.timefmt import local_text

ROLE = Qt.ItemDataRole.UserRole


class SidePanel(QWidget):
    def __init__(self, form) -> None:  # noqa: ANN001 - the IncidentForm
        super().__init__(form)
        self.form = form
        self.ctx = form.ctx
        self.has_record = False

        self.suggestions = QListWidget()
        self.suggestions.setObjectName("suggestions")
        self.suggestions.setMaximumHeight(110)
        # one line each, elided at the column's width (the whole in the tooltip), no sideways
        # scroll bar under four lines
        self.suggestions.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.suggestions.setUniformItemSizes(True)
        self.suggestions.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.suggestions.itemActivated.connect(self._open_suggestion)
        self.suggestions.currentItemChanged.connect(lambda *_a: self._update_buttons())
        self.link_button = QPushButton(QCoreApplication.translate("IncidentForm", "Link"))
        self.link_button.setObjectName("linkKnownError")
        self.link_button.setToolTip(QCoreApplication.translate("IncidentForm", "This ticket is a case of the chosen known error"))
        self.link_button.clicked.connect(lambda: self._known_error_action(apply=False))
        self.apply_button = QPushButton(QCoreApplication.translate("IncidentForm", "Apply workaround"))
        self.apply_button.setObjectName("applyWorkaround")
        self.apply_button.setToolTip(QCoreApplication.translate("IncidentForm", "Link the known error and note its workaround in the "
                                        "work log"))
        self.apply_button.clicked.connect(lambda: self._known_error_action(apply=True))
        sug_buttons = QHBoxLayout()
        sug_buttons.addStretch(1)
        sug_buttons.addWidget(self.link_button)
        sug_buttons.addWidget(self.apply_button)
        sug_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Known errors and articles that match"))
        sug_layout = QVBoxLayout(sug_box)
        sug_layout.addWidget(self.suggestions)
        sug_layout.addLayout(sug_buttons)

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
        self.note_edit.setMaximumHeight(60)
        self.note_edit.setTabChangesFocus(True)
        self.public_check = QCheckBox(QCoreApplication.translate("IncidentForm", "Public (caller sees it)"))
        self.public_check.setObjectName("notePublic")
        self.add_note_button = QPushButton(QCoreApplication.translate("IncidentForm", "Add note"))
        self.add_note_button.setObjectName("addNote")
        self.add_note_button.clicked.connect(self.add_note)
        # the note and its button side by side, "public" below: narrow enough for a form
        # squeezed between the docks in any language
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_edit, 1)
        note_row.addWidget(self.add_note_button, 0, Qt.AlignmentFlag.AlignTop)
        log_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Work log"))
        log_layout = QVBoxLayout(log_box)
        log_layout.addWidget(self.work_log, 1)
        log_layout.addLayout(note_row)
        log_layout.addWidget(self.public_check)

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
        layout.setContentsMargins(0, 0, 6, 0)  # clear of the scroll bar
        layout.addWidget(sug_box)
        layout.addWidget(self.script_box)
        layout.addWidget(log_box, 1)
        layout.addWidget(att_box)
        self._update_buttons()

    def set_enabled_for_record(self, enabled: bool) -> None:
        self.has_record = enabled
        for w in (self.note_edit, self.add_note_button, self.attach_button, self.script_button,
                  self.public_check):
            w.setEnabled(enabled)
        self.note_edit.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Add a note… (Ctrl+L)") if enabled
                                          else QCoreApplication.translate("IncidentForm", "Save the ticket first to add notes"))
        self._update_buttons()

    def show_record(self, data: Any) -> None:
        """The work log and attachments of the read model (an ``IncidentView``)."""
        self.work_log.clear()
        for entry in reversed(data.work_log):
            who = entry.author or QCoreApplication.translate("IncidentForm", "system")
            vis = QCoreApplication.translate("IncidentForm", "public") if entry.public else QCoreApplication.translate("IncidentForm", "private")
            item = QListWidgetItem(f"{local_text(entry.at)} · {who} · {vis}\n{entry.text}")
            if entry.public:
                item.setForeground(Qt.GlobalColor.darkBlue)
            self.work_log.addItem(item)
        if not data.work_log:
            self.work_log.addItem(QCoreApplication.translate("IncidentForm", "No notes yet."))
        self.attachments.clear()
        for att in data.attachments:
            item = QListWidgetItem(f"{att.filename}  ({grouped(att.size)} B)")
            item.setData(ROLE, att.id)
            self.attachments.addItem(item)

    # -- suggestions ----------------------------------------------------------------------------------
    def show_suggestions(self, hits: list) -> None:
        self.suggestions.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.ref}  {hit.title}")
            item.setData(ROLE, (hit.kind, hit.id))
            item.setToolTip(f"{hit.ref}  {hit.title}" + (f"\n\n{hit.snippet}" if hit.snippet else ""))
            self.suggestions.addItem(item)
        if not hits:
            self.suggestions.addItem(QCoreApplication.translate("IncidentForm", "Type a title to see matching known errors."))
        self._update_buttons()

    def _current_suggestion(self) -> tuple[str, Any] | None:
        item = self.suggestions.currentItem()
        return item.data(ROLE) if item is not None else None

    def _update_buttons(self) -> None:
        current = self._current_suggestion()
        known_error = bool(current) and current[0] == "known_error" and self.has_record
        self.link_button.setEnabled(known_error)
        self.apply_button.setEnabled(known_error)

    def select_suggestion(self, ref: str) -> bool:
        """Make the suggestion with reference ``ref`` current (tests, keyboard users)."""
        for i in range(self.suggestions.count()):
            if self.suggestions.item(i).text().startswith(ref + " "):
                self.suggestions.setCurrentRow(i)
                return True
        return False

    def _known_error_action(self, apply: bool) -> None:
        current = self._current_suggestion()
        if current and current[0] == "known_error":
            self.form.link_known_error(current[1], apply_workaround=apply)

    def _open_suggestion(self, item: QListWidgetItem) -> None:
        data = item.data(ROLE)
        if data:
            self.ctx.open_record(*data)

    # -- diagnostic script ----------------------------------------------------------------------------
    def show_script(self, steps: Any) -> None:
        while self.script_form.rowCount():
            self.script_form.removeRow(0)
        self.script_steps = []
        for step in steps or ():
            combo = QComboBox()
            combo.addItem("", None)
            for answer in step.get("answers", []):
                if isinstance(answer, str):  # a script written before answers had routes
                    answer = {"label": answer}
                combo.addItem(answer.get("label", ""), answer)
            label = QLabel(step.get("question", ""))
            label.setWordWrap(True)
            self.script_form.addRow(label, combo)
            self.script_steps.append((step, combo))
        self.script_box.setVisible(bool(self.script_steps))

    def answer(self, index: int, label: str) -> None:
        _step, combo = self.script_steps[index]
        combo.setCurrentIndex(combo.findText(label))

    def record_answers(self) -> None:
        answers, route = [], None
        for step, combo in self.script_steps:
            answer = combo.currentData()
            if answer:
                answers.append((step.get("question", ""), answer.get("label", "")))
                route = answer.get("route_team") or route
        if answers:
            self.form.record_diagnosis(answers, route)

    # -- work log and files ---------------------------------------------------------------------------
    def add_note(self) -> None:
        text = self.note_edit.toPlainText().strip()
        if text:
            self.form.add_note(text, self.public_check.isChecked())

    def note_added(self) -> None:
        self.note_edit.clear()
        self.public_check.setChecked(False)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, QCoreApplication.translate("IncidentForm", "Attach file"))
        if path:
            self.form.attach(path)

    def _save_attachment(self, item: QListWidgetItem) -> None:
        att_id = item.data(ROLE)
        if att_id is not None:
            self.form.fetch_attachment(att_id, self._write_attachment)

    def _write_attachment(self, found: tuple[str, bytes]) -> None:
        name, data = found
        path, _ = QFileDialog.getSaveFileName(self, QCoreApplication.translate("IncidentForm", "Save attachment"), name)
        if path:
            with open(path, "wb") as fh:
                fh.write(data)
