"""Problem form: details, affected CIs, root cause analysis (notes and timeline), linked incidents
(link by reference, unlink), known errors and corrective changes, history.  Status moves through
the lifecycle, "Raise RFC", "Record as known error" and closing (which offers to resolve the
linked open incidents when the fix is in) are writes of their own; unsaved edits are saved first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.problem import lifecycle, problems
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.forms.common import header_label
from itsmdesk.views.problems.rows_model import ID_ROLE, RowsModel, make_table, selected_ids


def status_label(status: str) -> str:
    return {"new": QCoreApplication.translate("ProblemForm", "New"), "investigating": QCoreApplication.translate("ProblemForm", "Investigating"),
            "root_cause_known": QCoreApplication.translate("ProblemForm", "Root cause known"), "resolved": QCoreApplication.translate("ProblemForm", "Resolved"),
            "closed": QCoreApplication.translate("ProblemForm", "Closed")}.get(status, status)


STATUS_COLOURS = {"new": "#2563eb", "investigating": "#b45309", "root_cause_known": "#7c3aed",
                  "resolved": "#15803d", "closed": "#6b7280"}
NEW_STATUSES = ("new", "investigating")  # what a new problem may start as
TEXTS = ("description", "root_cause", "workaround", "solution")


def _note_labels() -> dict[str, str]:
    return {"symptoms": QCoreApplication.translate("ProblemForm", "Symptoms"), "hypotheses": QCoreApplication.translate("ProblemForm", "Hypotheses"),
            "evidence": QCoreApplication.translate("ProblemForm", "Evidence"), "cause": QCoreApplication.translate("ProblemForm", "Cause")}


def _text_edit(placeholder: str, height: int = 70) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText(placeholder)
    edit.setMinimumHeight(height)
    edit.setTabChangesFocus(True)
    return edit


def _id_text(value: Any) -> str | None:
    return None if value is None else str(value)


class ProblemForm(RecordForm):
    KIND = Kind.PROBLEM

    # -- layout ------------------------------------------------------------------------------------
    def build(self) -> Iterator[None]:
        """In steps (see RecordForm): the header and fields, then the tabs two at a time."""
        self.setObjectName("problemForm")
        self.choices = problems.ProblemChoices((), ())
        self.ref_label = header_label(QCoreApplication.translate("ProblemForm", "New problem"))
        self.ref_label.setObjectName("refLabel")
        self.status_badge = QLabel()
        self.status_badge.setObjectName("statusBadge")
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("titleEdit")
        self.title_edit.setPlaceholderText(QCoreApplication.translate("ProblemForm", "Short description of the problem"))
        header = QHBoxLayout()
        header.addWidget(self.ref_label)
        header.addWidget(self.status_badge)
        header.addWidget(self.title_edit, 1)

        self.status_combo = QComboBox()
        self.status_combo.setObjectName("statusCombo")
        self.move_button = QPushButton(QCoreApplication.translate("ProblemForm", "&Move to"))
        self.move_button.setObjectName("moveButton")
        self.move_button.setToolTip(QCoreApplication.translate("ProblemForm", "Move the problem to another status (unsaved edits are "
                                       "saved first)"))
        self.move_menu = QMenu(self.move_button)
        self.move_button.setMenu(self.move_menu)
        status_row = QHBoxLayout()
        status_row.setContentsMargins(0, 0, 0, 0)
        status_row.addWidget(self.status_combo, 1)
        status_row.addWidget(self.move_button)
        status_row.addStretch(0)
        self.status_label = QLabel(QCoreApplication.translate("ProblemForm", "&Status"))
        self.priority = QSpinBox()
        self.priority.setObjectName("prioritySpin")
        self.priority.setRange(1, 5)
        self.priority.setPrefix("P")  # P1 .. P5, as priorities read everywhere else
        self.priority.setValue(3)
        self.category = QLineEdit()
        self.service = QComboBox()
        self.service.setObjectName("serviceCombo")
        self.ci_edit = QLineEdit()
        self.ci_edit.setObjectName("ciEdit")
        self.ci_edit.setPlaceholderText(QCoreApplication.translate("ProblemForm", "CI name"))
        self.team = QComboBox()
        self.team.setObjectName("teamCombo")
        self.cis_edit = QLineEdit()
        self.cis_edit.setObjectName("cisEdit")
        self.cis_edit.setPlaceholderText(QCoreApplication.translate("ProblemForm", "CI names, comma separated"))
        left = QFormLayout()
        left.addRow(self.status_label, status_row)
        left.addRow(QCoreApplication.translate("ProblemForm", "&Priority"), self.priority)
        left.addRow(QCoreApplication.translate("ProblemForm", "Cate&gory"), self.category)
        right = QFormLayout()
        right.addRow(QCoreApplication.translate("ProblemForm", "Business ser&vice"), self.service)
        right.addRow(QCoreApplication.translate("ProblemForm", "&CI"), self.ci_edit)
        right.addRow(QCoreApplication.translate("ProblemForm", "&Team"), self.team)
        fields = QGridLayout()
        fields.addLayout(left, 0, 0)
        fields.addLayout(right, 0, 1)
        cis_row = QFormLayout()
        cis_row.addRow(QCoreApplication.translate("ProblemForm", "Affected C&Is"), self.cis_edit)
        fields.addLayout(cis_row, 1, 0, 1, 2)
        fields.setColumnStretch(0, 1)
        fields.setColumnStretch(1, 1)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("problemTabs")
        yield
        self.tabs.addTab(self._details_tab(), QCoreApplication.translate("ProblemForm", "&Details"))
        self.tabs.addTab(self._rca_tab(), QCoreApplication.translate("ProblemForm", "&Root cause analysis"))
        yield
        self.tabs.addTab(self._incidents_tab(), QCoreApplication.translate("ProblemForm", "&Incidents"))
        self.tabs.addTab(self._known_errors_tab(), QCoreApplication.translate("ProblemForm", "&Known errors and changes"))
        self.tabs.addTab(self.history, QCoreApplication.translate("ProblemForm", "&History"))

        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(fields)
        layout.addWidget(self.tabs, 1)

        self.rfc_button = QPushButton(QCoreApplication.translate("ProblemForm", "Raise R&FC"))
        self.rfc_button.setObjectName("rfcButton")
        self.rfc_button.clicked.connect(self.raise_rfc)
        self.close_button = QPushButton(QCoreApplication.translate("ProblemForm", "C&lose problem…"))
        self.close_button.setObjectName("closeProblemButton")
        self.close_button.clicked.connect(lambda: self.close_problem())
        self.button_row.insertWidget(1, self.rfc_button)
        self.button_row.insertWidget(2, self.close_button)
        self.watch(self.title_edit, self.status_combo, self.priority, self.category, self.service,
                   self.ci_edit, self.team, self.cis_edit, *[getattr(self, n) for n in TEXTS],
                   *self.rca_edits.values())
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.tab_title()))
        self._show_status("new", ())

    def _details_tab(self) -> QWidget:
        w = QWidget()
        self.description = _text_edit(QCoreApplication.translate("ProblemForm", "What is happening, since when, who is affected"))
        self.workaround = _text_edit(QCoreApplication.translate("ProblemForm", "How to restore service until the fix is in"))
        self.solution = _text_edit(QCoreApplication.translate("ProblemForm", "The permanent solution (the corrective change)"))
        self.root_cause = _text_edit(QCoreApplication.translate("ProblemForm", "The underlying cause, once known"), 50)
        form = QFormLayout(w)
        form.addRow(QCoreApplication.translate("ProblemForm", "Description"), self.description)
        form.addRow(QCoreApplication.translate("ProblemForm", "Root cause"), self.root_cause)
        form.addRow(QCoreApplication.translate("ProblemForm", "Workaround"), self.workaround)
        form.addRow(QCoreApplication.translate("ProblemForm", "Permanent solution"), self.solution)
        return w

    def _rca_tab(self) -> QWidget:
        w = QWidget()
        self.rca_edits = {
            "symptoms": _text_edit(QCoreApplication.translate("ProblemForm", "What people and monitoring observe"), 50),
            "hypotheses": _text_edit(QCoreApplication.translate("ProblemForm", "Possible causes still open"), 50),
            "evidence": _text_edit(QCoreApplication.translate("ProblemForm", "Logs, measurements, tests that confirm or refute"), 50),
            "cause": _text_edit(QCoreApplication.translate("ProblemForm", "The cause the evidence supports"), 50),
        }
        notes = QGroupBox(QCoreApplication.translate("ProblemForm", "Notes"))
        form = QFormLayout(notes)
        for key, label in _note_labels().items():
            form.addRow(label, self.rca_edits[key])
        timeline_box = QGroupBox(QCoreApplication.translate("ProblemForm", "Timeline of linked incidents"))
        self.timeline_model = RowsModel([("at", QCoreApplication.translate("ProblemForm", "When")), ("what", QCoreApplication.translate("ProblemForm", "What")),
                                         ("ref", QCoreApplication.translate("ProblemForm", "Record")), ("text", QCoreApplication.translate("ProblemForm", "Detail"))], self)
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
            ("ref", QCoreApplication.translate("ProblemForm", "Reference")), ("title", QCoreApplication.translate("ProblemForm", "Title")), ("status", QCoreApplication.translate("ProblemForm", "Status")),
            ("ci", QCoreApplication.translate("ProblemForm", "CI")), ("opened_at", QCoreApplication.translate("ProblemForm", "Opened"))], self)
        self.incident_table = make_table(self.incident_model)
        self.incident_table.setObjectName("incidentTable")
        self.incident_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("incident", i.data(ID_ROLE)))
        self.link_edit = QLineEdit()
        self.link_edit.setObjectName("linkEdit")
        self.link_edit.setPlaceholderText(QCoreApplication.translate("ProblemForm", "INC-000123, INC-000124 …"))
        self.link_button = QPushButton(QCoreApplication.translate("ProblemForm", "Lin&k"))
        self.unlink_button = QPushButton(QCoreApplication.translate("ProblemForm", "&Unlink selected"))
        self.resolve_button = QPushButton(QCoreApplication.translate("ProblemForm", "Resolve open incidents"))
        self.resolve_button.setObjectName("resolveIncidentsButton")
        bar = QHBoxLayout()
        bar.addWidget(QLabel(QCoreApplication.translate("ProblemForm", "Link incidents:")))
        bar.addWidget(self.link_edit, 1)
        bar.addWidget(self.link_button)
        bar.addWidget(self.unlink_button)
        bar.addWidget(self.resolve_button)
        layout = QVBoxLayout(w)
        layout.addLayout(bar)
        layout.addWidget(self.incident_table)
        self.link_button.clicked.connect(self.link_incidents)
        self.link_edit.returnPressed.connect(self.link_incidents)
        self.unlink_button.clicked.connect(self.unlink_selected)
        self.resolve_button.clicked.connect(lambda: self.resolve_open_incidents())
        return w

    def _known_errors_tab(self) -> QWidget:
        w = QWidget()
        self.ke_model = RowsModel([("ref", QCoreApplication.translate("ProblemForm", "Known error")), ("title", QCoreApplication.translate("ProblemForm", "Title")),
                                   ("solution_status", QCoreApplication.translate("ProblemForm", "Solution"))], self)
        self.ke_table = make_table(self.ke_model)
        self.ke_table.setObjectName("knownErrorTable")
        self.ke_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("known_error", i.data(ID_ROLE)))
        self.ke_button = QPushButton(QCoreApplication.translate("ProblemForm", "Record as &known error"))
        self.ke_button.setObjectName("recordKnownErrorButton")
        self.ke_button.clicked.connect(self.record_known_error)
        self.change_model = RowsModel([("ref", QCoreApplication.translate("ProblemForm", "Change")), ("title", QCoreApplication.translate("ProblemForm", "Title")),
                                       ("status", QCoreApplication.translate("ProblemForm", "Status"))], self)
        self.change_table = make_table(self.change_model)
        self.change_table.setObjectName("changeTable")
        self.change_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("change", i.data(ID_ROLE)))
        layout = QVBoxLayout(w)
        bar = QHBoxLayout()
        bar.addWidget(QLabel(QCoreApplication.translate("ProblemForm", "Known errors")))
        bar.addStretch(1)
        bar.addWidget(self.ke_button)
        layout.addLayout(bar)
        layout.addWidget(self.ke_table, 1)
        layout.addWidget(QLabel(QCoreApplication.translate("ProblemForm", "Corrective changes (RFCs)")))
        layout.addWidget(self.change_table, 1)
        return w

    # -- reading -----------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return problems.problem_view, (self.record_id,)

    def new_call(self):  # noqa: ANN201
        return problems.problem_choices, ()

    def _set_choices(self, choices: problems.ProblemChoices) -> None:
        for combo, items in ((self.service, choices.services), (self.team, choices.teams)):
            combo.clear()
            combo.addItem(QCoreApplication.translate("ProblemForm", "(none)"), None)
            for item_id, name in items:
                combo.addItem(name, str(item_id))
        self.choices = choices

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> None:
        combo.setCurrentIndex(max(0, combo.findData(_id_text(value))))

    def show_new(self, data: problems.ProblemChoices | None = None) -> None:
        self._set_choices(data or problems.ProblemChoices((), ()))
        self._show_status("new", ())

    def fill(self, data: problems.ProblemView) -> None:
        self._set_choices(data.choices)
        self.ref_label.setText(data.ref)
        self.title_edit.setText(data.title)
        self.priority.setValue(data.priority or 3)
        self.category.setText(data.category or "")
        self._select(self.service, data.service_id)
        self._select(self.team, data.team_id)
        self.ci_edit.setText(data.ci_name)
        self.cis_edit.setText(", ".join(data.ci_names))
        for name in TEXTS:
            getattr(self, name).setPlainText(getattr(data, name) or "")
        for key, value in data.rca:
            self.rca_edits[key].setPlainText(value)
        self.incident_model.set_rows(list(data.incidents))
        self.ke_model.set_rows(list(data.known_errors))
        self.change_model.set_rows(list(data.changes))
        kinds = {"problem_created": QCoreApplication.translate("ProblemForm", "Problem recorded"),
                 "incident_opened": QCoreApplication.translate("ProblemForm", "Incident opened"),
                 "incident_resolved": QCoreApplication.translate("ProblemForm", "Incident resolved"),
                 "work_log": QCoreApplication.translate("ProblemForm", "Work log"), "problem_status": QCoreApplication.translate("ProblemForm", "Status")}
        self.timeline_model.set_rows([{"at": e.at, "what": kinds.get(e.kind, e.kind),
                                       "ref": e.ref, "text": e.text.replace("\n", " "),
                                       "id": e.record_id} for e in data.timeline])
        self.tabs.setTabText(2, QCoreApplication.translate("ProblemForm", "&Incidents ({n})").format(n=len(data.incidents)))
        self._show_status(data.status, data.moves)

    def _show_status(self, status: str, moves: tuple[str, ...]) -> None:
        existing = self.data is not None
        colour = STATUS_COLOURS.get(status, "#6b7280")
        self.status_badge.setText(status_label(status))
        self.status_badge.setStyleSheet(
            f"QLabel {{ background: {colour}; color: white; border-radius: 4px; "
            f"padding: 2px 8px; font-weight: bold; }}")
        self.status_combo.blockSignals(True)
        self.status_combo.clear()
        for s in ((status,) if existing else NEW_STATUSES):
            self.status_combo.addItem(status_label(s), s)
        self.status_combo.blockSignals(False)
        self.status_combo.setVisible(not existing)
        self.status_label.setBuddy(self.move_button if existing else self.status_combo)
        self.move_menu.clear()
        for target in moves:
            if target == "closed":
                continue  # the close button: it offers to resolve the linked incidents
            action = QAction(status_label(target), self.move_menu)
            action.setData(target)
            action.triggered.connect(lambda _c=False, t=target: self.move_to(t))
            self.move_menu.addAction(action)
        self.move_button.setVisible(existing)
        from itsmdesk.views.signin import enable, gate

        if not getattr(self, "_gated", False):  # who may move, close and publish a problem
            self._gated = True
            for widget in (self.move_button, self.rfc_button, self.ke_button,
                           self.resolve_button):
                gate(widget, self.ctx, "problem.manage", widget.toolTip())
            gate(self.close_button, self.ctx, "problem.close", self.close_button.toolTip())
        enable(self.move_button, bool(self.move_menu.actions()))
        enable(self.rfc_button, existing)
        enable(self.ke_button, existing)
        enable(self.close_button, existing and "closed" in moves)
        enable(self.resolve_button, existing and bool(self.data.open_incidents))

    def title(self) -> str:
        text = self.title_edit.text().strip() or QCoreApplication.translate("ProblemForm", "New problem")
        return f"{self.data.ref} {text}" if self.data is not None else text

    # -- saving ------------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        return {"title": self.title_edit.text().strip(),
                "priority": self.priority.value(),
                "category": self.category.text().strip() or None,
                "service": self.service.currentData(),
                "team": self.team.currentData(),
                "ci": self.ci_edit.text().strip(),
                "ci_names": [n.strip() for n in self.cis_edit.text().split(",") if n.strip()],
                **{name: getattr(self, name).toPlainText().strip() or None for name in TEXTS},
                "rca": {k: e.toPlainText().strip() for k, e in self.rca_edits.items()}}

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            values["status"] = self.status_combo.currentData() or "new"
            values["rca"] = {k: v for k, v in values["rca"].items() if v}
            return {k: v for k, v in values.items() if v not in (None, "", [], {})}
        d = self.data
        was = {"title": d.title, "priority": d.priority, "category": d.category,
               "service": _id_text(d.service_id), "team": _id_text(d.team_id), "ci": d.ci_name,
               "ci_names": d.ci_names, **{name: getattr(d, name) for name in TEXTS}}
        out = {k: v for k, v in values.items() if k != "rca" and v != was[k]}
        notes = {k: v for k, v in values["rca"].items() if v != d.notes.get(k, "")}
        if notes:
            out["rca"] = notes
        return out

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return problems.save_problem, (self.record_id, self.version, edits, self.ctx.actor,
                                       self.new_id)

    def saved_id(self, result: Any) -> Any:
        # a write queued right after the save (after_save) must name the version it made
        self.version = getattr(result, "version", self.version)
        return super().saved_id(result)

    def describe_value(self, field: str, value: Any) -> str:
        if field in ("service", "team"):
            items = dict((str(i), n) for i, n in getattr(self.choices, field + "s", ()))
            return items.get(str(value), "") if value else ""
        if field == "rca":
            labels = _note_labels()
            return "; ".join(f"{labels.get(k, k)}: {v}" for k, v in (value or {}).items())
        if field == "ci_names":
            return ", ".join(value or [])
        if field == "status":
            return status_label(value)
        return super().describe_value(field, value)

    # -- actions (each a write of its own) ----------------------------------------------------------
    def move_to(self, status: str) -> None:
        """Move the problem to ``status`` (its rules apply: a root cause, a solution...)."""
        if self.save_first(lambda: self.move_to(status)):
            return
        self.act(lifecycle.transition, self.record_id, self.version, status, self.ctx.actor,
                    done=lambda _p: self.say(QCoreApplication.translate("ProblemForm", "Moved to {status}.").format(
                        status=status_label(status))))

    def raise_rfc(self) -> None:
        """Create the corrective change and open it."""
        if self.save_first(self.raise_rfc):
            return
        self.act(lifecycle.raise_rfc, self.record_id, self.ctx.actor, None, self.version,
                    done=self._rfc_raised)

    def _rfc_raised(self, change: Any) -> None:
        self.say(QCoreApplication.translate("ProblemForm", "{ref} raised.").format(ref=change.ref))
        self.ctx.open_record("change", change.id)

    def record_known_error(self) -> None:
        """A known error from this problem (as saved), opened in its own form."""
        if self.save_first(self.record_known_error):
            return
        self.act(problems.record_known_error, self.record_id, self.version, self.ctx.actor,
                    done=lambda ke: self.ctx.open_record("known_error", ke.id))

    def close_problem(self) -> None:
        """Close the problem; when its fix is in, offer to resolve its open linked incidents in
        the same write."""
        if self.save_first(self.close_problem):
            return
        resolve = False
        d = self.data
        if d is not None and d.fix_implemented and d.open_incidents:
            answer = QMessageBox.question(
                self, QCoreApplication.translate("ProblemForm", "Resolve linked incidents"),
                QCoreApplication.translate("ProblemForm", "The fix for {ref} is in. Resolve its {n} open linked incident(s) too?")
                .format(ref=d.ref, n=d.open_incidents),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
            if answer == QMessageBox.StandardButton.Cancel:
                return
            resolve = answer == QMessageBox.StandardButton.Yes
        self.ctx.write(lifecycle.close_problem, self.record_id, self.version, self.ctx.actor,
                       resolve, owner=self, on_done=self._closed, on_error=self._action_failed,
                       label=self.title())

    def _closed(self, result: lifecycle.CloseResult) -> None:
        done = len(result.resolved_incidents)
        self.say(QCoreApplication.translate("ProblemForm", "Closed; {n} incident(s) resolved.").format(n=done) if done
                 else QCoreApplication.translate("ProblemForm", "Closed."))
        if result.offer_resolve:  # the fix is in after all (the form did not know yet)
            answer = QMessageBox.question(
                self, QCoreApplication.translate("ProblemForm", "Resolve linked incidents"),
                QCoreApplication.translate("ProblemForm", "The fix for {ref} is in. Resolve its {n} open linked incident(s) too?")
                .format(ref=self.data.ref if self.data else "", n=len(result.open_incidents)))
            if answer == QMessageBox.StandardButton.Yes:
                self.version = result.problem.version
                self.resolve_open_incidents(ask=False)
                return
        if not self.dirty:
            self.reload()

    def resolve_open_incidents(self, ask: bool = True) -> None:
        """Resolve every open incident linked to the problem, naming it as the fix."""
        if self.record_id is None or self.save_first(lambda: self.resolve_open_incidents(ask)):
            return
        if ask and QMessageBox.question(
                self, QCoreApplication.translate("ProblemForm", "Resolve linked incidents"),
                QCoreApplication.translate("ProblemForm", "Resolve every open incident linked to this problem?")) \
                != QMessageBox.StandardButton.Yes:
            return
        self.act(lifecycle.resolve_linked_incidents, self.record_id, self.ctx.actor,
                    self.version, done=lambda done: self.say(
                        QCoreApplication.translate("ProblemForm", "{n} incident(s) resolved.").format(n=len(done))))

    def link_incidents(self) -> None:
        """Link the incidents whose references are typed in the link box."""
        refs = re.findall(r"[A-Za-z]+-[\w-]*\d", self.link_edit.text())
        if not refs or self.save_first(self.link_incidents):
            return
        self.act(problems.link_incident_refs, self.record_id, refs, self.ctx.actor,
                    done=lambda _n: self.link_edit.clear())

    def unlink_selected(self) -> None:
        """Unlink the selected incidents (each at the version the form shows)."""
        ids = selected_ids(self.incident_table)
        if not ids or self.data is None:
            return
        self._unlink({i.id: i.version for i in self.data.incidents if i.id in set(ids)})

    def _unlink(self, versions: dict[Any, int]) -> None:
        if self.save_first(lambda: self._unlink(versions)):
            return
        self.act(lifecycle.unlink_incidents, list(versions), self.ctx.actor, versions)


def create_form(ctx, record_id, window, kind: str = "problem") -> QWidget:  # noqa: ANN001
    return ProblemForm(ctx, record_id)
