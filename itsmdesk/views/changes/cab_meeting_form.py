"""A CAB meeting: date and place, chair, attendance, the agenda, a vote per member and change,
the quorum outcome and decision with conditions, actions with owners; CAB pack and minutes."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, QDateTime, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.change import cab
from itsmdesk.views.changes.change_form import dt_edit, from_qdt, to_qdt
from itsmdesk.views.changes.form_actions import FormActions
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.forms.common import header_label
from itsmdesk.words import word


def may_vote(actor, person_id: Any) -> bool:  # noqa: ANN001 - an Actor
    """Whether ``actor`` may set ``person_id``'s vote (their own as a CAB member; anyone's as
    the change manager)."""
    from itsmdesk.services import permissions

    return permissions.allowed(actor, "cab.vote", {"person": person_id})


def vote_refused_tip(actor, person_id: Any) -> str:  # noqa: ANN001
    from itsmdesk.views.signin import role_name

    role = "cab_member" if person_id == actor.person_id else "change_manager"
    return QCoreApplication.translate("SignIn", "Needs the role {role}").format(
        role=role_name(role))

VOTE_CHOICES = (None,) + cab.VOTE_VALUES
ID_ROLE = Qt.ItemDataRole.UserRole




WARN_COLOUR = "#b91c1c"


def _uuid(value: Any) -> Any:
    return uuid.UUID(value) if isinstance(value, str) else value


def _today() -> dt.date:
    """Today where the person is (an action due yesterday is overdue this morning)."""
    return QDate.currentDate().toPython()


class CABMeetingForm(FormActions, RecordForm):
    KIND = Kind.CAB_MEETING

    # -- building ---------------------------------------------------------------------------------
    def build(self) -> None:
        self.setObjectName("cabMeetingForm")
        self.members: tuple[cab.PersonRow, ...] = ()
        self._shown: dict[str, Any] = {}
        self.header = header_label(QCoreApplication.translate("CABMeetingForm", "New CAB meeting"))
        self.header.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._details_tab(), QCoreApplication.translate("CABMeetingForm", "Meeting"))
        self.tabs.addTab(self._attendees_tab(), QCoreApplication.translate("CABMeetingForm", "Attendees"))
        self.tabs.addTab(self._agenda_tab(), QCoreApplication.translate("CABMeetingForm", "Agenda and votes"))
        self.tabs.addTab(self._actions_tab(), QCoreApplication.translate("CABMeetingForm", "Actions"))
        self.tabs.addTab(self.history, QCoreApplication.translate("CABMeetingForm", "Histor&y"))
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        self.pack_btn = QPushButton(QCoreApplication.translate("CABMeetingForm", "CAB pack…"))
        self.pack_btn.setObjectName("cabPackButton")
        self.pack_btn.clicked.connect(lambda: self.report("cab_pack"))
        self.minutes_btn = QPushButton(QCoreApplication.translate("CABMeetingForm", "Minutes…"))
        self.minutes_btn.setObjectName("cabMinutesButton")
        self.minutes_btn.clicked.connect(lambda: self.report("cab_minutes"))
        self.button_row.insertWidget(0, self.pack_btn)
        self.button_row.insertWidget(1, self.minutes_btn)
        self.watch(self.title_edit, self.start_edit, self.location_edit, self.emergency_check,
                   self.quorum_spin, self.status_box, self.chair_box, self.notes_edit)
        self.attendee_table.itemChanged.connect(self.mark_dirty)
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.tab_title()))
        # votes are the agenda's changes' rows: someone else's vote reloads the agenda
        self.follow("change", lambda: [i.change_id for i in self.data.agenda] if self.data else [])
        self._update_actions()

    def _details_tab(self) -> QWidget:
        self.title_edit = QLineEdit(QCoreApplication.translate("CABMeetingForm", "Weekly CAB"))
        self.title_edit.setObjectName("titleEdit")
        self.start_edit = dt_edit()
        self.location_edit = QLineEdit()
        self.emergency_check = QCheckBox(QCoreApplication.translate("CABMeetingForm", "Emergency CAB (ECAB)"))
        self.quorum_spin = QSpinBox()
        self.quorum_spin.setRange(1, 20)
        self.quorum_spin.setValue(cab.CAB_QUORUM)
        self.emergency_check.toggled.connect(self._emergency_toggled)
        self.status_box = QComboBox()
        for s in cab.MEETING_STATUSES:
            self.status_box.addItem(word(s), s)
        self.chair_box = QComboBox()
        self.chair_box.setObjectName("chairBox")
        self.chair_box.addItem(QCoreApplication.translate("CABMeetingForm", "(no chair)"), None)
        self.notes_edit = QPlainTextEdit()  # minutes-style notes run to several lines
        self.notes_edit.setObjectName("meetingNotes")
        self.notes_edit.setTabChangesFocus(True)
        details = QWidget()
        form = QFormLayout(details)
        form.addRow(QCoreApplication.translate("CABMeetingForm", "&Title"), self.title_edit)
        form.addRow(QCoreApplication.translate("CABMeetingForm", "&Starts"), self.start_edit)
        form.addRow(QCoreApplication.translate("CABMeetingForm", "&Location"), self.location_edit)
        row = QHBoxLayout()
        row.addWidget(self.emergency_check)
        row.addWidget(QLabel(QCoreApplication.translate("CABMeetingForm", "Quorum")))
        row.addWidget(self.quorum_spin)
        row.addStretch(1)
        form.addRow("", row)
        form.addRow(QCoreApplication.translate("CABMeetingForm", "Status"), self.status_box)
        form.addRow(QCoreApplication.translate("CABMeetingForm", "C&hair"), self.chair_box)
        form.addRow(QCoreApplication.translate("CABMeetingForm", "&Notes"), self.notes_edit)
        return details

    def _attendees_tab(self) -> QWidget:
        self.attendee_table = QTableWidget(0, 2)
        self.attendee_table.setObjectName("attendees")
        self.attendee_table.setHorizontalHeaderLabels([QCoreApplication.translate("CABMeetingForm", "Member"), QCoreApplication.translate("CABMeetingForm", "Present")])
        self.attendee_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch)
        self.attendee_table.verticalHeader().hide()
        return self.attendee_table

    def _agenda_tab(self) -> QWidget:
        self.vote_table = QTableWidget(0, 3)
        self.vote_table.setObjectName("votes")
        self.vote_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.vote_table.horizontalHeader().setStretchLastSection(True)
        self.vote_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.vote_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.vote_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.vote_table.doubleClicked.connect(self._open_change)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.vote_table)
        top = QHBoxLayout()
        self.build_btn = QPushButton(QCoreApplication.translate("CABMeetingForm", "Build agenda from changes awaiting CAB"))
        self.build_btn.setObjectName("buildAgendaButton")
        self.build_btn.clicked.connect(self.build_agenda)
        self.conditions_edit = QLineEdit()
        self.conditions_edit.setPlaceholderText(QCoreApplication.translate("CABMeetingForm", "Conditions for the selected change"))
        self.decision_box = QComboBox()
        self.decision_box.setObjectName("decisionBox")
        self.decision_box.addItem(QCoreApplication.translate("CABMeetingForm", "As the votes decide"), None)
        for value in ("rejected", "deferred"):
            self.decision_box.addItem(word(value), value)
        self.decision_box.setToolTip(QCoreApplication.translate(
            "CABMeetingForm", "The board may reject or defer a change against its votes, with a "
            "reason; it approves only what the votes approve."))
        self.decision_reason_edit = QLineEdit()
        self.decision_reason_edit.setObjectName("decisionReason")
        self.decision_reason_edit.setPlaceholderText(QCoreApplication.translate(
            "CABMeetingForm", "Reason, if against the votes"))
        self.decide_btn = QPushButton(QCoreApplication.translate("CABMeetingForm", "Record decision"))
        self.decide_btn.setObjectName("decideButton")
        self.decide_btn.clicked.connect(self.decide_selected)
        from itsmdesk.views.signin import gate

        gate(self.decide_btn, self.ctx, "cab.decide")
        gate(self.build_btn, self.ctx, "cab.manage")
        top.addWidget(self.build_btn)
        top.addStretch(1)
        layout.insertLayout(0, top)
        row = QHBoxLayout()
        row.addWidget(self.conditions_edit, 1)
        row.addWidget(self.decide_btn)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.decision_box)
        row.addWidget(self.decision_reason_edit, 1)
        layout.addLayout(row)
        return page

    def _actions_tab(self) -> QWidget:
        # (an action's change is named in its text: the form is narrow beside the docks)
        self.action_table = QTableWidget(0, 4)
        self.action_table.setObjectName("actions")
        self.action_table.setHorizontalHeaderLabels([QCoreApplication.translate("CABMeetingForm", "Action"), QCoreApplication.translate("CABMeetingForm", "Owner"), QCoreApplication.translate("CABMeetingForm", "Due"),
                                                     QCoreApplication.translate("CABMeetingForm", "Done")])
        header = self.action_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.action_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.action_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.action_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.action_table.verticalHeader().hide()
        # an action's text wraps, whole, however wide the form is
        self.action_table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.action_table)
        row = QHBoxLayout()
        self.action_text = QLineEdit()
        self.action_text.setPlaceholderText(QCoreApplication.translate("CABMeetingForm", "New action"))
        self.action_text.returnPressed.connect(self.add_action)
        self.action_owner = QComboBox()
        self.action_owner.addItem(QCoreApplication.translate("CABMeetingForm", "(no owner)"), None)
        self.action_due = QDateEdit(QDate.currentDate().addDays(7))
        self.action_due.setCalendarPopup(True)
        self.action_due.setDisplayFormat("yyyy-MM-dd")  # ISO, as every date in the app
        self.add_action_btn = QPushButton(QCoreApplication.translate("CABMeetingForm", "Add action"))
        self.add_action_btn.clicked.connect(self.add_action)
        self.done_btn = QPushButton(QCoreApplication.translate("CABMeetingForm", "Done / not done"))
        self.done_btn.setObjectName("actionDoneButton")
        self.done_btn.clicked.connect(self.toggle_action_done)
        row.addWidget(self.action_text, 1)
        row.addWidget(self.add_action_btn)
        row.addWidget(self.done_btn)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel(QCoreApplication.translate("CABMeetingForm", "Owner")))
        row.addWidget(self.action_owner)
        row.addWidget(QLabel(QCoreApplication.translate("CABMeetingForm", "Due")))
        row.addWidget(self.action_due)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    def _emergency_toggled(self, on: bool) -> None:
        if self.record_id is None and not self._filling:  # a new meeting's default quorum
            self.quorum_spin.setValue(cab.ECAB_QUORUM if on else cab.CAB_QUORUM)

    # -- reading ----------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return cab.meeting_view, (self.record_id,)

    def new_call(self):  # noqa: ANN201
        return cab.meeting_choices, ()

    def show_new(self, data: cab.MeetingChoices | None = None) -> None:
        self._set_members(data.members if data else ())
        start = QDateTime.currentDateTime().addDays(1)
        start.setTime(start.time().addSecs(-start.time().second()))
        self.start_edit.setDateTime(start)
        self._show_attendance({})
        self._update_actions()

    def _set_members(self, members: tuple[cab.PersonRow, ...]) -> None:
        self.members = tuple(members)
        for box, none_text in ((self.chair_box, QCoreApplication.translate("CABMeetingForm", "(no chair)")),
                               (self.action_owner, QCoreApplication.translate("CABMeetingForm", "(no owner)"))):
            current = box.currentData()
            box.clear()
            box.addItem(none_text, None)
            for p in self.members:
                box.addItem(p.name, str(p.id))
            box.setCurrentIndex(max(0, box.findData(current)))

    def fill(self, data: cab.MeetingView) -> None:
        self._set_members(data.members)
        self.header.setText(f"{data.ref}: {data.title} · "
                            f"{to_qdt(data.starts_at).toString('yyyy-MM-dd HH:mm')}")
        self.title_edit.setText(data.title)
        self.start_edit.setDateTime(to_qdt(data.starts_at))
        self.location_edit.setText(data.location or "")
        self.emergency_check.setChecked(data.emergency)
        self.quorum_spin.setValue(data.quorum)
        self.status_box.setCurrentIndex(max(0, self.status_box.findData(data.status)))
        index = self.chair_box.findData(str(data.chair_id) if data.chair_id else None)
        if data.chair_id and index < 0:
            self.chair_box.addItem(data.chair_name or str(data.chair_id), str(data.chair_id))
            index = self.chair_box.count() - 1
        self.chair_box.setCurrentIndex(max(0, index))
        self.notes_edit.setPlainText(data.notes or "")
        self.decision_box.setCurrentIndex(0)
        self.decision_reason_edit.clear()
        self._show_attendance(data.attendance, {a.person_id: a.name for a in data.attendees})
        self._show_agenda(data)
        self._show_actions(data)
        self.conditions_edit.clear()
        self._update_actions()
        self._shown = self._values()

    def _show_attendance(self, attendance: dict, names: dict | None = None) -> None:
        rows = [(p.id, p.name) for p in self.members]
        listed = {pid for pid, _n in rows}
        rows += sorted(((pid, name) for pid, name in (names or {}).items() if pid not in listed),
                       key=lambda r: r[1])
        self.attendee_table.setRowCount(0)
        for pid, name in rows:
            r = self.attendee_table.rowCount()
            self.attendee_table.insertRow(r)
            item = QTableWidgetItem(name)
            item.setData(ID_ROLE, str(pid))
            item.setData(Qt.ItemDataRole.UserRole + 1, pid in attendance)  # recorded before
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.attendee_table.setItem(r, 0, item)
            check = QTableWidgetItem()
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            check.setCheckState(Qt.CheckState.Checked if attendance.get(pid)
                                else Qt.CheckState.Unchecked)
            self.attendee_table.setItem(r, 1, check)

    def _show_agenda(self, data: cab.MeetingView) -> None:
        self._agenda_data = data
        if not getattr(self, "_follows_actor", False):  # who may set which vote follows sign-in
            self._follows_actor = True
            self.ctx.sig_actor_changed.connect(self._actor_changed)
        members = self.members
        self.vote_table.clear()
        self.vote_table.setColumnCount(len(members) + 3)
        self.vote_table.setHorizontalHeaderLabels(
            [QCoreApplication.translate("CABMeetingForm", "Change")] + [p.name for p in members]
            + [QCoreApplication.translate("CABMeetingForm", "Quorum outcome"), QCoreApplication.translate("CABMeetingForm", "Decision / conditions")])
        self.vote_table.setRowCount(len(data.agenda))
        for r, item in enumerate(data.agenda):
            label = QTableWidgetItem(f"{item.change_ref}: {item.change_title}")
            label.setData(ID_ROLE, str(item.change_id))
            label.setToolTip(f"{item.change_ref}: {item.change_title}\n" + QCoreApplication.translate(
                "CABMeetingForm", "{status} · {type} change").format(status=word(item.change_status),
                                                   type=word(item.change_type)))
            self.vote_table.setItem(r, 0, label)
            for c, person in enumerate(members, 1):
                box = QComboBox()
                box.setObjectName(f"vote_{r}_{c}")
                for choice in VOTE_CHOICES:
                    box.addItem(word(choice) if choice else "—", choice)
                box.setCurrentIndex(max(0, box.findData(item.vote_of(person.id))))
                if item.eligible and person.id not in item.eligible:
                    box.setEnabled(False)
                    box.setToolTip(QCoreApplication.translate("CABMeetingForm", "Not on the CAB for this change's category"))
                elif not may_vote(self.ctx.actor, person.id):
                    # a member sets their own vote; the change manager records the others'
                    box.setEnabled(False)
                    box.setToolTip(vote_refused_tip(self.ctx.actor, person.id))
                box.currentIndexChanged.connect(
                    lambda _i, row=item, pid=person.id, b=box: self.set_vote(
                        row.change_id, pid, b.currentData()))
                self.vote_table.setCellWidget(r, c, box)
            o = item.outcome
            cell = QTableWidgetItem(f"{word(o.decision)} ({o.approve}/{o.reject}/{o.abstain})")
            cell.setToolTip(self._explain(o))
            self.vote_table.setItem(r, len(members) + 1, cell)
            decided = word(item.decision) if item.decision else "—"
            if item.conditions:
                decided += f": {item.conditions}"
            cell = QTableWidgetItem(decided)
            if item.against_votes:  # the decision is not what the votes say: note it and why
                note = QCoreApplication.translate(
                    "CABMeetingForm", "against the votes ({outcome})").format(
                        outcome=word(o.decision))
                cell.setText(f"{decided} · {note}"
                             + (f": {item.decision_reason}" if item.decision_reason else ""))
                cell.setForeground(QBrush(QColor(WARN_COLOUR)))
                cell.setToolTip(QCoreApplication.translate(
                    "CABMeetingForm", "Decided against the quorum outcome ({outcome}): {reason}")
                    .format(outcome=word(o.decision), reason=item.decision_reason
                            or QCoreApplication.translate("CABMeetingForm", "no reason recorded")))
            self.vote_table.setItem(r, len(members) + 2, cell)
        # the change's title is elided (its tooltip has it whole): the votes must show
        header = self.vote_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.vote_table.resizeColumnToContents(0)
        header.resizeSection(0, min(header.sectionSize(0), 220))

    @staticmethod
    def _explain(o: cab.Outcome) -> str:
        if not o.quorate:
            return QCoreApplication.translate("CABMeetingForm", "no quorum: {votes} of {quorum} votes").format(
                votes=o.approve + o.reject + o.abstain, quorum=o.quorum)
        return QCoreApplication.translate("CABMeetingForm", "{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}").format(
            approve=o.approve, reject=o.reject, abstain=o.abstain, quorum=o.quorum)

    def _show_actions(self, data: cab.MeetingView) -> None:
        """The actions; one past its due date and not done is red, its due date bold, and its
        Done column says "overdue"."""
        today = _today()
        self.action_table.setRowCount(len(data.actions))
        for r, a in enumerate(data.actions):
            overdue = a.overdue_on(today)
            done = (QCoreApplication.translate("CABMeetingForm", "yes") if a.done
                    else QCoreApplication.translate("CABMeetingForm", "overdue") if overdue
                    else QCoreApplication.translate("CABMeetingForm", "no"))
            text = a.text if not a.change_ref or a.change_ref in a.text \
                else f"{a.change_ref}: {a.text}"
            for c, value in enumerate((text, a.owner_name or "—",
                                       a.due.isoformat() if a.due else "—", done)):
                item = QTableWidgetItem(value)
                item.setData(ID_ROLE, str(a.id))
                tip = value if c == 0 else ""
                if overdue:
                    item.setForeground(QBrush(QColor(WARN_COLOUR)))
                    tip = "\n".join(t for t in (tip, QCoreApplication.translate(
                        "CABMeetingForm", "Overdue: due {due} and not done").format(
                            due=a.due.isoformat())) if t)
                item.setToolTip(tip)
                if overdue and c in (2, 3):
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.action_table.setItem(r, c, item)

    def _update_actions(self) -> None:
        exists = self.data is not None
        for w in (self.pack_btn, self.minutes_btn, self.decide_btn, self.done_btn):
            w.setEnabled(exists)
        self.status_box.setEnabled(exists)

    def title(self) -> str:
        text = self.title_edit.text().strip() or QCoreApplication.translate("CABMeetingForm", "New CAB meeting")
        return f"{self.data.ref} {text}" if self.data is not None else text

    def _open_change(self, index) -> None:  # noqa: ANN001
        item = self.vote_table.item(index.row(), 0)
        if item is not None and index.column() == 0:
            self.ctx.open_record("change", _uuid(item.data(ID_ROLE)))

    # -- editing ----------------------------------------------------------------------------------
    def attendance(self) -> dict:
        """person id -> present: ticked people are present; people recorded before and now
        unticked stay on the list as absent."""
        out = {}
        for r in range(self.attendee_table.rowCount()):
            name = self.attendee_table.item(r, 0)
            here = self.attendee_table.item(r, 1).checkState() == Qt.CheckState.Checked
            if here or name.data(Qt.ItemDataRole.UserRole + 1):
                out[_uuid(name.data(ID_ROLE))] = here
        return out

    def _values(self) -> dict[str, Any]:
        chair = self.chair_box.currentData()
        return {"title": self.title_edit.text().strip(),
                "starts_at": from_qdt(self.start_edit.dateTime()),
                "location": self.location_edit.text().strip() or None,
                "emergency": self.emergency_check.isChecked(),
                "quorum": self.quorum_spin.value(),
                "status": self.status_box.currentData(),
                "chair": _uuid(chair) if chair else None,
                "notes": self.notes_edit.toPlainText().strip() or None,
                "attendance": self.attendance()}

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            return {k: v for k, v in values.items() if v not in (None, "", {})}
        return {k: v for k, v in values.items() if v != self._shown.get(k)}

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return cab.save_meeting, (self.record_id, self.version, edits, self.ctx.actor,
                                  self.new_id)

    def describe_value(self, field: str, value: Any) -> str:
        names = {str(p.id): p.name for p in self.members}
        if field == "attendance":
            return ", ".join(names.get(str(pid), str(pid)) + ("" if here else " " + QCoreApplication.translate("CABMeetingForm", "(absent)"))
                             for pid, here in value.items())
        if field == "chair":
            return names.get(str(value), "") if value else ""
        if isinstance(value, dt.datetime):
            return to_qdt(value).toString("yyyy-MM-dd HH:mm")
        return super().describe_value(field, value)

    # -- actions (each a write at the version the form holds; unsaved edits are saved first) ---------
    def build_agenda(self) -> None:
        self.when_saved(lambda: self.act(cab.build_agenda, self.record_id, self.ctx.actor,
                                         self.version))

    def _actor_changed(self) -> None:
        data = getattr(self, "_agenda_data", None)
        if data is not None:
            self._show_agenda(data)

    def set_vote(self, change_id: Any, person_id: Any, value: str | None) -> None:
        """A member's vote, at the version of the change it belongs to."""
        if not value:
            return

        def vote() -> None:
            row = next((i for i in self.data.agenda if i.change_id == change_id), None)
            self.act(cab.vote, self.record_id, change_id, person_id, value, "", self.ctx.actor,
                     row.change_version if row is not None else None)

        self.when_saved(vote)

    def selected_change(self) -> Any:
        row = self.vote_table.currentRow()
        item = self.vote_table.item(row, 0) if row >= 0 else None
        return _uuid(item.data(ID_ROLE)) if item is not None else None

    def decide_selected(self) -> None:
        change_id = self.selected_change()
        if change_id is None or self.data is None:
            self.say(QCoreApplication.translate("CABMeetingForm", "Select a change on the agenda first."), error=True)
            return
        decision = self.decision_box.currentData()
        reason = self.decision_reason_edit.text().strip() or None
        row = next((i for i in self.data.agenda if i.change_id == change_id), None)
        if decision and row is not None and decision != row.outcome.decision and not reason:
            self.say(QCoreApplication.translate(
                "CABMeetingForm", "The votes say {outcome}: give the reason for deciding "
                "{decision}.").format(outcome=word(row.outcome.decision), decision=word(decision)),
                error=True)
            self.decision_reason_edit.setFocus()
            return
        self.when_saved(lambda: self.act(
            cab.decide, self.record_id, change_id, self.conditions_edit.text().strip() or None,
            self.ctx.actor, True, self.version, decision, reason))

    def add_action(self) -> None:
        text = self.action_text.text().strip()
        if not text:
            self.say(QCoreApplication.translate("CABMeetingForm", "An action needs a text"), error=True)
            return
        owner = self.action_owner.currentData()
        qd = self.action_due.date()
        self.when_saved(lambda: self.act(
            cab.add_action, self.record_id, text, _uuid(owner) if owner else None,
            dt.date(qd.year(), qd.month(), qd.day()), None, self.ctx.actor, self.version,
            done=lambda _a: self.action_text.clear()))

    def toggle_action_done(self) -> None:
        row = self.action_table.currentRow()
        if row < 0 or self.data is None or row >= len(self.data.actions):
            self.say(QCoreApplication.translate("CABMeetingForm", "Select an action first."), error=True)
            return
        action = self.data.actions[row]
        self.when_saved(lambda: self.act(cab.set_action_done, action.id, not action.done,
                                         self.ctx.actor, self.version))

    def report(self, module: str, path: str | None = None) -> None:
        """Write the CAB pack or the minutes as a PDF (off the GUI thread), then preview it."""
        self.when_saved(lambda: self._report(module, path))

    def _report(self, module: str, path: str | None) -> None:
        from itsmdesk.views.changes import printing

        ref = self.data.ref
        if path is None:
            name = "cab-pack" if module == "cab_pack" else "cab-minutes"
            path, _f = QFileDialog.getSaveFileName(
                self, QCoreApplication.translate("CabPrinting", "Save PDF"), f"{name}-{ref}.pdf",
                QCoreApplication.translate("CabPrinting", "PDF (*.pdf)"))
            if not path:
                return

        def written(pages: int) -> None:
            self.ctx.sig_status.emit(QCoreApplication.translate(
                "CabPrinting", "%s written (%s pages)") % (path, pages))
            self.last_report = Path(path)
            printing.show_preview(self, Path(path))

        self.ctx.query(printing.write_report, module, ref, path, on_done=written,
                       on_error=self._action_failed, owner=self)


def create_form(ctx, record_id, window, kind: str = "cab_meeting") -> QWidget:  # noqa: ANN001
    return CABMeetingForm(ctx, record_id)
