"""Diagnostic scripts: the questions (and answers, optionally routing the ticket to a team) the
incident form walks the agent through, per category.

Categories on the left (incident and request kinds), the chosen category's steps in the middle,
the chosen step's question and answers on the right.  Save writes the whole script of one
category through ``categories.save_script`` (validated, version-checked).

The dialog opens at once and fills in when the teams and categories have been read
(``categories.editor_data``, off the GUI thread).  Saving, creating and renaming are writes: the
editor is disabled while one runs and shows the error's sentence, keeping the edits, when it
fails.  Leaving a category (or the dialog) with unsaved changes asks first; "Save" goes on once
the save went through.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.servicedesk import categories
from itsmdesk.views.layout import boxed, button_row, edit_table
from itsmdesk.views.messages import show_error


def _button(text: str, name: str, slot) -> QPushButton:  # noqa: ANN001
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(lambda _checked=False: slot())
    return button


class DiagnosticEditorDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("diagnosticEditorDialog")
        self.setWindowTitle(QCoreApplication.translate("DiagnosticEditor", "Diagnostic scripts"))
        self.category: categories.CategoryInfo | None = None
        self.steps: list[dict] = []
        self.step_index = -1
        self.dirty = False
        self._filling = False
        self.loaded = False
        self.teams: list[tuple[str, str]] = []  # (id as text, name), read with the categories

        # categories
        self.tree = QTreeWidget()
        self.tree.setObjectName("categoryTree")
        self.tree.setHeaderHidden(True)
        self.tree.currentItemChanged.connect(self._category_chosen)
        self.new_category_button = _button(QCoreApplication.translate("DiagnosticEditor", "&New…"), "newCategory", self.new_category)
        self.rename_button = _button(QCoreApplication.translate("DiagnosticEditor", "Re&name…"), "renameCategory", self.rename_category)
        cat_box = boxed(QCoreApplication.translate("DiagnosticEditor", "Categories"), self.tree,
                        button_row(self.new_category_button, self.rename_button))

        # steps
        self.step_list = QListWidget()
        self.step_list.setObjectName("stepList")
        self.step_list.setWordWrap(True)
        self.step_list.setSpacing(2)
        self.step_list.currentRowChanged.connect(self._step_chosen)
        self.add_step_button = _button(QCoreApplication.translate("DiagnosticEditor", "&Add step"), "addStep", self.add_step)
        self.remove_step_button = _button(QCoreApplication.translate("DiagnosticEditor", "Remove"), "removeStep", self.remove_step)
        self.step_up_button = _button(QCoreApplication.translate("DiagnosticEditor", "Up"), "stepUp", lambda: self.move_step(-1))
        self.step_down_button = _button(QCoreApplication.translate("DiagnosticEditor", "Down"), "stepDown", lambda: self.move_step(1))
        self.steps_box = boxed(
            QCoreApplication.translate("DiagnosticEditor", "Steps (asked in this order)"),
            self.step_list, button_row(self.add_step_button, self.remove_step_button,
                                       self.step_up_button, self.step_down_button))

        # one step
        self.question_edit = QLineEdit()
        self.question_edit.setObjectName("questionEdit")
        self.question_edit.setPlaceholderText(QCoreApplication.translate("DiagnosticEditor", "e.g. Is more than one user affected?"))
        self.question_edit.textEdited.connect(self._question_edited)
        question_label = QLabel(QCoreApplication.translate("DiagnosticEditor", "&Question"))
        question_label.setBuddy(self.question_edit)
        self.answer_table = edit_table(
            "answerTable", [QCoreApplication.translate("DiagnosticEditor", "Answer"),
                            QCoreApplication.translate("DiagnosticEditor", "Route ticket to team")],
            row_height=30, stretch=0, widths={1: 200})
        self.answer_table.itemChanged.connect(lambda _item: self._answers_edited())
        self.add_answer_button = _button(QCoreApplication.translate("DiagnosticEditor", "Add a&nswer"), "addAnswer", self.add_answer)
        self.remove_answer_button = _button(QCoreApplication.translate("DiagnosticEditor", "Remove"), "removeAnswer", self.remove_answer)
        self.answer_up_button = _button(QCoreApplication.translate("DiagnosticEditor", "Up"), "answerUp", lambda: self.move_answer(-1))
        self.answer_down_button = _button(QCoreApplication.translate("DiagnosticEditor", "Down"), "answerDown", lambda: self.move_answer(1))
        answer_buttons = button_row(self.add_answer_button, self.remove_answer_button,
                                    self.answer_up_button, self.answer_down_button, None)
        self.step_box = QGroupBox(QCoreApplication.translate("DiagnosticEditor", "Step"))
        step_layout = QVBoxLayout(self.step_box)
        step_layout.addWidget(question_label)
        step_layout.addWidget(self.question_edit)
        step_layout.addSpacing(6)
        step_layout.addWidget(QLabel(QCoreApplication.translate("DiagnosticEditor", "Answers the agent can pick")))
        step_layout.addWidget(self.answer_table, 1)
        step_layout.addLayout(answer_buttons)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(cat_box)
        splitter.addWidget(self.steps_box)
        splitter.addWidget(self.step_box)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([240, 300, 460])
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 2)
        self.body = splitter

        self.status_label = QLabel()
        self.status_label.setObjectName("scriptStatus")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        hint = QLabel(QCoreApplication.translate("DiagnosticEditor", "The incident form asks these questions for a ticket of the chosen "
                         "category; an answer may send the ticket to another team."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        self.resize(1000, 540)
        from itsmdesk.views.signin import gate

        for button in (self.new_category_button, self.rename_button, self.save_button):
            gate(button, ctx, "catalog.manage", button.toolTip())  # team leads, administrators
        self._busy(True)  # until the categories are read
        self.load_categories()

    def _busy(self, busy: bool) -> None:
        """While a read or a write of the editor runs nothing can be edited or saved."""
        from itsmdesk.views.signin import enable

        self.body.setEnabled(not busy)
        enable(self.save_button, not busy)

    # -- categories ---------------------------------------------------------------------------------
    def load_categories(self, select_id: Any = None) -> None:
        """Read the teams and categories (off the GUI thread), then list them and select
        ``select_id`` (or keep the category being edited)."""
        def failed(exc: BaseException) -> None:
            self._busy(not self.loaded)  # editable again once there is something to edit
            show_error(self, exc)

        self.ctx.query(categories.editor_data,
                       on_done=lambda data: self._fill_categories(data, select_id),
                       on_error=failed, key=f"diagnostic-categories-{id(self)}", owner=self)

    def _fill_categories(self, data: categories.EditorData, select_id: Any = None) -> None:
        self.teams = [(str(i), name) for i, name in data.teams]
        self.loaded = True
        self._busy(False)
        if select_id is None and self.category is not None:
            select_id = self.category.id
        self.tree.blockSignals(True)
        self.tree.clear()
        groups = {"incident": QTreeWidgetItem([QCoreApplication.translate("DiagnosticEditor", "Incident categories")]),
                  "request": QTreeWidgetItem([QCoreApplication.translate("DiagnosticEditor", "Request categories")])}
        chosen = None
        for kind, group in groups.items():
            group.setData(0, Qt.ItemDataRole.UserRole, ("kind", kind))
            group.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.tree.addTopLevelItem(group)
        for info in data.categories:
            if self.category is not None and info.id == self.category.id:
                info = self.category  # the one being edited: its version is what it is saved at
            text = info.name + (f"  ({len(info.steps)})" if info.steps else "")
            item = QTreeWidgetItem([text])
            item.setData(0, Qt.ItemDataRole.UserRole, ("category", info))
            groups.get(info.kind, groups["incident"]).addChild(item)
            if select_id is not None and str(info.id) == str(select_id):
                chosen = item
        self.tree.expandAll()
        self.tree.blockSignals(False)
        if chosen is not None:
            self.tree.setCurrentItem(chosen)
        else:
            self._show_category(None)

    def _item_of(self, category_id: Any) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                data = group.child(j).data(0, Qt.ItemDataRole.UserRole)
                if data and data[0] == "category" and data[1].id == category_id:
                    return group.child(j)
        return None

    def select_category_named(self, name: str, kind: str = "incident") -> bool:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            if group.data(0, Qt.ItemDataRole.UserRole)[1] != kind:
                continue
            for j in range(group.childCount()):
                info = group.child(j).data(0, Qt.ItemDataRole.UserRole)[1]
                if info.name == name:
                    self.tree.setCurrentItem(group.child(j))
                    return True
        return False

    def _category_chosen(self, current: QTreeWidgetItem | None, previous: QTreeWidgetItem | None
                         ) -> None:
        data = current.data(0, Qt.ItemDataRole.UserRole) if current else None
        info = data[1] if data and data[0] == "category" else None
        if self.category is not None and info is not None and info.id == self.category.id:
            return
        editing = self.category

        def stay() -> None:  # back to the category still being edited
            item = self._item_of(editing.id) if editing is not None else previous
            self.tree.blockSignals(True)
            self.tree.setCurrentItem(item)
            self.tree.blockSignals(False)

        self._leave(lambda: self._show_category(info), stay)

    def _leave(self, go: Callable[[], None], stay: Callable[[], None] = lambda: None) -> None:
        """With unsaved changes ask: Save (``go`` once the save went through, ``stay`` if it
        failed), Discard (``go``) or Cancel (``stay``).  Without, ``go`` at once."""
        if not self.dirty or self.category is None:
            go()
            return
        answer = QMessageBox.question(
            self, QCoreApplication.translate("DiagnosticEditor", "Unsaved script"),
            QCoreApplication.translate("DiagnosticEditor", "Save the changes to the script of {name}?").format(name=self.category.name),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            self.save(then=go, failed=stay)
        elif answer == QMessageBox.StandardButton.Discard:
            go()
        else:
            stay()

    def _show_category(self, info: categories.CategoryInfo | None) -> None:
        self.category = info
        self.steps = copy.deepcopy(info.steps) if info else []
        self.dirty = False
        self.steps_box.setEnabled(info is not None)
        from itsmdesk.views.signin import enable

        enable(self.rename_button, info is not None)
        self.steps_box.setTitle(QCoreApplication.translate("DiagnosticEditor", "Steps of {name}").format(name=info.name) if info
                                else QCoreApplication.translate("DiagnosticEditor", "Steps (pick a category)"))
        self._fill_steps(0 if self.steps else -1)
        self.status_label.setText("")

    def new_category(self) -> None:
        item = self.tree.currentItem()
        data = item.data(0, Qt.ItemDataRole.UserRole) if item else ("kind", "incident")
        kind = data[1] if data[0] == "kind" else data[1].kind
        label = QCoreApplication.translate("DiagnosticEditor", "Name of the new incident category") if kind == "incident" \
            else QCoreApplication.translate("DiagnosticEditor", "Name of the new request category")
        name, ok = QInputDialog.getText(self, QCoreApplication.translate("DiagnosticEditor", "New category"), label)
        if ok:
            self.create_category(name, kind)

    def create_category(self, name: str, kind: str) -> None:
        """Create a category (one write; unsaved script changes are dealt with first) and show
        it once it exists."""
        self._leave(lambda: self._create_category(name, kind))

    def _create_category(self, name: str, kind: str) -> None:
        self._busy(True)

        def done(row) -> None:  # noqa: ANN001 - the new Category
            self.dirty = False
            self.category = None  # the new one is shown once the list is read again
            self.load_categories(row.id)

        def failed(exc: BaseException) -> None:
            self._busy(False)
            show_error(self, exc)

        self.ctx.write(categories.create_category, name, kind, self.ctx.actor, on_done=done,
                       on_error=failed, owner=self)

    def rename_category(self, name: str | None = None) -> None:
        """Rename the category shown (one write, version-checked); unsaved step edits stay."""
        info = self.category
        if info is None:
            return
        if name is None:
            name, ok = QInputDialog.getText(self, QCoreApplication.translate("DiagnosticEditor", "Rename category"), QCoreApplication.translate("DiagnosticEditor", "New name"),
                                            QLineEdit.EchoMode.Normal, info.name)
            if not ok:
                return
        self._busy(True)

        def done(row) -> None:  # noqa: ANN001 - the renamed Category
            info.name, info.version = row.name, row.version
            if self.category is info:
                self.steps_box.setTitle(QCoreApplication.translate("DiagnosticEditor", "Steps of {name}").format(name=info.name))
            self.load_categories(row.id)  # keeps self.category, its steps and their edits

        def failed(exc: BaseException) -> None:
            self._busy(False)
            show_error(self, exc)

        self.ctx.write(categories.rename_category, info.id, info.version, name, self.ctx.actor,
                       on_done=done, on_error=failed, owner=self)

    # -- steps ----------------------------------------------------------------------------------------
    def _step_text(self, i: int) -> str:
        question = self.steps[i].get("question", "").strip() or QCoreApplication.translate("DiagnosticEditor", "(no question yet)")
        return f"{i + 1}. {question}"

    def _fill_steps(self, select: int) -> None:
        self.step_list.blockSignals(True)
        self.step_list.clear()
        for i in range(len(self.steps)):
            self.step_list.addItem(self._step_text(i))
        self.step_list.blockSignals(False)
        self.step_list.setCurrentRow(select)
        self._step_chosen(select)

    def _step_chosen(self, row: int) -> None:
        self.step_index = row if 0 <= row < len(self.steps) else -1
        step = self.steps[self.step_index] if self.step_index >= 0 else None
        self.step_box.setEnabled(step is not None)
        self.step_box.setTitle(QCoreApplication.translate("DiagnosticEditor", "Step {n}").format(n=self.step_index + 1) if step else QCoreApplication.translate("DiagnosticEditor", "Step"))
        self._filling = True
        self.question_edit.setText(step.get("question", "") if step else "")
        self.answer_table.setRowCount(0)
        for answer in (step.get("answers", []) if step else []):
            self._add_answer_row(answer)
        self._filling = False
        for b, ok in ((self.remove_step_button, step is not None),
                      (self.step_up_button, self.step_index > 0),
                      (self.step_down_button, 0 <= self.step_index < len(self.steps) - 1)):
            b.setEnabled(ok)

    def _changed(self) -> None:
        self.dirty = True
        self.status_label.setText(QCoreApplication.translate("DiagnosticEditor", "Unsaved changes"))

    def add_step(self, question: str = "") -> int:
        self.steps.append({"question": question, "answers": [{"label": QCoreApplication.translate("DiagnosticEditor", "Yes")},
                                                             {"label": QCoreApplication.translate("DiagnosticEditor", "No")}]})
        self._changed()
        self._fill_steps(len(self.steps) - 1)
        self.question_edit.setFocus()
        return len(self.steps) - 1

    def remove_step(self) -> None:
        i = self.step_index
        if i < 0:
            return
        del self.steps[i]
        self._changed()
        self._fill_steps(min(i, len(self.steps) - 1))

    def move_step(self, delta: int) -> None:
        i, j = self.step_index, self.step_index + delta
        if i < 0 or not 0 <= j < len(self.steps):
            return
        self.steps[i], self.steps[j] = self.steps[j], self.steps[i]
        self._changed()
        self._fill_steps(j)

    def _question_edited(self, text: str) -> None:
        if self._filling or self.step_index < 0:
            return
        self.steps[self.step_index]["question"] = text
        self.step_list.item(self.step_index).setText(self._step_text(self.step_index))
        self._changed()

    # -- answers --------------------------------------------------------------------------------------
    def _team_combo(self, value: Any) -> QComboBox:
        combo = QComboBox()
        combo.addItem(QCoreApplication.translate("DiagnosticEditor", "(no routing)"), None)
        for team_id, name in self.teams:
            combo.addItem(name, team_id)
        if value:
            text = str(value)
            index = next((i for i in range(1, combo.count())
                          if combo.itemData(i) == text or combo.itemText(i) == text), -1)
            if index < 0:  # a team that no longer exists: shown, refused on save
                combo.addItem(QCoreApplication.translate("DiagnosticEditor", "(unknown team {team})").format(team=text), text)
                index = combo.count() - 1
            combo.setCurrentIndex(index)
        combo.currentIndexChanged.connect(lambda _i: self._answers_edited())
        return combo

    def _add_answer_row(self, answer: dict) -> int:
        row = self.answer_table.rowCount()
        self.answer_table.insertRow(row)
        self.answer_table.setItem(row, 0, QTableWidgetItem(answer.get("label", "")))
        self.answer_table.setCellWidget(row, 1, self._team_combo(answer.get("route_team")))
        return row

    def _answers_edited(self) -> None:
        if self._filling or self.step_index < 0:
            return
        answers = []
        for row in range(self.answer_table.rowCount()):
            item = self.answer_table.item(row, 0)
            answer = {"label": item.text() if item else ""}
            team = self.answer_table.cellWidget(row, 1).currentData()
            if team:
                answer["route_team"] = team
            answers.append(answer)
        self.steps[self.step_index]["answers"] = answers
        self._changed()

    def add_answer(self, label: str = "", route_team: Any = None) -> int:
        if self.step_index < 0:
            return -1
        self._filling = True
        row = self._add_answer_row({"label": label, "route_team": route_team})
        self._filling = False
        self._answers_edited()
        self.answer_table.setCurrentCell(row, 0)
        if not label:
            self.answer_table.editItem(self.answer_table.item(row, 0))
        return row

    def set_answer(self, row: int, label: str | None = None, route_team: Any = "keep") -> None:
        """Change one answer's label and/or team (what typing and picking do; used by tests)."""
        if label is not None:
            self.answer_table.item(row, 0).setText(label)
        if route_team != "keep":
            combo = self.answer_table.cellWidget(row, 1)
            combo.setCurrentIndex(max(0, combo.findData(str(route_team) if route_team else None)))

    def remove_answer(self) -> None:
        row = self.answer_table.currentRow()
        if self.step_index < 0 or row < 0:
            return
        self.answer_table.removeRow(row)
        self._answers_edited()

    def move_answer(self, delta: int) -> None:
        row = self.answer_table.currentRow()
        answers = self.steps[self.step_index]["answers"] if self.step_index >= 0 else []
        target = row + delta
        if row < 0 or not 0 <= target < len(answers):
            return
        answers[row], answers[target] = answers[target], answers[row]
        self._changed()
        self._step_chosen(self.step_index)
        self.answer_table.setCurrentCell(target, 0)

    # -- save -------------------------------------------------------------------------------------------
    def save(self, then: Callable[[], None] | None = None,
             failed: Callable[[], None] | None = None) -> None:
        """Write the category's script (one write, validated and version-checked); the editor
        is disabled until it went through.  ``then`` runs after a successful save, ``failed``
        after the error was shown (the edits stay, still unsaved)."""
        info = self.category
        if info is None or not self.loaded:
            return
        self._busy(True)

        def done(row) -> None:  # noqa: ANN001 - the saved Category
            self._busy(False)
            info.version = row.version
            info.steps = list(row.diagnostic_script or [])
            if self.category is info:
                self.steps = copy.deepcopy(info.steps)
                self.dirty = False
                self._fill_steps(min(max(self.step_index, 0), len(self.steps) - 1))
                self.status_label.setText(QCoreApplication.translate("DiagnosticEditor", "Saved {n} steps for {name}").format(n=len(info.steps),
                                                                                  name=info.name))
            item = self._item_of(info.id)
            if item is not None:
                item.setText(0, info.name + (f"  ({len(info.steps)})" if info.steps else ""))
            if then is not None:
                then()

        def refused(exc: BaseException) -> None:
            self._busy(False)
            show_error(self, exc, QCoreApplication.translate("DiagnosticEditor", "Script not saved"))
            if failed is not None:
                failed()

        self.ctx.write(categories.save_script, info.id, info.version, copy.deepcopy(self.steps),
                       self.ctx.actor, on_done=done, on_error=refused, owner=self)

    def reject(self) -> None:
        self._leave(lambda: QDialog.reject(self))
