"""The CMDB dock: grouping (class / site / business service), filter box, the lazy tree, and
an impact pane for the selected CI.  Menu actions: CSV import/export, baselines, audit, impact
graph."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.records import Changes
from itsmdesk.views.cmdb.graph import ImpactGraphWidget
from itsmdesk.views.cmdb.tree import CmdbTree


class CmdbPanel(QWidget):
    def __init__(self, ctx, window=None, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.window_ = window
        self.setObjectName("cmdbPanel")
        self.grouping = QComboBox()
        self.grouping.setObjectName("cmdbGrouping")
        self.grouping.addItem(self.tr("By class"), "class")
        self.grouping.addItem(self.tr("By site"), "site")
        self.grouping.addItem(self.tr("By business service"), "service")
        self.filter = QLineEdit()
        self.filter.setObjectName("cmdbFilter")
        self.filter.setPlaceholderText(self.tr("Filter CIs by name (Ctrl+Shift+F)"))
        self.filter.setClearButtonEnabled(True)
        self.tree = CmdbTree(ctx, self)
        self.impact_button = QPushButton(self.tr("Impact"))
        self.impact_button.setToolTip(self.tr("Show what fails if the selected CI fails (Ctrl+I)"))
        self.impact_button.setEnabled(False)
        self.new_button = QPushButton(self.tr("New CI"))
        top = QHBoxLayout()
        top.addWidget(self.grouping)
        top.addWidget(self.filter, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.impact_button)
        buttons.addStretch(1)
        self.graph = ImpactGraphWidget(ctx, parent=self)
        self.graph.hide()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.graph)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)
        self._filter_timer.timeout.connect(lambda: self.tree.set_filter(self.filter.text()))
        self.filter.textChanged.connect(lambda _t: self._filter_timer.start())
        self.grouping.currentIndexChanged.connect(
            lambda _i: self.tree.set_grouping(self.grouping.currentData()))
        self.tree.sig_ci_activated.connect(lambda cid: ctx.open_record("ci", cid))
        self.tree.sig_ci_selected.connect(lambda cid: self.impact_button.setEnabled(cid is not None))
        self.impact_button.clicked.connect(self.show_impact)
        self.new_button.clicked.connect(lambda: ctx.open_record("ci", None))
        ctx.sig_changes.connect(self._on_changed)
        for key, slot in (("Ctrl+Shift+F", self.filter.setFocus), ("Ctrl+Shift+G", self.show_impact)):
            action = QAction(self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    def show_impact(self) -> None:
        ci_id = self.tree.current_ci_id()
        if ci_id is None:
            return
        self.graph.show()
        self.graph.set_ci(ci_id, self.tree.currentIndex().siblingAtColumn(0).data())

    def _on_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.CI, Kind.RELATION):
            self.tree.reload()


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return CmdbPanel(ctx, window)


def _dialog(factory):  # noqa: ANN001, ANN202
    def run() -> None:
        dialog: QDialog = factory()
        dialog.exec()
    return run


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    from itsmdesk.views.cmdb import dialogs

    out = []

    def action(menu: str, text: str, shortcut: str, slot) -> None:  # noqa: ANN001
        act = QAction(text, window)
        act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        out.append((menu, act))

    action("File", QCoreApplication.translate("cmdb", "Import CIs/relations from CSV…"), "Ctrl+Alt+Shift+I",
           _dialog(lambda: dialogs.ImportDialog(ctx, "cis", window)))
    action("File", QCoreApplication.translate("cmdb", "Export CIs as CSV…"), "Ctrl+Alt+Shift+E",
           lambda: dialogs.export_with_dialog(ctx, "cis", window))
    action("File", QCoreApplication.translate("cmdb", "Export relations as CSV…"), "Ctrl+Alt+R",
           lambda: dialogs.export_with_dialog(ctx, "relations", window))
    action("Tools", QCoreApplication.translate("cmdb", "CMDB baselines…"), "Ctrl+Alt+B",
           _dialog(lambda: dialogs.BaselineDialog(ctx, window)))
    action("Tools", QCoreApplication.translate("cmdb", "Audit CMDB against a scan…"), "Ctrl+Alt+A",
           _dialog(lambda: dialogs.AuditDialog(ctx, window)))
    action("Records", QCoreApplication.translate("cmdb", "New CI"), "Ctrl+Alt+Shift+N", lambda: ctx.open_record("ci", None))
    return out
