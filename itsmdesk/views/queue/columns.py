"""The queue table's columns: each as wide as what it shows, the title taking what is left; which
columns show, in what order and how wide is the person's choice, kept for this workstation.

Until the person picks columns the table shows the queue's columns that fit beside a readable
title, in their order, and leaves out the last ones while the dock is too narrow for them (they
come back when it is wider): a ticket never needs a horizontal scroll bar to be read.  Once the
person picks columns (the header's context menu) the table shows exactly those; the title then
keeps a readable width and a scroll bar appears if they picked more than fit.  Dragging a header
reorders the columns, dragging a header's edge sets that column's width.

What is kept (QSettings, ``config.QUEUE_COLUMNS``, under the layout group that "Reset layout"
clears) is per set of columns: every predefined queue shares one, a saved queue with columns of
its own has its own.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHeaderView,
    QMenu,
    QStyle,
    QStyleOptionHeader,
    QTableView,
)

from itsmdesk import config

TITLE = "title"
ALWAYS = ("ref", TITLE)
"""Never hidden: a row without its reference or its title cannot be told from the others."""

CAPPED = ("team", "assignee", "caller", "category", "ci")
"""Names: as wide as the longest up to a limit, longer ones elided (the whole in the tooltip)."""

TITLE_CHARS = 22
"""The title keeps at least this many average characters before columns are left out."""

TITLE_SHARE = 0.3
"""...and at least this share of the table's width."""

NAME_CHARS = 24
SAMPLE_ROWS = 40


