"""A CAB meeting: date and place, attendees, the agenda, a vote per member and change, the
quorum outcome and decision with conditions, actions with owners; CAB pack and minutes."""

from __future__ import annotations

import datetime as dt
import uuid

from PySide6.QtCore import QDate, QDateTime, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.errors import ItsmError
from itsmdesk.views.forms.change_form import _from_qdt, _to_qdt
from itsmdesk.views.messages import show_error

VOTE_CHOICES = ("", "approve", "reject", "abstain")


class CABMeetingForm(QWidget):
    sig_title_changed = Signal(str)
    """(tab title) after load and save."""

    def __init__(self, ctx, meeting_id=None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.meeting_id = uuid.UUID(str(meeting_id)) if meeting_id else None
        self.meeting = None
        self.members: list = []
        self.items: list = []
        self.setObjectName("cabMeetingForm")
        self._build()
        if self.meeting_id:
            self.load()

    def _build(self) -> None:
        from itsmdesk.services.change import cab

        self.members = cab.members_for(None)
        self.header = QLabel(self.tr("New CAB meeting"))
        font = self.header.font()
        font.setPointSizeF(font.pointSizeF() + 3)
        font.setBold(True)
        self.header.setFont(font)
        self.title_edit = QLineEdit(self.tr("Weekly CAB"))
        self.start_edit = QDateTimeEdit(QDateTime.currentDateTime().addDays(1))
        self.start_edit.setCalendarPopup(True)
        self.start_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.location_edit = QLineEdit()
        self.emergency_check = QCheckBox(self.tr("Emergency CAB (ECAB)"))
        self.quorum_spin = QSpinBox()
        self.quorum_spin.setRange(1, 20)
        self.quorum_spin.setValue(3)
        self.emergency_check.toggled.connect(
            lambda on: self.quorum_spin.setValue(2 if on else 3) if not self.meeting else None)
        self.status_box = QComboBox()
        for s in ("planned", "held", "cancelled"):
            self.status_box.addItem(s, s)
        self.notes_edit = QLineEdit()

        details = QWidget()
        form = QFormLayout(details)
        form.addRow(self.tr("&Title"), self.title_edit)
        form.addRow(self.tr("&Starts"), self.start_edit)
        form.addRow(self.tr("&Location"), self.location_edit)
        row = QHBoxLayout()
        row.addWidget(self.emergency_check)
        row.addWidget(QLabel(self.tr("Quorum")))
        row.addWidget(self.quorum_spin)
        row.addWidget(QLabel(self.tr("Status")))
        row.addWidget(self.status_box)
        row.addStretch(1)
        form.addRow("", row)
        form.addRow(self.tr("&Notes"), self.notes_edit)

        self.attendee_table = QTableWidget(0, 2)
        self.attendee_table.setObjectName("attendees")
        self.attendee_table.setHorizontalHeaderLabels([self.tr("Member"), self.tr("Present")])
        self.attendee_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for person in self.members:
            r = self.attendee_table.rowCount()
            self.attendee_table.insertRow(r)
            name = QTableWidgetItem(person.name)
            name.setData(Qt.ItemDataRole.UserRole, person.id)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.attendee_table.setItem(r, 0, name)
            check = QTableWidgetItem()
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            check.setCheckState(Qt.CheckState.Unchecked)
            self.attendee_table.setItem(r, 1, check)

        # agenda + votes: one row per change, one column per member, outcome, conditions
        self.vote_table = QTableWidget(0, len(self.members) + 3)
        self.vote_table.setObjectName("votes")
        self.vote_table.setHorizontalHeaderLabels(
            [self.tr("Change")] + [p.name for p in self.members]
            + [self.tr("Quorum outcome"), self.tr("Decision / conditions")])
        self.vote_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.vote_table.horizontalHeader().setStretchLastSection(True)
        self.vote_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        agenda = QWidget()
        al = QVBoxLayout(agenda)
        al.addWidget(self.vote_table)
        row = QHBoxLayout()
        self.build_btn = QPushButton(self.tr("Build agenda from changes awaiting CAB"))
        self.build_btn.clicked.connect(self.build_agenda)
        self.conditions_edit = QLineEdit()
        self.conditions_edit.setPlaceholderText(self.tr("Conditions for the selected change"))
        self.decide_btn = QPushButton(self.tr("Record decision"))
        self.decide_btn.clicked.connect(self.decide_selected)
        row.addWidget(self.build_btn)
        row.addWidget(self.conditions_edit, 1)
        row.addWidget(self.decide_btn)
        al.addLayout(row)

        self.action_table = QTableWidget(0, 4)
        self.action_table.setObjectName("actions")
        self.action_table.setHorizontalHeaderLabels([self.tr("Action"), self.tr("Owner"),
                                                     self.tr("Due"), self.tr("Done")])
        self.action_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        actions = QWidget()
        acl = QVBoxLayout(actions)
        acl.addWidget(self.action_table)
        row = QHBoxLayout()
        self.action_text = QLineEdit()
        self.action_text.setPlaceholderText(self.tr("New action"))
        self.action_owner = QComboBox()
        self.action_owner.addItem(self.tr("(no owner)"), None)
        for p in self.members:
            self.action_owner.addItem(p.name, p.id)
        self.action_due = QDateEdit(QDate.currentDate().addDays(7))
        self.action_due.setCalendarPopup(True)
        add = QPushButton(self.tr("Add action"))
        add.clicked.connect(self.add_action)
        for w in (self.action_text, self.action_owner, self.action_due, add):
            row.addWidget(w)
        acl.addLayout(row)

        self.tabs = QTabWidget()
        self.tabs.addTab(details, self.tr("Meeting"))
        self.tabs.addTab(self.attendee_table, self.tr("Attendees"))
        self.tabs.addTab(agenda, self.tr("Agenda and votes"))
        self.tabs.addTab(actions, self.tr("Actions"))

        buttons = QHBoxLayout()
        self.pack_btn = QPushButton(self.tr("CAB pack…"))
        self.pack_btn.clicked.connect(lambda: self._report("cab_pack"))
        self.minutes_btn = QPushButton(self.tr("Minutes…"))
        self.minutes_btn.clicked.connect(lambda: self._report("cab_minutes"))
        self.save_btn = QPushButton(self.tr("&Save"))
        self.save_btn.setShortcut("Ctrl+S")
        self.save_btn.clicked.connect(self.save)
        buttons.addWidget(self.pack_btn)
        buttons.addWidget(self.minutes_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.save_btn)

        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)

    def title(self) -> str:
        return self.meeting.ref if self.meeting else self.tr("New CAB meeting")

    # -- load ------------------------------------------------------------------------------------
    def load(self) -> None:
        from itsmdesk.services.change import cab

        m = cab.get_meeting(self.meeting_id)
        self.meeting = m
        self.header.setText(f"{m.ref}: {m.title} · {m.starts_at:%Y-%m-%d %H:%M} UTC")
        self.title_edit.setText(m.title)
        self.start_edit.setDateTime(_to_qdt(m.starts_at))
        self.location_edit.setText(m.location or "")
        self.emergency_check.setChecked(m.emergency)
        self.quorum_spin.setValue(m.quorum)
        self.status_box.setCurrentIndex(max(0, self.status_box.findData(m.status)))
        self.notes_edit.setText(m.notes or "")
        present = {p.id: here for p, here in cab.attendees(m.id)}
        for r in range(self.attendee_table.rowCount()):
            pid = self.attendee_table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            self.attendee_table.item(r, 1).setCheckState(
                Qt.CheckState.Checked if present.get(pid) else Qt.CheckState.Unchecked)
        self._load_agenda()
        self._load_actions()
        self.sig_title_changed.emit(self.title())

    def _load_agenda(self) -> None:
        from itsmdesk.services.change import cab

        self.items = cab.agenda(self.meeting.id)
        self.vote_table.blockSignals(True)
        self.vote_table.setRowCount(0)
        for item in self.items:
            r = self.vote_table.rowCount()
            self.vote_table.insertRow(r)
            label = QTableWidgetItem(f"{item.change.ref}: {item.change.title}")
            label.setData(Qt.ItemDataRole.UserRole, item.change_id)
            self.vote_table.setItem(r, 0, label)
            cast = {v.person_id: v.vote for v in cab.votes(item.change_id, self.meeting.id)}
            for c, person in enumerate(self.members, 1):
                box = QComboBox()
                for choice in VOTE_CHOICES:
                    box.addItem(choice or "—", choice or None)
                box.setCurrentIndex(max(0, box.findData(cast.get(person.id))))
                box.currentIndexChanged.connect(
                    lambda _i, cid=item.change_id, pid=person.id, b=box: self.set_vote(
                        cid, pid, b.currentData()))
                self.vote_table.setCellWidget(r, c, box)
            outcome = cab.outcome(item.change_id, self.meeting.id)
            cell = QTableWidgetItem(f"{outcome.decision} ({outcome.approve}/{outcome.reject}/"
                                    f"{outcome.abstain})")
            cell.setToolTip(outcome.explain)
            self.vote_table.setItem(r, len(self.members) + 1, cell)
            decided = item.decision or "—"
            if item.conditions:
                decided += f": {item.conditions}"
            self.vote_table.setItem(r, len(self.members) + 2, QTableWidgetItem(decided))
        self.vote_table.blockSignals(False)

    def _load_actions(self) -> None:
        from itsmdesk.services.change import cab

        names = {p.id: p.name for p in self.members}
        self.action_table.setRowCount(0)
        for a in cab.actions(self.meeting.id):
            r = self.action_table.rowCount()
            self.action_table.insertRow(r)
            for c, value in enumerate((a.text, names.get(a.owner_id, "—"),
                                       a.due.isoformat() if a.due else "—",
                                       self.tr("yes") if a.done else self.tr("no"))):
                self.action_table.setItem(r, c, QTableWidgetItem(value))

    # -- edits -----------------------------------------------------------------------------------
    def attendance(self) -> dict:
        out = {}
        for r in range(self.attendee_table.rowCount()):
            pid = self.attendee_table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            state = self.attendee_table.item(r, 1).checkState()
            if state == Qt.CheckState.Checked:
                out[pid] = True
        return out

    def save(self) -> bool:
        from itsmdesk.services.change import cab

        start = _from_qdt(self.start_edit.dateTime())
        values = {"title": self.title_edit.text().strip(), "starts_at": start,
                  "ends_at": start + dt.timedelta(hours=1) if start else None,
                  "location": self.location_edit.text().strip() or None,
                  "emergency": self.emergency_check.isChecked(),
                  "quorum": self.quorum_spin.value(), "notes": self.notes_edit.text() or None}
        try:
            if self.meeting is None:
                meeting = cab.create_meeting(values, self.ctx.actor)
                self.meeting_id = meeting.id
            else:
                values["status"] = self.status_box.currentData()
                values.pop("ends_at")
                meeting = cab.update_meeting(self.meeting.id, self.meeting.version, values,
                                             self.ctx.actor)
            cab.set_attendees(meeting.id, self.attendance(), self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return False
        self.ctx.records_changed("cab_meeting", [meeting.id])
        self.load()
        return True

    def build_agenda(self) -> None:
        from itsmdesk.services.change import cab

        if self.meeting is None and not self.save():
            return
        cab.build_agenda(self.meeting.id, self.ctx.actor)
        self._load_agenda()

    def set_vote(self, change_id, person_id, value) -> bool:  # noqa: ANN001
        from itsmdesk.services.change import cab

        if not value:
            return False
        try:
            cab.vote(self.meeting.id, change_id, person_id, value, actor=self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return False
        self._load_agenda()
        return True

    def decide_selected(self) -> None:
        from itsmdesk.services.change import cab

        row = self.vote_table.currentRow()
        if row < 0 or self.meeting is None:
            return
        change_id = self.vote_table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        try:
            cab.decide(self.meeting.id, change_id, self.conditions_edit.text().strip() or None,
                       self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return
        self.conditions_edit.clear()
        self.ctx.records_changed("change", [change_id])
        self._load_agenda()

    def add_action(self) -> None:
        from itsmdesk.services.change import cab

        if self.meeting is None and not self.save():
            return
        qd = self.action_due.date()
        try:
            cab.add_action(self.meeting.id, self.action_text.text(), self.action_owner.currentData(),
                           dt.date(qd.year(), qd.month(), qd.day()), actor=self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return
        self.action_text.clear()
        self._load_actions()

    def _report(self, module: str) -> None:
        from itsmdesk.views.changes.printing import export_and_preview

        if self.meeting is not None:
            export_and_preview(self, self.ctx, module, self.meeting.ref)

    def can_close(self) -> bool:
        return True


def create_form(ctx, record_id, window, kind: str = "cab_meeting") -> QWidget:  # noqa: ANN001
    return CABMeetingForm(ctx, record_id, window)
