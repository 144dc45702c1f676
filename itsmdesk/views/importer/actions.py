"""File > Import… (Ctrl+I): the import wizard for other tools' CSV exports."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QKeySequence


def open_wizard(ctx, window):  # noqa: ANN001, ANN201
    from itsmdesk.views.importer.wizard import ImportWizard

    wizard = ImportWizard(ctx, window)
    wizard.setModal(True)
    wizard.show()
    return wizard


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    action = QAction(QCoreApplication.translate("ImportActions", "&Import…"), window)
    action.setObjectName("actionImport")
    action.setShortcut(QKeySequence("Ctrl+I"))
    action.setStatusTip(QCoreApplication.translate("ImportActions", "Import tickets, event logs, CIs or relations from another tool's CSV"))
    action.triggered.connect(lambda: open_wizard(ctx, window))
    return [("File", action)]
