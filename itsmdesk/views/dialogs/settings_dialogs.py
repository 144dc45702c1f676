"""Service desk settings: SLA targets and escalation share, the priority matrix.

Both dialogs open at once and fill in when their read answers (Save stays disabled until then);
Save is one write, checked against the versions read with the dialog's data, so an edit made
elsewhere meanwhile conflicts instead of being overwritten.  The dialog closes once the write
went through and stays open, with the error's sentence, when it did not.
"""

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
from itsmdesk.views.signin import enable, gate
from itsmdesk.words import word


class SlaDialog(QDialog):
    """Response and resolution targets per priority (business minutes) and the escalation share."""

    def __init__(self, ctx, parent: QWidget | None = None, kind: str = "incident") -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind
        self.settings: sla.SlaSettings | None = None
        self.setObjectName("slaDialog")
        self.setWindowTitle(QCoreApplication.translate("SettingsDialogs", "SLA targets ({kind})").format(kind=word(kind)))
        grid = QGridLayout()
        for col, head in enumerate((QCoreApplication.translate("SettingsDialogs", "Priority"), QCoreApplication.translate("SettingsDialogs", "Response (min)"), QCoreApplication.translate("SettingsDialogs", "Resolution (min)"),
                                    QCoreApplication.translate("SettingsDialogs", "Calendar"))):
            grid.addWidget(QLabel(f"<b>{head}</b>"), 0, col)
        self.rows: dict[int, tuple[QSpinBox, QSpinBox]] = {}
        self.calendar_labels: dict[int, QLabel] = {}
        for p in (1, 2, 3, 4, 5):
            response, resolution = QSpinBox(), QSpinBox()
            for box in (response, resolution):
                box.setRange(1, 525600)
            grid.addWidget(QLabel(f"P{p}"), p, 0)
            grid.addWidget(response, p, 1)
            grid.addWidget(resolution, p, 2)
            calendar = QLabel("")  # the target's calendar: shown, kept on save (CLI sets it)
            calendar.setObjectName(f"slaCalendar{p}")
            grid.addWidget(calendar, p, 3)
            self.calendar_labels[p] = calendar
            self.rows[p] = (response, resolution)
        self.share = QSpinBox()
        self.share.setObjectName("escalateShare")
        self.share.setRange(1, 100)
        self.share.setSuffix(" %")
        grid.addWidget(QLabel(QCoreApplication.translate("SettingsDialogs", "Escalate at")), 6, 0)
        grid.addWidget(self.share, 6, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)  # until the targets are read
        gate(self.save_button, ctx, "catalog.manage")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(QCoreApplication.translate("SettingsDialogs", "Targets count business minutes on the SLA's calendar and stop "
                                   "while a ticket is pending.")))
        layout.addLayout(grid)
        layout.addWidget(self.buttons)
        ctx.query(sla.settings_for, kind, on_done=self._fill, owner=self)

    def _fill(self, settings: sla.SlaSettings) -> None:
        self.settings = settings
        for p, (response, resolution) in self.rows.items():
            response.setValue(settings.targets[p][0])
            resolution.setValue(settings.targets[p][1])
        self.share.setValue(settings.escalate_pct)
        for p, label in self.calendar_labels.items():
            name = settings.calendars.get(p, "")
            label.setText(name if name != "24x7" else QCoreApplication.translate("SettingsDialogs", "24x7"))
        enable(self.save_button, True)

    def targets(self) -> dict[int, tuple[int, int]]:
        return {p: (response.value(), resolution.value())
                for p, (response, resolution) in self.rows.items()}

    def save(self) -> None:
        settings = self.settings
        if settings is None:
            return
        self.save_button.setEnabled(False)

        def done(stored: sla.SlaSettings) -> None:
            self.settings = stored
            self.accept()

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.write(sla.save_settings, self.kind, self.targets(), self.share.value(),
                       self.ctx.actor, dict(settings.versions), settings.escalate_version,
                       on_done=done, on_error=failed, owner=self)


class MatrixDialog(QDialog):
    """Impact x urgency -> priority."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.version: int | None = None  # the matrix's version as read (None: not read yet)
        self.setObjectName("priorityMatrixDialog")
        self.setWindowTitle(QCoreApplication.translate("SettingsDialogs", "Priority matrix"))
        grid = QGridLayout()
        grid.addWidget(QLabel(QCoreApplication.translate("SettingsDialogs", "Impact \\ Urgency")), 0, 0)
        names = {1: QCoreApplication.translate("SettingsDialogs", "high"), 2: QCoreApplication.translate("SettingsDialogs", "medium"), 3: QCoreApplication.translate("SettingsDialogs", "low")}
        for u in (1, 2, 3):
            grid.addWidget(QLabel(f"<b>{names[u]}</b>"), 0, u)
        self.cells: dict[str, QComboBox] = {}
        for i in (1, 2, 3):
            grid.addWidget(QLabel(f"<b>{names[i]}</b>"), i, 0)
            for u in (1, 2, 3):
                combo = QComboBox()
                for p in (1, 2, 3, 4, 5):
                    combo.addItem(f"P{p}", p)
                grid.addWidget(combo, i, u)
                self.cells[f"{i},{u}"] = combo
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)  # until the matrix is read
        gate(self.save_button, ctx, "settings.manage")
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.buttons)
        ctx.query(priority.matrix_for_editing, on_done=self._fill, owner=self)

    def _fill(self, result: tuple[dict[str, int], int]) -> None:
        current, self.version = result
        for key, combo in self.cells.items():
            combo.setCurrentIndex(max(0, combo.findData(current.get(key))))
        enable(self.save_button, True)

    def matrix(self) -> dict[str, int]:
        return {k: c.currentData() for k, c in self.cells.items()}

    def save(self) -> None:
        if self.version is None:
            return
        self.save_button.setEnabled(False)

        def done(version: int) -> None:
            self.version = version
            self.accept()

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.write(priority.set_matrix, self.matrix(), self.ctx.actor, self.version,
                       on_done=done, on_error=failed, owner=self)
