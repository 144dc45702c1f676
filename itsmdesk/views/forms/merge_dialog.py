"""Stale edit: someone saved the record after it was opened.  Show, per field, what they saved
and what this person typed, and let them choose; nothing is overwritten silently.  Every record
form uses it (see ``forms/base.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.words import WORDS, field_label, word


def _text(value: Any) -> str:
    if value is None or value == "":
        return QCoreApplication.translate("MergeDialog", "(empty)")
    if isinstance(value, bool):
        return word("yes" if value else "no")
    text = str(value)
    if text in WORDS:
        text = word(text)
    return text if len(text) < 80 else text[:77] + "…"


class MergeDialog(QDialog):
    """``mine``: the fields this person changed; ``theirs``: the record as saved now;
    ``changed``: the fields the other person changed.  Fields only I changed are kept; fields
    both changed are chosen here (theirs by default).  ``shown`` gives display text for values
    that are ids (the other person's choice of team, CI...); ``describe(field, value)`` does the
    same for mine."""

    def __init__(self, message: str, mine: dict[str, Any], theirs: dict[str, Any],
                 changed: list[str], parent: QWidget | None = None,
                 shown: dict[str, str] | None = None,
                 describe: Callable[[str, Any], str] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mergeDialog")
        self.setWindowTitle(QCoreApplication.translate("MergeDialog", "Someone else saved this record"))
        self.mine = mine
        self.theirs = theirs
        self.choices: dict[str, QButtonGroup] = {}
        shown = shown or {}

        def theirs_text(name: str) -> str:
            return _text(shown.get(name, theirs.get(name)))

        def mine_text(name: str) -> str:
            return _text(describe(name, mine[name]) if describe else mine[name])

        layout = QVBoxLayout(self)
        intro = QLabel(message + "\n\n" + QCoreApplication.translate("MergeDialog", "Choose which value to keep where you both changed a "
                                             "field. Your other changes are kept."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        for col, head in enumerate((QCoreApplication.translate("MergeDialog", "Field"), QCoreApplication.translate("MergeDialog", "Saved by them"), QCoreApplication.translate("MergeDialog", "Yours"))):
            grid.addWidget(QLabel(f"<b>{head}</b>"), 0, col)
        row = 1
        self.conflicts = [f for f in mine if f in changed]
        for name in self.conflicts:
            theirs_btn = QRadioButton(theirs_text(name))
            mine_btn = QRadioButton(mine_text(name))
            theirs_btn.setChecked(True)
            group = QButtonGroup(self)
            group.addButton(theirs_btn, 0)
            group.addButton(mine_btn, 1)
            self.choices[name] = group
            grid.addWidget(QLabel(field_label(name)), row, 0)
            grid.addWidget(theirs_btn, row, 1)
            grid.addWidget(mine_btn, row, 2)
            row += 1
        for name in changed:
            if name not in mine:
                grid.addWidget(QLabel(field_label(name)), row, 0)
                grid.addWidget(QLabel(theirs_text(name) if name in theirs
                                      else QCoreApplication.translate("MergeDialog", "(changed)")), row, 1)
                grid.addWidget(QLabel(QCoreApplication.translate("MergeDialog", "(unchanged by you)")), row, 2)
                row += 1
        for name in mine:
            if name not in changed:
                grid.addWidget(QLabel(field_label(name)), row, 0)
                grid.addWidget(QLabel(QCoreApplication.translate("MergeDialog", "(unchanged by them)")), row, 1)
                grid.addWidget(QLabel(mine_text(name)), row, 2)
                row += 1
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        layout.addWidget(scroll, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(QCoreApplication.translate("MergeDialog", "Save merged"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, min(520, 180 + 32 * row))

    def choose_mine(self, name: str) -> None:
        self.choices[name].button(1).setChecked(True)

    def result_changes(self) -> dict[str, Any]:
        """What to save on top of their version."""
        out = {k: v for k, v in self.mine.items() if k not in self.choices}
        for name, group in self.choices.items():
            if group.checkedId() == 1:
                out[name] = self.mine[name]
        return out
