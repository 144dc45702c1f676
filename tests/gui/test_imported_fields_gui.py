"""What an import from HP Service Manager kept shows on the forms (read-only): an incident's
interactions, caused-by CI, reopen time, reassignments and handle time; a change's open time,
requested end and CAB approval.  A ticket made here shows none of it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QScrollArea

from itsmdesk.models.change import Change
from itsmdesk.models.incident import Incident
from itsmdesk.services.importing.mapped import run_import
from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.changes.change_form import ChangeForm
from itsmdesk.views.queue.incident_form import IncidentForm

HPSM = Path(__file__).resolve().parents[1] / "fixtures" / "hpsm"


def _import() -> None:
    for kind in ("incidents", "changes", "interactions"):
        assert run_import(kind, HPSM / f"{kind}.csv", f"hpsm-{kind}").applied


def _shot(widget, name: str) -> None:
    folder = os.environ.get("ITSMDESK_SHOTS")
    if folder:
        widget.resize(1400, 900)
        widget.grab().save(str(Path(folder) / f"{name}.png"))


def test_incident_form_shows_interactions_and_imported_figures(ctx, qtbot):
    _import()
    four = Incident.get(Incident.external_key == "IM0000005")
    form = IncidentForm(ctx, four.id)
    qtbot.addWidget(form)
    form.show()
    assert form.loaded
    items = [form.interactions_list.item(i).text() for i in range(form.interactions_list.count())]
    assert len(items) == 1 and items[0].startswith("INT-") and "WBA000124" in items[0]
    assert form.imported_box.isVisible()
    shown = {name: label.text() for name, label in form.imported.items()}
    assert shown["external_key"] == "IM0000005" and shown["reassignments"] == "33"
    assert shown["caused_by_ci"] == "WBA000124" and shown["handle_hours"] == "4354.8 h"
    assert shown["reopened_at"]
    form.resize(1400, 900)
    form.page.ensureWidgetVisible(form.imported_box)
    _shot(form, "incident_imported")
    # a ticket recorded here: no imported box, no interactions row
    own = incidents.create_incident({"title": "Printer"})
    other = IncidentForm(ctx, own.id)
    qtbot.addWidget(other)
    other.show()
    assert not other.imported_box.isVisible() and not other.interactions_list.isVisible()


def test_change_form_shows_imported_fields(ctx, qtbot):
    _import()
    c11 = Change.get(Change.external_key == "C00000011")
    form = ChangeForm(ctx, c11.id)
    qtbot.addWidget(form)
    form.show()
    shown = {name: label.text() for name, label in form.imported.items()}
    assert shown["external_key"] == "C00000011" and shown["cab_approval_needed"] == "needed"
    assert shown["opened_at"] and shown["requested_end"]
    assert all(label.isVisible() for label in form.imported.values())
    # the Details page scrolls: the form, Imported box and all, fits above a bottom dock in a
    # 900 px window (it asked 660 px and the main window grew past the screen)
    assert form.minimumSizeHint().height() < 450
    page = form.findChild(QScrollArea, "changeDetailsPage")
    assert page is not None and page.widget().isAncestorOf(form.imported_box)
    _shot(form, "change_imported")
