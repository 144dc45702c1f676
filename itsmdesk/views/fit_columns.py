"""Columns that fit the view: one column (the title, the name) takes the free width, the others
are as wide as their contents; when the view is too narrow for all of that, the widest of the
other text columns give way first (their cells elide, the tooltip has the whole text) so the
title keeps a readable share instead of being squeezed to a few characters.

``fit_columns(view, stretch)`` installs it on a QTableView or a QTreeView; the widths follow
the view's width and its contents (model resets, rows added, branches expanded).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTreeView

TITLE_SHARE = 0.35
"""The share of the width the title keeps (when its text is that long) before other columns
are cut."""

MIN_CUT = 60
"""A column that gives way keeps at least this many pixels (and its heading)."""


def _header(view: QAbstractItemView) -> QHeaderView:
    return view.horizontalHeader() if isinstance(view, QTableView) else view.header()


def share_out(want: dict[int, int], floors: dict[int, int], excess: int) -> dict[int, int]:
    """Widths after taking ``excess`` pixels from the widest columns first (water-filling:
    every column above the level is cut to it), none below its floor."""
    if excess <= 0 or not want:
        return dict(want)

    def total(level: int) -> int:
        return sum(max(floors[c], min(w, level)) for c, w in want.items())

    target = sum(want.values()) - excess
    lo, hi = 0, max(want.values())
    while lo < hi:  # the highest level whose total fits the target
        mid = (lo + hi + 1) // 2
        if total(mid) <= target:
            lo = mid
        else:
            hi = mid - 1
    return {c: max(floors[c], min(w, lo)) for c, w in want.items()}


class ColumnFitter(QObject):
    def __init__(self, view: QAbstractItemView, stretch: int, fixed: tuple[int, ...] = ()) -> None:
        super().__init__(view)
        self.view, self.stretch, self.fixed = view, stretch, set(fixed)
        self.header = _header(view)
        self.header.setStretchLastSection(False)
        self.header.setMinimumSectionSize(24)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.fit)
        view.viewport().installEventFilter(self)
        self._watch_model()
        if isinstance(view, QTreeView):
            view.expanded.connect(lambda _i: self.schedule())
            view.collapsed.connect(lambda _i: self.schedule())

    def _watch_model(self) -> None:
        model = self.view.model()
        if model is None:
            return
        for signal in (model.modelReset, model.layoutChanged, model.rowsInserted,
                       model.rowsRemoved, model.dataChanged, model.headerDataChanged):
            signal.connect(self.schedule)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def schedule(self, *_args: object) -> None:
        self._timer.start()

    def wanted(self, column: int) -> int:
        """The width ``column``'s heading and the cells in view ask for."""
        return max(self.header.sectionSizeHint(column), self.view.sizeHintForColumn(column))

    def fit(self) -> None:
        model = self.view.model()
        if model is None:
            return
        columns = [c for c in range(model.columnCount()) if not self.header.isSectionHidden(c)]
        if self.stretch not in columns:
            return
        avail = self.view.viewport().width()
        want = {c: self.wanted(c) for c in columns if c != self.stretch}
        title = self.wanted(self.stretch)
        keep = min(title, max(int(avail * TITLE_SHARE), self.header.sectionSizeHint(self.stretch)))
        excess = sum(want.values()) + keep - avail
        elastic = {c: w for c, w in want.items() if c not in self.fixed}
        floors = {c: max(self.header.sectionSizeHint(c), min(w, MIN_CUT)) for c, w in elastic.items()}
        widths = {**want, **share_out(elastic, floors, excess)}
        for c in columns:
            if c == self.stretch:
                self.header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
            else:
                self.header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
                if self.header.sectionSize(c) != widths[c]:
                    self.header.resizeSection(c, widths[c])


def fit_columns(view: QAbstractItemView, stretch: int, fixed: tuple[int, ...] = ()) -> ColumnFitter:
    """Fit ``view``'s columns: ``stretch`` takes the free width, the others their contents;
    ``fixed`` columns (references, priorities) are never cut.  Call after the model is set."""
    fitter = ColumnFitter(view, stretch, fixed)  # a child of the view: lives as long
    fitter.schedule()
    return fitter
