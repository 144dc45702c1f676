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
        self.ctx.worker.submit(problems.list_problems,
                               ("new", "investigating", "root_cause_known"), self.search.text(),
                               200, on_done=self.model.set_rows, key="link-problem")

    def _new_problem(self) -> None:
        from itsmdesk.models.incident import Incident

        try:
            first = Incident.get_by_id(self.incident_ids[0])
            problem = problems.create_problem({"title": first.title, "ci": first.ci_id,
                                               "service": first.service_id}, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self._link(problem.id)

    def accept(self) -> None:
        ids = selected_ids(self.table)
        if ids:
            self._link(ids[0])

    def _link(self, problem_id: Any) -> None:
        try:
            problems.link_incidents(problem_id, self.incident_ids, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.problem_id = problem_id
        self.ctx.records_changed("incident", self.incident_ids)
        self.ctx.records_changed("problem", [problem_id])
        super().accept()


def link_incidents_dialog(ctx, parent: QWidget | None, incident_ids: list[Any]) -> Any:  # noqa: ANN001
    dialog = LinkToProblemDialog(ctx, incident_ids, parent)
    dialog.exec()
    return dialog.problem_id
