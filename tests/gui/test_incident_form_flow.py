"""Drive the real widgets: record an incident through the form, see it in the queues, bulk-assign,
escalate, watch the SLA breach flag appear with a controlled clock, merge a stale edit."""

import datetime as dt

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.incident import Incident
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import escalation, incidents, queues
from itsmdesk.views.forms.incident_form import IncidentForm
from itsmdesk.views.forms.incident_pickers import CI_MIME
from itsmdesk.views.queue.panel import QueuePanel

NOW = dt.datetime(2026, 1, 12, 7, 0)  # Monday 08:00 Stockholm


@pytest.fixture
def desk(ctx, monkeypatch):
    d = sample_desk(calendar=True)
    ctx.set_actor(Actor.for_person(d["agent"]))
    clock = {"now": NOW}
    ctx.clock = lambda: clock["now"]
    d["clock"] = clock
    errors = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: errors.append(a[2])))
    d["errors"] = errors
    return d


def _combo_pick(combo, value):
    index = combo.findData(str(value) if value is not None and not isinstance(value, int) else value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def test_record_incident_through_form_and_queues(ctx, qtbot, desk):
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    form = IncidentForm(ctx, None)
    qtbot.addWidget(form)
    qtbot.keyClicks(form.title_edit, "Mail server down")
    form.description_edit.setPlainText("Nobody can send mail")
    _combo_pick(form.impact, 1)
    _combo_pick(form.urgency, 1)
    assert form.priority_label.property("priority") == 1
    _combo_pick(form.team, desk["desk"].id)
    form.caller.set_value(desk["caller"].id, "Karin Caller")
    # a CI dragged from the CMDB tree
    mime = QMimeData()
    mime.setData(CI_MIME, f"{desk['server'].id}\n".encode())
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    form.dropEvent(event)
    assert form.ci.text() == "mail-srv-01"
    assert form.save(), desk["errors"]
    row = Incident.get(Incident.title == "Mail server down")
    assert row.priority == 1 and row.ci_id == desk["server"].id and row.caller_id == desk["caller"].id
    assert row.assignee_id == desk["agent"].id and row.status == "assigned"
    assert form.title() == row.ref
    # the queues saw the write (records_changed) and count it
    panel.select_queue("my_open")
    assert panel.model.rowCount() == 1
    first = panel.model.index(0, panel.model.columns.index("priority"))
    assert panel.model.data(first) == "P1"
    assert "My open  (1)" in [panel.queue_list.item(i).text() for i in range(panel.queue_list.count())]


def test_bulk_assign_and_undo(ctx, qtbot, desk):
    for i in range(4):
        incidents.create_incident({"title": f"T{i}", "opened_at": NOW})
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.select_queue("unassigned")
    assert panel.model.rowCount() == 4
    panel.select_rows([0, 1, 2])
    rows = panel.selected_rows()
    assert len(rows) == 3
    from itsmdesk.views.queue.bulk_dialog import BulkEditDialog

    dialog = BulkEditDialog(ctx, 3, panel)
    dialog.set_field("assignee")
    dialog.set_value(str(desk["agent2"].id))
    panel.apply_bulk(rows, {"assignee": desk["agent2"].id})
    assert Incident.select().where(Incident.assignee == desk["agent2"].id).count() == 3
    assert panel.model.rowCount() == 1  # the queue re-counted after the write
    panel.undo_bulk()
    assert Incident.select().where(Incident.assignee.is_null()).count() == 4


def test_escalate_and_sla_breach_flag(ctx, qtbot, desk):
    inc = incidents.create_incident({"title": "VPN", "impact": 1, "urgency": 1, "opened_at": NOW,
                                     "team": desk["desk"].id}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    assert form.sla_label.property("slaState") == "ok"
    assert form.escalate_to_team(desk["network"].id, "Routing problem")
    assert Incident.get_by_id(inc.id).team_id == desk["network"].id
    desk["clock"]["now"] = NOW + dt.timedelta(hours=4, minutes=5)
    escalation.tick(ctx.clock())
    form.reload()
    assert form.sla_label.property("slaState") == "breached"
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.select_queue("breached")
    assert panel.model.rowCount() == 1
    sla_col = panel.model.columns.index("sla_state")
    assert panel.model.data(panel.model.index(0, sla_col)) == "breached"


def test_status_lifecycle_in_form(ctx, qtbot, desk):
    inc = incidents.create_incident({"title": "Laptop", "opened_at": NOW}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    _combo_pick(form.next_status, "pending")
    form.move_status()  # no reason: refused, shown
    assert desk["errors"] and Incident.get_by_id(inc.id).status == "new"
    form.pending_reason.setText("Waiting for caller")
    form.move_status()
    assert Incident.get_by_id(inc.id).status == "pending"
    assert form.sla_label.property("slaState") == "paused"


def test_stale_edit_is_refused_and_merged(ctx, qtbot, desk, monkeypatch):
    inc = incidents.create_incident({"title": "Printer", "opened_at": NOW}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    # someone else saves first
    incidents.update_incident(inc.id, inc.version, {"title": "Printer on floor 3", "urgency": 1},
                              Actor.for_person(desk["boss"]))
    form.title_edit.setText("Printer jammed")
    _combo_pick(form.team, desk["desk"].id)
    from itsmdesk.views.forms import merge_dialog as incident_merge

    seen = {}

    def fake_exec(dialog):
        seen["conflicts"] = list(dialog.conflicts)
        dialog.choose_mine("title")
        return True

    monkeypatch.setattr(incident_merge.MergeDialog, "exec", fake_exec)
    assert form.save()
    row = Incident.get_by_id(inc.id)
    assert seen["conflicts"] == ["title"]
    assert row.title == "Printer jammed"  # mine, chosen in the dialog
    assert row.urgency == 1  # theirs, kept
    assert row.team_id == desk["desk"].id  # mine, not in conflict
    assert form.version == row.version


def test_queue_model_is_lazy(ctx, qtbot, desk):
    for i in range(250):
        incidents.create_incident({"title": f"bulk {i}", "opened_at": NOW + dt.timedelta(seconds=i)})
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.select_queue("all")
    model = panel.model
    assert model.rowCount() == 250 and model.cached_rows() == 100
    assert model.data(model.index(249, 0)).startswith("INC-")
    assert model.cached_rows() == 150
    model.sort(model.columns.index("ref"), Qt.SortOrder.AscendingOrder)
    assert model.data(model.index(0, 0)) == Incident.select().order_by(Incident.ref).first().ref
    assert queues.count(queues.get_spec("all")) == 250


def test_save_filtered_view_as_queue(ctx, qtbot, desk):
    for title in ("Printer jam", "Printer offline", "VPN down"):
        incidents.create_incident({"title": title, "opened_at": NOW})
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.select_queue("all_open")
    panel.filter_edit.setText("printer")
    panel.model.set_text("printer")
    assert panel.model.rowCount() == 2
    row = panel.save_current_as("Printers")
    assert panel.current_key() == f"saved:{row.id}"
    assert panel.model.rowCount() == 2
    assert any("Printers  (2)" == panel.queue_list.item(i).text()
               for i in range(panel.queue_list.count()))
    assert panel.delete_current()
    assert not any("Printers" in panel.queue_list.item(i).text()
                   for i in range(panel.queue_list.count()))
