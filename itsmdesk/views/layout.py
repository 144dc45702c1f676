"""Small layout helpers shared by dialogs: a row of buttons, a titled box around a list, an
editing table (one row selected at a time, one column stretching)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLayout,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)


def button_row(*items: QWidget | None) -> QHBoxLayout:
    """The widgets side by side; ``None`` stands for a stretch (push the rest to the right)."""
    row = QHBoxLayout()
    for item in items:
        if item is None:
            row.addStretch(1)
        else:
            row.addWidget(item)
    return row


def boxed(title: str, body: QWidget, below: QLayout | None = None) -> QGroupBox:
    """A group box titled ``title`` with ``body`` taking the space and ``below`` under it."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.addWidget(body, 1)
    if below is not None:
        layout.addLayout(below)
    return box


def edit_table(name: str, headers: list[str], row_height: int, stretch: int,
               widths: dict[int, int] | None = None) -> QTableWidget:
    """A table whose rows are edited in place by widgets: no row numbers, whole rows selected
    one at a time, column ``stretch`` takes the spare width, the others start at ``widths``."""
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(row_height)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    header = table.horizontalHeader()
    for column in range(len(headers)):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch if column == stretch
                                    else QHeaderView.ResizeMode.Interactive)
    for column, width in (widths or {}).items():
        table.setColumnWidth(column, width)
    return table
