"""The CMDB tree: CIs grouped by class, site or business service, loaded branch by branch.

Each branch asks :mod:`itsmdesk.services.cmdb.tree` for one page (500 CIs) on the database worker
when it is first expanded; a "more…" row fetches the next page.  CIs drag out as
``application/x-itsmdesk-ci`` (CI UUIDs, one a line) onto incident and change forms.
"""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QMimeData, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QTreeView

from itsmdesk.services.cmdb import tree as cmdb_tree
from itsmdesk.views.fit_columns import fit_columns
from itsmdesk.views.lazy import WhenShown
from itsmdesk.words import word

CI_MIME = "application/x-itsmdesk-ci"
ROLE_KIND = Qt.ItemDataRole.UserRole + 1  # "group" | "ci" | "more" | "loading"
ROLE_KEY = Qt.ItemDataRole.UserRole + 2  # group key or CI id
ROLE_LOADED = Qt.ItemDataRole.UserRole + 3
ROLE_AFTER = Qt.ItemDataRole.UserRole + 4  # for "more": the last name shown
PAGE = 500

CRITICALITY_COLOURS = {"critical": "#b3261e", "high": "#c77700", "medium": "#3d6a99",
                       "low": "#6b6b6b"}


class CmdbModel(QStandardItemModel):
    """Items know what they are (kind/key); CI rows drag as the CI MIME type."""

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt API
        return [CI_MIME, "text/plain"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802 - Qt API
        ids, names = [], []
        for index in indexes:
            if index.column() == 0 and index.data(ROLE_KIND) == "ci":
                key = str(index.data(ROLE_KEY))
                if key not in ids:
                    ids.append(key)
                    names.append(index.data(Qt.ItemDataRole.DisplayRole))
        data = QMimeData()
        data.setData(CI_MIME, "\n".join(ids).encode())
        data.setText("\n".join(names))
        return data


class CmdbTree(QTreeView):
    sig_ci_activated = Signal(object)
    """(CI id) the person opened a CI (double click / Enter)."""

    sig_ci_selected = Signal(object)
    """(CI id or None) the current CI changed."""

    def __init__(self, ctx, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.lazy = WhenShown(self, self._reload_now)
        self.ctx = ctx
        self.grouping = "class"
        self.filter_text = ""
        self.model_ = CmdbModel(self)
        self.setModel(self.model_)
        self.setObjectName("cmdbTree")
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.expanded.connect(self._on_expanded)
        self.activated.connect(self._on_activated)
        self.selectionModel().currentChanged.connect(self._on_current)
        # the name takes the free width; class and status their contents (they give way first
        # in a narrow dock); refitted as branches open
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        fit_columns(self, 0)
        self._generation = 0
        self.reload()

    # -- loading -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the tree again now if it can be seen, else when it is next shown."""
        self.lazy.request()

    def _reload_now(self) -> None:
        self._generation += 1
        self.model_.clear()
        self.model_.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Class"), self.tr("Status")])
        generation = self._generation
        self.ctx.query(cmdb_tree.roots, self.grouping, self.filter_text or None,
                       on_done=lambda nodes: self._fill_roots(nodes, generation),
                       key="cmdb-tree-roots", owner=self)

    def set_grouping(self, grouping: str) -> None:
        if grouping != self.grouping:
            self.grouping = grouping
            self.reload()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self.reload()

    def _row(self, node: cmdb_tree.TreeNode) -> list[QStandardItem]:
        if node.kind == "group":
            text = f"{node.label} ({node.count})" if node.count is not None else node.label
        else:
            text = node.label
        name = QStandardItem(text)
        name.setEditable(False)
        name.setData(node.kind, ROLE_KIND)
        name.setData(node.key, ROLE_KEY)
        name.setData(False, ROLE_LOADED)
        if node.kind == "ci":
            name.setDragEnabled(True)
            colour = CRITICALITY_COLOURS.get(node.criticality)
            if colour:
                name.setForeground(QBrush(QColor(colour)))
            tip = self.tr("{name}\nClass: {cls}\nStatus: {status}\nCriticality: {crit}")
            name.setToolTip(tip.format(name=node.label, cls=node.detail,
                                       status=word(node.status),
                                       crit=node.criticality))
        else:
            name.setDragEnabled(False)
        detail = QStandardItem(node.detail if not node.relation else
                               f"{node.detail} · {node.relation.replace('_', ' ')}")
        status = QStandardItem(word(node.status))
        for item in (detail, status):
            item.setEditable(False)
            item.setDragEnabled(node.kind == "ci")
        expandable = node.has_children or (node.kind == "group" and (node.count or 0) > 0)
        if expandable:
            placeholder = QStandardItem(self.tr("Loading…"))
            placeholder.setData("loading", ROLE_KIND)
            placeholder.setEditable(False)
            placeholder.setDragEnabled(False)
            name.appendRow(placeholder)
        return [name, detail, status]

    def _fill_roots(self, nodes: list[cmdb_tree.TreeNode], generation: int) -> None:
        if generation != self._generation:
            return
        for node in nodes:
            self.model_.appendRow(self._row(node))
        if self.filter_text and len(nodes) <= 3:
            for row in range(self.model_.rowCount()):
                self.expand(self.model_.index(row, 0))

    def _on_expanded(self, index: QModelIndex) -> None:
        item = self.model_.itemFromIndex(index)
        if item is None or item.data(ROLE_LOADED):
            return
        item.setData(True, ROLE_LOADED)
        self._load_page(item, None)

    def _load_page(self, item: QStandardItem, after: str | None) -> None:
        kind, key = item.data(ROLE_KIND), item.data(ROLE_KEY)
        grouping = self.grouping if kind == "group" or self.grouping == "service" else "service"
        generation = self._generation
        if kind == "ci":
            fn, args = cmdb_tree.dependencies, (key, after, PAGE)
        else:
            fn, args = cmdb_tree.branch, (grouping, key, after, PAGE, self.filter_text or None)
        self.ctx.query(fn, *args,
                       on_done=lambda branch: self._fill_branch(item, branch, generation), owner=self)

    def _fill_branch(self, item: QStandardItem, branch: cmdb_tree.Branch, generation: int) -> None:
        if generation != self._generation:
            return
        # drop the placeholder / the previous "more" row
        for row in reversed(range(item.rowCount())):
            if item.child(row).data(ROLE_KIND) in ("loading", "more"):
                item.removeRow(row)
        for node in branch.nodes:
            item.appendRow(self._row(node))
        if branch.more and branch.nodes:
            more = QStandardItem(self.tr("More… (next {n})").format(n=PAGE))
            more.setData("more", ROLE_KIND)
            more.setData(branch.nodes[-1].label, ROLE_AFTER)
            more.setEditable(False)
            more.setDragEnabled(False)
            more.setForeground(QBrush(QColor("#3d6a99")))
            item.appendRow(more)

    # -- activation ----------------------------------------------------------------------------
    def _on_activated(self, index: QModelIndex) -> None:
        index = index.siblingAtColumn(0)
        kind = index.data(ROLE_KIND)
        if kind == "ci":
            self.sig_ci_activated.emit(index.data(ROLE_KEY))
        elif kind == "more":
            parent = self.model_.itemFromIndex(index.parent())
            if parent is not None:
                self._load_page(parent, index.data(ROLE_AFTER))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        index = current.siblingAtColumn(0)
        self.sig_ci_selected.emit(index.data(ROLE_KEY) if index.data(ROLE_KIND) == "ci" else None)

    def selected_ci_ids(self) -> list[Any]:
        out = []
        for index in self.selectionModel().selectedRows(0):
            if index.data(ROLE_KIND) == "ci":
                out.append(index.data(ROLE_KEY))
        return out

    def current_ci_id(self) -> uuid.UUID | None:
        index = self.currentIndex().siblingAtColumn(0)
        return index.data(ROLE_KEY) if index.data(ROLE_KIND) == "ci" else None
