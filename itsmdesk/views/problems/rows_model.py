"""A read-only table model over a list of rows: dicts or read-model objects (dataclasses)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QTableView

from itsmdesk.views.fit_columns import fit_columns
from itsmdesk.words import word

Index = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole


class RowsModel(QAbstractTableModel):
    def __init__(self, columns: list[tuple[str, str]], parent=None) -> None:  # noqa: ANN001
        """``columns``: (row key, translated header)."""
        super().__init__(parent)
        self.columns = columns
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        get = row.get if isinstance(row, dict) else (lambda key: getattr(row, key, None))
        if role == ID_ROLE:
            return get("id")
        value = get(self.columns[index.column()][0])
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if value is None:
                return ""
            if isinstance(value, dt.datetime):  # stored in UTC, shown in the user's zone
                return value.replace(tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M")
            if self.columns[index.column()][0] == "priority":
                return f"P{value}" if value else ""
            if isinstance(value, str):
                return word(value) if self.columns[index.column()][0] in (
                    "status", "solution_status") else value
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and self.columns[index.column()][0] == "priority":
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, (int, float)):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def make_table(model: RowsModel, stretch: int = 1,
               keep: tuple[str, ...] = ()) -> QTableView:
    """A read-only list: column ``stretch`` (the title) takes the free width, the others fit
    their contents and, when the view is narrow, the widest of them give way first (the
    reference, the priority and the ``keep`` columns, e.g. counts and dates, never do)."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    fixed = tuple(i for i, (key, _h) in enumerate(model.columns) if key in ("ref", "priority", *keep))
    fit_columns(view, stretch, fixed)
    return view


def selected_ids(view: QTableView) -> list[Any]:
    model = view.model()
    rows = sorted({i.row() for i in view.selectionModel().selectedRows()})
    return [model.index(r, 0).data(ID_ROLE) for r in rows]