class QueueColumns(QObject):
    """Sizes, orders and shows the columns of ``table`` (a QTableView on a ``QueueModel``)."""

    sig_layout_changed = Signal()
    """The shown columns or their widths changed (after a fit)."""

    def __init__(self, table: QTableView, settings: QSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent or table)
        self.table = table
        self.model = table.model()
        self.settings = settings
        self.header = header = table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._menu_at)
        header.sectionMoved.connect(self._moved)
        header.sectionResized.connect(self._resized)
        header.sortIndicatorChanged.connect(lambda *_a: self.fit())
        header.setToolTip(QCoreApplication.translate(
            "QueueColumns", "Drag a header to move its column; right-click to choose the columns"))
        self.model.modelReset.connect(self.apply)
        table.viewport().installEventFilter(self)
        self._busy = 0
        self._content: dict[str, int] = {}  # widest cell seen per column (this session)
        self._store: dict[str, Any] = self._read()
        self.hidden_for_room: list[str] = []
        self.last_menu: QMenu | None = None

    # -- what is kept ---------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        if self.settings is None:
            return {}
        raw = self.settings.value(config.QUEUE_COLUMNS.key)
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self) -> None:
        if self.settings is not None:
            self.settings.setValue(config.QUEUE_COLUMNS.key, json.dumps(self._store, sort_keys=True))

    def key(self) -> str:
        return ",".join(self.model.columns)

    def layout(self) -> dict[str, Any]:
        """The kept layout of the columns shown now (a copy; empty when nothing was chosen)."""
        found = self._store.get(self.key())
        return dict(found) if isinstance(found, dict) else {}

    def _update(self, **values: Any) -> None:
        layout = self.layout()
        for name, value in values.items():
            if value is None:
                layout.pop(name, None)
            else:
                layout[name] = value
        if layout:
            self._store[self.key()] = layout
        else:
            self._store.pop(self.key(), None)
        self._write()

    @property
    def chosen(self) -> bool:
        """Whether the person picked the columns (else: the ones that fit)."""
        return isinstance(self.layout().get("shown"), list)

    # -- order ----------------------------------------------------------------------------------
    def order(self) -> list[str]:
        """The columns in the order shown (the person's, then any new ones in the queue's)."""
        columns = list(self.model.columns)
        kept = [c for c in self.layout().get("order", []) if c in columns]
        return kept + [c for c in columns if c not in kept]

    def visual_names(self) -> list[str]:
        """The column names left to right as the header shows them (hidden ones too)."""
        columns = self.model.columns
        return [columns[self.header.logicalIndex(v)] for v in range(self.header.count())]

    def shown(self) -> list[str]:
        return [n for n in self.visual_names()
                if not self.header.isSectionHidden(self.model.columns.index(n))]

    # -- applying ---------------------------------------------------------------------------------
    def apply(self) -> None:
        """After the model was reset (a queue, its columns or its rows changed): the kept order,
        the widths of what the rows show, and what fits."""
        columns = list(self.model.columns)
        if not columns or self.header.count() != len(columns):
            return
        self._busy += 1
        try:
            for position, name in enumerate(self.order()):
                current = self.header.visualIndex(columns.index(name))
                if current != position:
                    self.header.moveSection(current, position)
            for logical in range(len(columns)):
                self.header.setSectionResizeMode(logical, QHeaderView.ResizeMode.Interactive)
            self._measure()
        finally:
            self._busy -= 1
        self.fit()

    def _measure(self) -> None:
        """The widest cell of each column among the rows read (the first page).  Cheap enough
        for every reset: the texts come from the model's cache, and the view is asked for the
        size of a few cells per column only (one per distinct text, the widest few)."""
        rows = min(self.model.rowCount(), SAMPLE_ROWS)
        if not rows:
            return
        grid = 1 if self.table.showGrid() else 0
        metrics = self.table.fontMetrics()
        for logical, name in enumerate(self.model.columns):
            if name == TITLE:
                continue
            first_row = self.model.column_texts(logical, rows)
            if not first_row:
                continue
            widest_texts = sorted(first_row, key=metrics.horizontalAdvance, reverse=True)
            candidates = widest_texts if len(widest_texts) <= 8 else widest_texts[:3]
            widest = max(self.table.sizeHintForIndex(
                self.model.index(first_row[text], logical)).width() for text in candidates)
            self._content[name] = max(self._content.get(name, 0), widest + grid + 2)

    def _header_width(self, name: str) -> int:
        label = self.model.headerData(self.model.columns.index(name), Qt.Orientation.Horizontal)
        option = QStyleOptionHeader()
        option.initFrom(self.header)
        option.text = str(label or "")
        style = self.header.style()
        width = style.sizeFromContents(QStyle.ContentsType.CT_HeaderSection, option, QSize(),
                                       self.header).width() + 10
        sorted_col = self.header.sortIndicatorSection()
        if self.header.isSortIndicatorShown() and 0 <= sorted_col < len(self.model.columns) \
                and self.model.columns[sorted_col] == name:
            width += self.header.sizeHint().height() + style.pixelMetric(
                QStyle.PixelMetric.PM_HeaderMargin, None, self.header)
        return width

    def natural_width(self, name: str) -> int:
        """What the column needs: its header and its widest cell (names up to a limit)."""
        width = max(self._header_width(name), self._content.get(name, 0))
        if name in CAPPED:
            cap = self.table.fontMetrics().averageCharWidth() * NAME_CHARS
            width = min(width, max(cap, self._header_width(name)))
        return width

    def width_of(self, name: str) -> int:
        kept = self.layout().get("widths", {}).get(name)
        return int(kept) if isinstance(kept, int | float) and kept > 0 else self.natural_width(name)

    def title_minimum(self, share: bool = False) -> int:
        """The title's least width: a readable start of it (``share``: and, when the columns
        that fit are chosen, a good part of the table)."""
        least = max(self._header_width(TITLE),
                    self.table.fontMetrics().averageCharWidth() * TITLE_CHARS)
        return max(least, int(TITLE_SHARE * self.available())) if share else least

    def available(self) -> int:
        return self.table.viewport().width()

    def fit(self) -> None:
        """Show the chosen columns (or those that fit), each at its width; the title gets the
        rest, never less than a readable minimum."""
        columns = list(self.model.columns)
        if self._busy or not columns or self.header.count() != len(columns):
            return
        self._busy += 1
        try:
            order = self.order()
            widths = {name: self.width_of(name) for name in order if name != TITLE}
            room = self.available() - (self.title_minimum(share=True) if TITLE in columns else 0)
            chosen = self.layout().get("shown")
            if isinstance(chosen, list):
                show = [n for n in order if n in chosen or n in ALWAYS]
                self.hidden_for_room = []
            else:
                used = sum(widths[n] for n in order if n in ALWAYS and n != TITLE)
                show, left_out = [], False
                for name in order:
                    if name in ALWAYS:
                        show.append(name)
                    elif not left_out and used + widths[name] <= room:
                        show.append(name)
                        used += widths[name]
                    else:
                        left_out = True  # the columns after one that did not fit go too
                self.hidden_for_room = [n for n in order if n not in show]
            for logical, name in enumerate(columns):
                self.header.setSectionHidden(logical, name not in show)
                if name in show and name != TITLE:
                    self.header.resizeSection(logical, widths[name])
            if TITLE in show:
                others = sum(widths[n] for n in show if n != TITLE)
                title = max(self.title_minimum(), self.available() - others)
                self.header.resizeSection(columns.index(TITLE), title)
        finally:
            self._busy -= 1
        self.sig_layout_changed.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    # -- the person's choices -------------------------------------------------------------------
    def _moved(self, _logical: int, _old: int, _new: int) -> None:
        if self._busy:
            return
        self._update(order=self.visual_names())
        self.fit()

    def _resized(self, logical: int, _old: int, new: int) -> None:
        if self._busy or not 0 <= logical < len(self.model.columns):
            return
        name = self.model.columns[logical]
        if name == TITLE or new <= 0:
            return
        widths = dict(self.layout().get("widths", {}))
        widths[name] = int(new)
        self._update(widths=widths)
        self.fit()

    def set_shown(self, name: str, show: bool) -> None:
        """Show or hide a column by the person's choice (from then on the columns shown are the
        ones picked, not the ones that fit)."""
        if name in ALWAYS or name not in self.model.columns:
            return
        current = set(self.shown())
        if show:
            current.add(name)
        else:
            current.discard(name)
        self._update(shown=[n for n in self.order() if n in current],
                     order=self.visual_names())
        self.fit()

    def fit_automatically(self) -> None:
        """Back to the columns that fit, at the widths their contents need."""
        self._update(shown=None, widths=None)
        self.fit()

    def reset(self) -> None:
        """Forget every choice for these columns (order included)."""
        self._store.pop(self.key(), None)
        self._write()
        self.apply()

    def menu(self) -> QMenu:
        """The header's context menu: a check box per column, and the automatic fit."""
        menu = QMenu(self.table)
        shown = set(self.shown())
        for name in self.order():
            label = self.model.headerData(self.model.columns.index(name), Qt.Orientation.Horizontal)
            if name in self.hidden_for_room:
                label = QCoreApplication.translate("QueueColumns", "{column} (no room)").format(
                    column=label)
            action = QAction(str(label), menu)
            action.setCheckable(True)
            action.setChecked(name in shown)
            action.setEnabled(name not in ALWAYS)
            action.setData(name)
            action.toggled.connect(lambda on, n=name: self.set_shown(n, on))
            menu.addAction(action)
        menu.addSeparator()
        auto = QAction(QCoreApplication.translate("QueueColumns", "Show the columns that fit"), menu)
        auto.setCheckable(True)
        auto.setChecked(not self.chosen and not self.layout().get("widths"))
        auto.setToolTip(QCoreApplication.translate(
            "QueueColumns", "Columns as wide as their contents; the last ones are left out while "
            "there is no room"))
        auto.triggered.connect(self.fit_automatically)
        menu.addAction(auto)
        reset = QAction(QCoreApplication.translate("QueueColumns", "Reset the columns"), menu)
        reset.triggered.connect(self.reset)
        menu.addAction(reset)
        self.last_menu = menu
        return menu

    def _menu_at(self, pos) -> None:  # noqa: ANN001 - a QPoint
        self.menu().popup(self.header.viewport().mapToGlobal(pos))
