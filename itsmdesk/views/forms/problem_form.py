"""Problem form: details, root cause analysis (notes and timeline), linked incidents, known
errors, history; status moves through the lifecycle; "Raise RFC"; closing offers to resolve the
linked open incidents when the fix is in."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.errors import ConflictError
from itsmdesk.models.problem import PROBLEM_STATUSES
from itsmdesk.services import people
from itsmdesk.services.problem import lifecycle, problems, rca
from itsmdesk.views.forms.common import RecordForm, confirm_close
from itsmdesk.views.messages import error_text, show_error
from itsmdesk.views.problems.rows_model import ID_ROLE, RowsModel, make_table, selected_ids


def _t(text: str) -> str:
    return QCoreApplication.translate("ProblemForm", text)


def status_label(status: str) -> str:
    return {"new": QCoreApplication.translate("ProblemForm", "New"), "investigating": QCoreApplication.translate("ProblemForm", "Investigating"),
            "root_cause_known": QCoreApplication.translate("ProblemForm", "Root cause known"), "resolved": QCoreApplication.translate("ProblemForm", "Resolved"),
            "closed": QCoreApplication.translate("ProblemForm", "Closed")}.get(status, status)


STATUS_COLOURS = {"new": "#2563eb", "investigating": "#b45309", "root_cause_known": "#7c3aed",
                  "resolved": "#15803d", "closed": "#6b7280"}


def _text_edit(placeholder: str, height: int = 70) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText(placeholder)
    edit.setMinimumHeight(height)
    edit.setTabChangesFocus(True)
    return edit


class ProblemForm(RecordForm):
    def __init__(self, ctx, record_id: Any = None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(ctx, record_id, parent)
        self.status = "new"
        self.data: dict[str, Any] = {}
        self._dirty = False
        self.setObjectName("problemForm")
        self._build()
        self._load_choices()
        if record_id is not None:
            self.reload()
        else:
            self._show_header()
        self._dirty = False

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        header = self.title_header("", self.tr("Short description of the problem"))
        self.ref_label.setObjectName("refLabel")
        self.status_badge = QLabel()
        self.status_badge.setObjectName("statusBadge")
        header.insertWidget(1, self.status_badge)

        self.status_combo = QComboBox()
        self.status_combo.setObjectName("statusCombo")
        self.priority = QSpinBox()
        self.priority.setRange(1, 5)
        self.priority.setValue(3)
        self.category = QLineEdit()
        self.service = QComboBox()
        self.service.setObjectName("serviceCombo")
        self.ci_edit = QLineEdit()
        self.ci_edit.setObjectName("ciEdit")
        self.ci_edit.setPlaceholderText(self.tr("CI name"))
        self.team = QComboBox()
        left = QFormLayout()
        left.addRow(self.tr("&Status"), self.status_combo)
        left.addRow(self.tr("&Priority"), self.priority)
        left.addRow(self.tr("Cate&gory"), self.category)
        right = QFormLayout()
        right.addRow(self.tr("Business ser&vice"), self.service)
        right.addRow(self.tr("&CI"), self.ci_edit)
        right.addRow(self.tr("&Team"), self.team)
        fields = QGridLayout()
        fields.addLayout(left, 0, 0)
        fields.addLayout(right, 0, 1)
        fields.setColumnStretch(0, 1)
        fields.setColumnStretch(1, 1)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("problemTabs")
        self.tabs.addTab(self._details_tab(), self.tr("&Details"))
        self.tabs.addTab(self._rca_tab(), self.tr("&Root cause analysis"))
        self.tabs.addTab(self._incidents_tab(), self.tr("&Incidents"))
        self.tabs.addTab(self._known_errors_tab(), self.tr("&Known errors and changes"))
        self.tabs.addTab(self._history_tab(), self.tr("&History"))

        self.save_button = QPushButton(self.tr("&Save"))
        self.save_button.setObjectName("saveButton")
        self.save_button.setDefault(True)
        self.rfc_button = QPushButton(self.tr("Raise R&FC"))
        self.rfc_button.setObjectName("rfcButton")
        self.close_button = QPushButton(self.tr("C&lose problem…"))
        self.close_button.setObjectName("closeProblemButton")
        self.message = QLabel()
        self.message.setObjectName("messageLabel")
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.rfc_button)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(fields)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)

        self.save_button.clicked.connect(self.save)
        self.rfc_button.clicked.connect(self.raise_rfc)
        self.close_button.clicked.connect(self.close_problem)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        for w in (self.title_edit, self.category, self.ci_edit):
            w.textEdited.connect(self._mark_dirty)
        for w in (self.description, self.workaround, self.solution, self.root_cause,
                  *self.rca_edits.values()):
            w.textChanged.connect(self._mark_dirty)
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.title()))

    def _details_tab(self) -> QWidget:
        w = QWidget()
        self.description = _text_edit(self.tr("What is happening, since when, who is affected"))
        self.workaround = _text_edit(self.tr("How to restore service until the fix is in"))
        self.solution = _text_edit(self.tr("The permanent solution (the corrective change)"))
        self.root_cause = _text_edit(self.tr("The underlying cause, once known"), 50)
        form = QFormLayout(w)
        form.addRow(self.tr("Description"), self.description)
        form.addRow(self.tr("Root cause"), self.root_cause)
        form.addRow(self.tr("Workaround"), self.workaround)
        form.addRow(self.tr("Permanent solution"), self.solution)
        return w

    def _rca_tab(self) -> QWidget:
        w = QWidget()
        self.rca_edits = {
            "symptoms": _text_edit(self.tr("What people and monitoring observe"), 50),
            "hypotheses": _text_edit(self.tr("Possible causes still open"), 50),
            "evidence": _text_edit(self.tr("Logs, measurements, tests that confirm or refute"), 50),
            "cause": _text_edit(self.tr("The cause the evidence supports"), 50),
        }
        notes = QGroupBox(self.tr("Notes"))
        form = QFormLayout(notes)
        for key, label in (("symptoms", self.tr("Symptoms")), ("hypotheses", self.tr("Hypotheses")),
                           ("evidence", self.tr("Evidence")), ("cause", self.tr("Cause"))):
            form.addRow(label, self.rca_edits[key])
        timeline_box = QGroupBox(self.tr("Timeline of linked incidents"))
        self.timeline_model = RowsModel([("at", self.tr("When")), ("what", self.tr("What")),
                                         ("ref", self.tr("Record")), ("text", self.tr("Detail"))],
                                        self)
        self.timeline_table = make_table(self.timeline_model, stretch=3)
        self.timeline_table.setObjectName("timelineTable")
        QVBoxLayout(timeline_box).addWidget(self.timeline_table)
        layout = QHBoxLayout(w)
        layout.addWidget(notes, 1)
        layout.addWidget(timeline_box, 1)
        return w

    def _incidents_tab(self) -> QWidget:
        w = QWidget()
        self.incident_model = RowsModel([
            ("ref", self.tr("Reference")), ("title", self.tr("Title")), ("status", self.tr("Status")),
            ("ci", self.tr("CI")), ("opened_at", self.tr("Opened"))], self)
        self.incident_table = make_table(self.incident_model)
        self.incident_table.setObjectName("incidentTable")
        self.incident_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("incident", i.data(ID_ROLE)))
        self.link_edit = QLineEdit()
        self.link_edit.setObjectName("linkEdit")
        self.link_edit.setPlaceholderText(self.tr("INC-000123, INC-000124 …"))
        link = QPushButton(self.tr("Lin&k"))
        unlink = QPushButton(self.tr("&Unlink selected"))
        self.resolve_button = QPushButton(self.tr("Resolve open incidents"))
        self.resolve_button.setObjectName("resolveIncidentsButton")
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Link incidents:")))
        bar.addWidget(self.link_edit, 1)
        bar.addWidget(link)
        bar.addWidget(unlink)
        bar.addWidget(self.resolve_button)
        layout = QVBoxLayout(w)
        layout.addLayout(bar)
        layout.addWidget(self.incident_table)
        link.clicked.connect(self.link_incidents)
        self.link_edit.returnPressed.connect(self.link_incidents)
        unlink.clicked.connect(self.unlink_selected)
        self.resolve_button.clicked.connect(self.resolve_open_incidents)
        return w

    def _known_errors_tab(self) -> QWidget:
        w = QWidget()
        self.ke_model = RowsModel([("ref", self.tr("Known error")), ("title", self.tr("Title")),
                                   ("solution_status", self.tr("Solution"))], self)
        self.ke_table = make_table(self.ke_model)
        self.ke_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("known_error", i.data(ID_ROLE)))
        new_ke = QPushButton(self.tr("Record as &known error"))
        new_ke.clicked.connect(self.record_known_error)
        self.change_model = RowsModel([("ref", self.tr("Change")), ("title", self.tr("Title")),
                                       ("status", self.tr("Status"))], self)
        self.change_table = make_table(self.change_model)
        self.change_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("change", i.data(ID_ROLE)))
        layout = QVBoxLayout(w)
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Known errors")))
        bar.addStretch(1)
        bar.addWidget(new_ke)
        layout.addLayout(bar)
        layout.addWidget(self.ke_table, 1)
        layout.addWidget(QLabel(self.tr("Corrective changes (RFCs)")))
        layout.addWidget(self.change_table, 1)
        return w

    def _history_tab(self) -> QWidget:
        self.history_model = RowsModel([("at", self.tr("When")), ("who", self.tr("Who")),
                                        ("field", self.tr("Field")), ("old", self.tr("Old")),
                                        ("new", self.tr("New"))], self)
        table = make_table(self.history_model, stretch=4)
        table.setObjectName("historyTable")
        return table

    # -- data ------------------------------------------------------------------------------------
    def _load_choices(self) -> None:
        self.service.addItem(self.tr("(none)"), None)
        for sid, name in problems.business_services():
            self.service.addItem(name, sid)
        self.team.addItem(self.tr("(none)"), None)
        for team in people.list_teams():
            self.team.addItem(team.name, team.id)

    def _mark_dirty(self, *_args: Any) -> None:
        self._dirty = True

    def reload(self) -> None:
        self.ctx.worker.submit(problems.load_problem, self.record_id, on_done=self._show,
                               on_error=lambda e: show_error(self, e), key=f"problem-{id(self)}")

    def _show(self, data: dict[str, Any]) -> None:
        self.data = data
        p = data["problem"]
        self.record_id, self.version, self.status = p.id, p.version, p.status
        self.title_edit.setText(p.title)
        self.priority.setValue(p.priority or 3)
        self.category.setText(p.category or "")
        self._select(self.service, p.service_id)
        self._select(self.team, p.team_id)
        self.ci_edit.setText(data["ci_name"])
        self.description.setPlainText(p.description or "")
        self.root_cause.setPlainText(p.root_cause or "")
        self.workaround.setPlainText(p.workaround or "")
        self.solution.setPlainText(p.solution or "")
        for key, value in rca.notes(p).items():
            self.rca_edits[key].setPlainText(value)
        self.incident_model.set_rows(data["incidents"])
        self.ke_model.set_rows(data["known_errors"])
        self.change_model.set_rows(data["changes"])
        kinds = {"problem_created": self.tr("Problem recorded"),
                 "incident_opened": self.tr("Incident opened"),
                 "incident_resolved": self.tr("Incident resolved"),
                 "work_log": self.tr("Work log"), "problem_status": self.tr("Status")}
        self.timeline_model.set_rows([{"at": e.at, "what": kinds.get(e.kind, e.kind),
                                       "ref": e.ref, "text": e.text.replace("\n", " "),
                                       "id": e.record_id} for e in data["timeline"]])
        self.history_model.set_rows([{"at": h.at, "who": h.who, "field": h.field,
                                      "old": h.old, "new": h.new} for h in data["history"]])
        self._show_header()
        self._dirty = False
        self.sig_title_changed.emit(self.title())

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> None:
        for i in range(combo.count()):
            if combo.itemData(i) == value:
                combo.setCurrentIndex(i)
                return
        combo.setCurrentIndex(0)

    def _show_header(self) -> None:
        p = self.data.get("problem")
        self.ref_label.setText(p.ref if p else self.tr("New problem"))
        colour = STATUS_COLOURS.get(self.status, "#6b7280")
        self.status_badge.setText(status_label(self.status))
        self.status_badge.setStyleSheet(
            f"QLabel {{ background: {colour}; color: white; border-radius: 4px; "
            f"padding: 2px 8px; font-weight: bold; }}")
        self.status_combo.blockSignals(True)
        self.status_combo.clear()
        choices = (self.status,) + tuple(s for s in lifecycle.allowed_transitions(self.status)
                                         if s != "closed") if p else ("new", "investigating")
        for s in choices:
            self.status_combo.addItem(status_label(s), s)
        self.status_combo.blockSignals(False)
        existing = p is not None
        self.rfc_button.setEnabled(existing)
        self.close_button.setEnabled(existing and "closed" in lifecycle.allowed_transitions(
            self.status))
        self.resolve_button.setEnabled(existing and any(
            r["status"] in ("new", "assigned", "in_progress", "pending")
            for r in self.data.get("incidents", [])))

    def title(self) -> str:
        p = self.data.get("problem")
        text = self.title_edit.text().strip() or self.tr("New problem")
        return f"{p.ref} {text}" if p else text

    def values(self) -> dict[str, Any]:
        return {
            "title": self.title_edit.text().strip(),
            "priority": self.priority.value(),
            "category": self.category.text().strip() or None,
            "service": self.service.currentData(),
            "team": self.team.currentData(),
            "ci": problems.ci_id_by_name(self.ci_edit.text()),
            "description": self.description.toPlainText().strip() or None,
            "root_cause": self.root_cause.toPlainText().strip() or None,
            "workaround": self.workaround.toPlainText().strip() or None,
            "solution": self.solution.toPlainText().strip() or None,
            "rca": {k: e.toPlainText().strip() for k, e in self.rca_edits.items()},
        }

    # -- actions ---------------------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, ConflictError):
            self.message.setText(error_text(exc))
            self.message.setStyleSheet("color: #b91c1c;")
            QMessageBox.warning(self, self.tr("Changed by someone else"),
                                error_text(exc) + "\n\n" + self.tr("The form will reload; "
                                                                   "re-apply your edits."))
            self.reload()
            return
        show_error(self, exc)

    def save(self) -> bool:
        try:
            values = self.values()
            if self.record_id is None:
                values["status"] = self.status_combo.currentData() or "new"
                problem = problems.create_problem(values, self.ctx.actor)
            else:
                new_status = self.status_combo.currentData() or self.status
                problem = lifecycle.transition(self.record_id, self.version, new_status,
                                               self.ctx.actor, values)
        except Exception as exc:  # noqa: BLE001 - shown to the person
            self._fail(exc)
            return False
        self.record_id = problem.id
        self.ctx.records_changed("problem", [problem.id])
        self.message.setStyleSheet("")
        self.message.setText(self.tr("Saved {ref}.").format(ref=problem.ref))
        self.reload()
        return True

    def _save_first(self) -> bool:
        return self.save() if (self._dirty or self.record_id is None) else True

    def raise_rfc(self) -> None:
        if not self._save_first():
            return
        try:
            change = lifecycle.raise_rfc(self.record_id, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.ctx.records_changed("change", [change.id])
        self.message.setText(self.tr("{ref} raised.").format(ref=change.ref))
        self.reload()
        self.ctx.open_record("change", change.id)

    def close_problem(self, confirm: bool = True) -> None:
        if not self._save_first():
            return
        try:
            result = lifecycle.close_problem(self.record_id, self.version, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.ctx.records_changed("problem", [self.record_id])
        if result.offer_resolve:
            n = len(result.open_incidents)
            answer = QMessageBox.question(
                self, self.tr("Resolve linked incidents"),
                self.tr("The fix for {ref} is in. Resolve its {n} open linked incident(s) too?")
                .format(ref=result.problem.ref, n=n)) if confirm else QMessageBox.StandardButton.Yes
            if answer == QMessageBox.StandardButton.Yes:
                self.resolve_open_incidents(ask=False)
        self.reload()

    def resolve_open_incidents(self, ask: bool = True) -> None:
        if self.record_id is None:
            return
        if ask and QMessageBox.question(
                self, self.tr("Resolve linked incidents"),
                self.tr("Resolve every open incident linked to this problem?")) \
                != QMessageBox.StandardButton.Yes:
            return
        try:
            done = lifecycle.resolve_linked_incidents(self.record_id, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.ctx.records_changed("incident", [i.id for i in done])
        self.message.setText(self.tr("{n} incident(s) resolved.").format(n=len(done)))
        self.reload()

    def link_incidents(self) -> None:
        import re

        from itsmdesk.services.servicedesk.incidents import get_by_ref

        refs = re.findall(r"[A-Za-z]+-[\w-]*\d", self.link_edit.text())
        if not refs or not self._save_first():
            return
        try:
            ids = [get_by_ref(r).id for r in refs]
            problems.link_incidents(self.record_id, ids, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.link_edit.clear()
        self.ctx.records_changed("incident", ids)
        self.reload()

    def unlink_selected(self) -> None:
        ids = selected_ids(self.incident_table)
        try:
            for incident_id in ids:
                lifecycle.unlink_incident(incident_id, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
        self.ctx.records_changed("incident", ids)
        self.reload()

    def record_known_error(self) -> None:
        if not self._save_first():
            return
        p = self.data.get("problem")
        try:
            cis = [ci_id for ci_id, _n in self.data.get("cis", [])]
            ke = problems.create_known_error({
                "title": self.title_edit.text().strip(), "problem": self.record_id,
                "symptom": self.rca_edits["symptoms"].toPlainText().strip() or
                self.description.toPlainText().strip() or None,
                "root_cause": self.root_cause.toPlainText().strip() or None,
                "workaround": self.workaround.toPlainText().strip() or None}, self.ctx.actor,
                cis=cis or ([p.ci_id] if p is not None and p.ci_id else None))
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.ctx.records_changed("known_error", [ke.id])
        self.reload()
        self.ctx.open_record("known_error", ke.id)

    def can_close(self) -> bool:
        return confirm_close(self, self._dirty, self.tr("Save the changes to this problem?"), self.save)


def create_form(ctx, record_id, window, kind: str = "problem") -> QWidget:  # noqa: ANN001
    return ProblemForm(ctx, record_id)


__all__ = ["ProblemForm", "create_form", "PROBLEM_STATUSES", "Qt"]
