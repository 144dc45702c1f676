"""Editors the release form uses: a UTC-backed date-time field shown in the user's zone, and
the add/edit plan step dialog."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDateTime, QTimeZone
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QWidget,
)

from itsmdesk.services.release import releases
from itsmdesk.services.release.plan import STEP_KINDS

UTC = QTimeZone.utc()


class DateTimeField(QDateTimeEdit):
    """A date-time editor in the user's time zone that may be empty (shows "—" at its minimum).

    ``set_value``/``value`` take and give naive UTC datetimes, as the services store them.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zone = QTimeZone.systemTimeZone()
        self.empty = QDateTime(2000, 1, 1, 0, 0, 0, 0, self.zone)
        self.setTimeZone(self.zone)
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.setMinimumDateTime(self.empty)
        self.setSpecialValueText("—")
        self.set_value(None)

    def set_value(self, value: dt.datetime | None) -> None:
        if value is None:
            self.setDateTime(self.empty)
            return
        utc = QDateTime(value.year, value.month, value.day, value.hour, value.minute,
                        value.second, 0, UTC)
        self.setDateTime(utc.toTimeZone(self.zone))

    def value(self) -> dt.datetime | None:
        if self.dateTime() == self.empty:
            return None
        value = self.dateTime().toUTC()
        d, t = value.date(), value.time()
        return dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute())


class StepDialog(QDialog):
    """Add a phase or step: name, kind, phase, owner (person and/or team), site, times, after."""

    def __init__(self, choices: releases.PlanChoices, plan: list, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepDialog")
        self.setWindowTitle(self.tr("Add plan step"))
        self.name = QLineEdit()
        self.kind = QComboBox()
        for kind in STEP_KINDS:
            self.kind.addItem(self.tr(kind.capitalize()), kind)
        self.phase = QComboBox()
        self.phase.addItem(self.tr("(no phase)"), None)
        for row in plan:
            if row.kind == "phase":
                self.phase.addItem(row.name, str(row.id))
        self.person = QComboBox()
        self.person.addItem(self.tr("(nobody)"), None)
        for pid, name in choices.people:
            self.person.addItem(name, str(pid))
        self.team = QComboBox()
        self.team.addItem(self.tr("(no team)"), None)
        for tid, name in choices.teams:
            self.team.addItem(name, str(tid))
        self.site = QComboBox()
        self.site.addItem(self.tr("(no site)"), None)
        for sid, name in choices.sites:
            self.site.addItem(name, str(sid))
        self.start, self.end = DateTimeField(), DateTimeField()
        self.after = QComboBox()
        self.after.addItem(self.tr("(nothing)"), None)
        for row in plan:
            if row.kind != "phase":
                self.after.addItem(row.name, str(row.id))
        form = QFormLayout(self)
        form.addRow(self.tr("&Name"), self.name)
        form.addRow(self.tr("&Kind"), self.kind)
        form.addRow(self.tr("&Phase"), self.phase)
        form.addRow(self.tr("Owner (&person)"), self.person)
        form.addRow(self.tr("Owner (&team)"), self.team)
        form.addRow(self.tr("&Site (waves)"), self.site)
        form.addRow(self.tr("Planned &start"), self.start)
        form.addRow(self.tr("Planned &end"), self.end)
        form.addRow(self.tr("&After"), self.after)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def prefill(self, row) -> None:  # noqa: ANN001 - a PlanRow being edited
        """Show ``row``'s values (editing an existing step)."""
        self.setWindowTitle(self.tr("Edit plan step"))
        self.name.setText(row.name)
        def text(value: Any) -> str | None:
            return None if value is None else str(value)

        for combo, value in ((self.kind, row.kind), (self.phase, text(row.phase_id)),
                             (self.person, text(row.owner_person_id)),
                             (self.team, text(row.owner_team_id)), (self.site, text(row.site_id)),
                             (self.after, text(row.depends_on[0]) if row.depends_on else None)):
            index = combo.findData(value) if value is not None else 0
            combo.setCurrentIndex(max(0, index))
        index = self.after.findData(str(row.id))
        if index > 0:
            self.after.removeItem(index)  # a step cannot wait for itself
        self.start.set_value(row.planned_start)
        self.end.set_value(row.planned_end)

    def values(self) -> tuple[dict[str, Any], list]:
        values = {"name": self.name.text().strip(), "kind": self.kind.currentData(),
                  "phase": self.phase.currentData(), "owner_person": self.person.currentData(),
                  "owner_team": self.team.currentData(), "site": self.site.currentData(),
                  "planned_start": self.start.value(), "planned_end": self.end.value()}
        values = {k: v for k, v in values.items() if v not in (None, "") or k == "name"}
        after = [self.after.currentData()] if self.after.currentData() else []
        return values, after
