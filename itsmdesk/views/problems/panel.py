"""Problems and known errors dock: the problem list, the KEDB, and problem candidates
(recurring incidents not yet linked to a problem)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.problem import problems, recurring
from itsmdesk.services.records import Changes
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.messages import show_error
from itsmdesk.views.problems.rows_model import ID_ROLE, RowsModel, make_table

OPEN_PROBLEM_STATUSES = ("new", "investigating", "root_cause_known", "resolved")


class ProblemsPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.lazy = WhenShown(self, self._refresh_now)
        self.ctx = ctx
        self.setObjectName("problemsPanel")
        self.candidates: list[recurring.Candidate] = []
        self.tabs = QTabWidget()
        self.tabs.setObjectName("problemTabs")
        self.tabs.addTab(self._problems_tab(), self.tr("&Problems"))
        self.tabs.addTab(self._known_errors_tab(), self.tr("&Known errors"))
        self.tabs.addTab(self._candidates_tab(), self.tr("Ca&ndidates"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.refresh)
        ctx.sig_changes.connect(self._records_changed)
        self.tabs.currentChanged.connect(lambda _i: self.refresh())
        self.refresh()

    # -- tabs ------------------------------------------------------------------------------------
    def _problems_tab(self) -> QWidget:
        w = QWidget()
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("statusFilter")
        self.status_filter.addItem(self.tr("Open problems"), OPEN_PROBLEM_STATUSES)
        self.status_filter.addItem(self.tr("All problems"), None)
        for status, label in (("new", self.tr("New")), ("investigating", self.tr("Investigating")),
                              ("root_cause_known", self.tr("Root cause known")),
                              ("resolved", self.tr("Resolved")), ("closed", self.tr("Closed"))):
            self.status_filter.addItem(label, (status,))
        self.problem_search = QLineEdit()
        self.problem_search.setPlaceholderText(self.tr("Search problems…"))
        self.problem_search.setClearButtonEnabled(True)
        new = QPushButton(self.tr("New problem"))
        new.clicked.connect(lambda: self.ctx.open_record("problem", None))
        bar = QHBoxLayout()
        bar.addWidget(self.status_filter)
        bar.addWidget(self.problem_search, 1)
        bar.addWidget(new)
        self.problem_model = RowsModel([
            ("ref", self.tr("Reference")), ("priority", self.tr("Priority")),
            ("title", self.tr("Title")),
            ("status", self.tr("Status")), ("service", self.tr("Service")),
            ("incidents", self.tr("Incidents"))], self)
        self.problem_table = make_table(self.problem_model, stretch=2)
        self.problem_table.setObjectName("problemTable")
        self.problem_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("problem", i.data(ID_ROLE)))
        layout = QVBoxLayout(w)
        layout.addLayout(bar)
        layout.addWidget(self.problem_table)
        self.status_filter.currentIndexChanged.connect(self.refresh)
        self.problem_search.textChanged.connect(lambda _t: self._debounce.start())
        return w

    def _known_errors_tab(self) -> QWidget:
        w = QWidget()
        self.ke_search = QLineEdit()
        self.ke_search.setPlaceholderText(self.tr("Search symptoms, error codes, workarounds…"))
        self.ke_search.setClearButtonEnabled(True)
        new = QPushButton(self.tr("New known error"))
        new.clicked.connect(lambda: self.ctx.open_record("known_error", None))
        bar = QHBoxLayout()
        bar.addWidget(self.ke_search, 1)
        bar.addWidget(new)
        self.ke_model = RowsModel([
            ("ref", self.tr("Reference")), ("title", self.tr("Title")),
            ("error_code", self.tr("Error code")), ("solution_status", self.tr("Solution")),
            ("incidents", self.tr("Incidents"))], self)
        self.ke_table = make_table(self.ke_model)
        self.ke_table.setObjectName("knownErrorTable")
        self.ke_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("known_error", i.data(ID_ROLE)))
        layout = QVBoxLayout(w)
        layout.addLayout(bar)
        layout.addWidget(self.ke_table)
        self.ke_search.textChanged.connect(lambda _t: self._debounce.start())
        return w

    def _candidates_tab(self) -> QWidget:
        w = QWidget()
        self.days = QComboBox()
        for days, label in ((14, self.tr("Last 14 days")), (30, self.tr("Last 30 days")),
                            (90, self.tr("Last 90 days"))):
            self.days.addItem(label, days)
        self.days.setCurrentIndex(1)
        self.create_button = QPushButton(self.tr("&Create problem"))
        self.create_button.setObjectName("createProblemButton")
        self.create_button.clicked.connect(self.create_from_candidate)
        intro = QLabel(self.tr("Recurring incidents, not yet linked to a problem:"))
        intro.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.days)
        bar.addStretch(1)
        bar.addWidget(self.create_button)
        self.candidate_model = RowsModel([
            ("name", self.tr("CI / service")), ("suggested_title", self.tr("Incidents look like")),
            ("incidents", self.tr("Incidents")), ("last", self.tr("Last"))], self)
        # (the count and the date stay whole in the narrow dock; name and title give way)
        self.candidate_table = make_table(self.candidate_model, keep=("incidents", "last"))
        self.candidate_table.setObjectName("candidateTable")
        self.candidate_table.doubleClicked.connect(lambda _i: self.create_from_candidate())
        self.candidate_limits = QLabel()
        self.candidate_limits.setObjectName("candidateLimits")
        self.candidate_limits.setWordWrap(True)
        quiet_text(self.candidate_limits)
        layout = QVBoxLayout(w)
        layout.addWidget(intro)
        layout.addLayout(bar)
        layout.addWidget(self.candidate_table)
        layout.addWidget(self.candidate_limits)
        self.days.currentIndexChanged.connect(self.refresh)
        return w

    # -- data ------------------------------------------------------------------------------------
    def _records_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.PROBLEM, Kind.KNOWN_ERROR, Kind.INCIDENT):
            self.lazy.request_later(self._debounce)

    def refresh(self, *_args) -> None:  # noqa: ANN002
        """Read again now if the panel can be seen, else when it is next shown."""
        self.lazy.request()

    def _refresh_now(self) -> None:
        tab = self.tabs.currentIndex()
        if tab == 0:
            self.ctx.query(problems.list_problems, self.status_filter.currentData(),
                           self.problem_search.text(), 500,
                           on_done=self.problem_model.set_rows, key="problems-list", owner=self)
        elif tab == 1:
            self.ctx.query(problems.list_known_errors, self.ke_search.text(), 500,
                           on_done=self.ke_model.set_rows, key="ke-list", owner=self)
        else:
            self.ctx.query(recurring.find_candidates, self.days.currentData(),
                           on_done=self._show_candidates, key="candidates", owner=self)

    def _show_candidates(self, report: recurring.CandidateReport) -> None:
        found = report.candidates
        self.candidates = found
        lines = [self.tr("At most the newest %1 incidents per CI or service are compared; at most "
                         "%2 groups are shown, the biggest first.")
                 .replace("%1", str(report.max_group)).replace("%2", str(report.limit))]
        if report.capped_keys:
            lines.append(self.tr("%n CI(s) or service(s) had more: their older incidents (%1) "
                                 "were not compared.", "", report.capped_keys)
                         .replace("%1", str(report.incidents_left_out)))
        if report.truncated:
            lines.append(self.tr("Showing %1 of %2 groups.").replace("%1", str(len(found)))
                         .replace("%2", str(report.groups_found)))
        self.candidate_limits.setText(" ".join(lines))
        rows = []
        for c in found:
            row = c.as_dict()
            row["suggested_title"] = c.titles[0] if c.titles else ""
            row["last"] = c.last_at
            row["id"] = c.key_id
            rows.append(row)
        self.candidate_model.set_rows(rows)

    def create_from_candidate(self) -> None:
        rows = self.candidate_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.candidates):
            return
        candidate = self.candidates[rows[0].row()]
        self.ctx.write(recurring.create_problem_from_candidate, candidate, self.ctx.actor,
                       owner=self, on_done=lambda problem: self.ctx.open_record("problem", problem.id),
                       on_error=lambda exc: show_error(self, exc))


def _t(text: str) -> str:
    return QCoreApplication.translate("problems", text)


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return ProblemsPanel(ctx)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    out = []
    for kind, label, keys in (("problem", QCoreApplication.translate("problems", "New &problem"), "Ctrl+Alt+P"),
                              ("known_error", QCoreApplication.translate("problems", "New &known error"), "Ctrl+Alt+K")):
        action = QAction(label, window)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _checked=False, k=kind: ctx.open_record(k, None))
        out.append(("Records", action))
    return out


def quiet_text(label: QLabel) -> None:
    """A side note's colour: the text colour softened toward the background, still readable
    (palette(mid) was a pale grey about 2:1 against the background, hard to read)."""
    palette = label.palette()
    text, back = palette.color(label.foregroundRole()), palette.color(label.backgroundRole())
    palette.setColor(label.foregroundRole(), QColor(
        *(round(a * 0.7 + b * 0.3) for a, b in zip(text.getRgb()[:3], back.getRgb()[:3],
                                                   strict=True))))
    label.setPalette(palette)
