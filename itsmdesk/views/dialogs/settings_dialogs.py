"""Service desk settings: SLA targets and escalation share, the priority matrix."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.servicedesk import priority, sla
from itsmdesk.views.messages import show_error
from itsmdesk.words import word


def tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialogs", text)


class SlaDialog(QDialog):
    """Response and resolution targets per priority (business minutes) and the escalation share."""

    def __init__(self, ctx, parent: QWidget | None = None, kind: str = "incident") -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind
        self.setObjectName("slaDialog")
        self.setWindowTitle(QCoreApplication.translate("SettingsDialogs", "SLA targets ({kind})").format(kind=word(kind)))
        grid = QGridLayout()
        for col, head in enumerate((QCoreApplication.translate("SettingsDialogs", "Priority"), QCoreApplication.translate("SettingsDialogs", "Response (min)"), QCoreApplication.translate("SettingsDialogs", "Resolution (min)"))):
            grid.addWidget(QLabel(f"<b>{head}</b>"), 0, col)
        self.rows: dict[int, tuple[QSpinBox, QSpinBox]] = {}
        for p in (1, 2, 3, 4, 5):
            t = sla.target(kind, p)
            response, resolution = QSpinBox(), QSpinBox()
            for box, value in ((response, t.response_minutes), (resolution, t.resolution_minutes)):
                box.setRange(1, 525600)
                box.setValue(value)
            grid.addWidget(QLabel(f"P{p}"), p, 0)
            grid.addWidget(response, p, 1)
            grid.addWidget(resolution, p, 2)
            self.rows[p] = (response, resolution)
        self.share = QSpinBox()
        self.share.setObjectName("escalateShare")
        self.share.setRange(1, 100)
        self.share.setSuffix(" %")
        self.share.setValue(sla.escalate_pct())
        grid.addWidget(QLabel(QCoreApplication.translate("SettingsDialogs", "Escalate at")), 6, 0)
        grid.addWidget(self.share, 6, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(QCoreApplication.translate("SettingsDialogs", "Targets count business minutes on the SLA's calendar and stop "
                                   "while a ticket is pending.")))
        layout.addLayout(grid)
        layout.addWidget(buttons)

    def save(self) -> None:
        try:
            sla.set_escalate_pct(self.share.value())
            for p, (response, resolution) in self.rows.items():
                sla.set_target(self.kind, p, response.value(), resolution.value(),
                               escalate_at_pct=self.share.value(), actor=self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.accept()


class MatrixDialog(QDialog):
    """Impact x urgency -> priority."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("priorityMatrixDialog")
        self.setWindowTitle(QCoreApplication.translate("SettingsDialogs", "Priority matrix"))
        grid = QGridLayout()
        grid.addWidget(QLabel(QCoreApplication.translate("SettingsDialogs", "Impact \\ Urgency")), 0, 0)
        names = {1: QCoreApplication.translate("SettingsDialogs", "high"), 2: QCoreApplication.translate("SettingsDialogs", "medium"), 3: QCoreApplication.translate("SettingsDialogs", "low")}
        for u in (1, 2, 3):
            grid.addWidget(QLabel(f"<b>{names[u]}</b>"), 0, u)
        current = priority.matrix()
        self.cells: dict[str, QComboBox] = {}
        for i in (1, 2, 3):
            grid.addWidget(QLabel(f"<b>{names[i]}</b>"), i, 0)
            for u in (1, 2, 3):
                combo = QComboBox()
                for p in (1, 2, 3, 4, 5):
                    combo.addItem(f"P{p}", p)
                combo.setCurrentIndex(current[f"{i},{u}"] - 1)
                grid.addWidget(combo, i, u)
                self.cells[f"{i},{u}"] = combo
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(buttons)

    def save(self) -> None:
        try:
            priority.set_matrix({k: c.currentData() for k, c in self.cells.items()})
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.accept()
