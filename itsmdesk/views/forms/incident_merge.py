"""Stale edit: someone saved the ticket after it was opened.  Show, per field, what they saved
and what this agent typed, and let the agent choose; nothing is overwritten silently."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)


def tr(text: str) -> str:
    return QCoreApplication.translate("MergeDialog", text)


FIELD_LABELS = {
    "title": QT_TRANSLATE_NOOP("MergeDialog", "Title"),
    "description": QT_TRANSLATE_NOOP("MergeDialog", "Description"),
    "channel": QT_TRANSLATE_NOOP("MergeDialog", "Channel"),
    "impact": QT_TRANSLATE_NOOP("MergeDialog", "Impact"),
    "urgency": QT_TRANSLATE_NOOP("MergeDialog", "Urgency"),
    "priority": QT_TRANSLATE_NOOP("MergeDialog", "Priority"),
    "category": QT_TRANSLATE_NOOP("MergeDialog", "Category"),
    "team": QT_TRANSLATE_NOOP("MergeDialog", "Team"),
    "assignee": QT_TRANSLATE_NOOP("MergeDialog", "Assignee"),
    "caller": QT_TRANSLATE_NOOP("MergeDialog", "Caller"),
    "ci": QT_TRANSLATE_NOOP("MergeDialog", "CI"),
    "service": QT_TRANSLATE_NOOP("MergeDialog", "Service"),
    "major": QT_TRANSLATE_NOOP("MergeDialog", "Major incident"),
    "status": QT_TRANSLATE_NOOP("MergeDialog", "Status"),
    "pending_reason": QT_TRANSLATE_NOOP("MergeDialog", "Pending reason"),
    "resolution_code": QT_TRANSLATE_NOOP("MergeDialog", "Resolution code"),
    "solution": QT_TRANSLATE_NOOP("MergeDialog", "Solution"),
}


def _field(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return tr(label) if label else name.replace("_", " ")


def _text(value: Any) -> str:
    if value is None or value == "":
        return QCoreApplication.translate("MergeDialog", "(empty)")
    text = str(value)
    return text if len(text) < 80 else text[:77] + "…"


class MergeDialog(QDialog):
    """``mine``: the fields this agent changed; ``theirs``: the record as saved now;
    ``changed``: the fields the other person changed.  Fields only I changed are kept; fields
    both changed are chosen here (theirs by default)."""

    def __init__(self, message: str, mine: dict[str, Any], theirs: dict[str, Any],
                 changed: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mergeDialog")
        self.setWindowTitle(QCoreApplication.translate("MergeDialog", "Someone else saved this ticket"))
        self.mine = mine
        self.theirs = theirs
        self.choices: dict[str, QButtonGroup] = {}
        layout = QVBoxLayout(self)
        intro = QLabel(message + "\n\n" + QCoreApplication.translate("MergeDialog", "Choose which value to keep where you both changed a "
                                             "field. Your other changes are kept."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        for col, head in enumerate((QCoreApplication.translate("MergeDialog", "Field"), QCoreApplication.translate("MergeDialog", "Saved by them"), QCoreApplication.translate("MergeDialog", "Yours"))):
            grid.addWidget(QLabel(f"<b>{head}</b>"), 0, col)
        row = 1
        self.conflicts = [f for f in mine if f in changed]
        for name in self.conflicts:
            theirs_btn = QRadioButton(_text(theirs.get(name)))
            mine_btn = QRadioButton(_text(mine[name]))
            theirs_btn.setChecked(True)
            group = QButtonGroup(self)
            group.addButton(theirs_btn, 0)
            group.addButton(mine_btn, 1)
            self.choices[name] = group
            grid.addWidget(QLabel(_field(name)), row, 0)
            grid.addWidget(theirs_btn, row, 1)
            grid.addWidget(mine_btn, row, 2)
            row += 1
        for name in changed:
            if name not in mine:
                grid.addWidget(QLabel(_field(name)), row, 0)
                grid.addWidget(QLabel(_text(theirs.get(name))), row, 1)
                grid.addWidget(QLabel(QCoreApplication.translate("MergeDialog", "(unchanged by you)")), row, 2)
                row += 1
        layout.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(QCoreApplication.translate("MergeDialog", "Save merged"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choose_mine(self, name: str) -> None:
        self.choices[name].button(1).setChecked(True)

    def result_changes(self) -> dict[str, Any]:
        """What to save on top of their version."""
        out = {k: v for k, v in self.mine.items() if k not in self.choices}
        for name, group in self.choices.items():
            if group.checkedId() == 1:
                out[name] = self.mine[name]
        return out
