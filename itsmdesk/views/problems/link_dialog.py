""""Link to problem" for a queue selection or the incident form.

``link_incidents_dialog(ctx, parent, incident_ids) -> problem id or None`` asks which problem
(search by words or reference, or create a new one from the first incident's title) and links the
incidents to it in one transaction.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.problem import problems
from itsmdesk.views.messages import show_error
from itsmdesk.views.problems.rows_model import RowsModel, make_table, selected_ids


class LinkToProblemDialog(QDialog):
    def __init__(self, ctx, incident_ids: list[Any], parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.incident_ids = list(incident_ids)
        self.problem_id: Any = None
        self.setWindowTitle(self.tr("Link {n} incident(s) to a problem").format(n=len(incident_ids)))
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search open problems by words or PRB-…"))
        self.model = RowsModel([("ref", self.tr("Reference")), ("title", self.tr("Title")),
                                ("status", self.tr("Status")), ("incidents", self.tr("Incidents"))],
                               self)
        self.table = make_table(self.model)
        self.table.doubleClicked.connect(lambda _i: self.accept())
        self.new_button = QPushButton(self.tr("&New problem from these incidents"))
        self.new_button.clicked.connect(self._new_problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Problem:")))
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.new_button)
        layout.addWidget(buttons)
        self.resize(640, 420)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.refresh()

    def refresh(self) -> None:
        self.ctx.query(problems.list_problems,
                       ("new", "investigating", "root_cause_known"), self.search.text(),
                       200, on_done=self.model.set_rows, key="link-problem", owner=self)

    def _new_problem(self) -> None:
        self._link(None)

    def accept(self) -> None:
        ids = selected_ids(self.table)
        if ids:
            self._link(ids[0])

    def _link(self, problem_id: Any) -> None:
        """Link the incidents (to a new problem made from the first one when ``problem_id`` is
        None) in one write; the dialog closes once it went through."""
        self.new_button.setEnabled(False)

        def done(linked_to: Any) -> None:
            self.problem_id = linked_to
            super(LinkToProblemDialog, self).accept()

        def failed(exc: BaseException) -> None:
            self.new_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.write(problems.link_incidents_to, problem_id, self.incident_ids, self.ctx.actor,
                       on_done=done, on_error=failed, owner=self)


def link_incidents_dialog(ctx, parent: QWidget | None, incident_ids: list[Any]) -> Any:  # noqa: ANN001
    dialog = LinkToProblemDialog(ctx, incident_ids, parent)
    dialog.exec()
    return dialog.problem_id
