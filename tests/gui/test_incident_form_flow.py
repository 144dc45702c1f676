"""Drive the real widgets: record an incident through the form, see it in the queues, bulk-assign,
escalate, watch the SLA breach flag appear with a controlled clock, move statuses, merge a stale
edit, link known errors and child tickets -- and never touch the database on the GUI thread."""

import datetime as dt

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.models.base import story_clock
from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.services import history, records
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import escalation, incidents, queues
from itsmdesk.views.queue.incident_form import IncidentForm
from itsmdesk.views.queue.incident_pickers import CI_MIME
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
    panel.show()  # a hidden queue dock refreshes when it is shown
    form = IncidentForm(ctx, None)
    qtbot.addWidget(form)
    assert form.loaded and form.title() == "New incident"
    assert form.team.count() == 3 and form.assignee.findText("Olle Agent") >= 0  # new_call()
    assert form.assignee.currentText() == "Olle Agent"  # the agent signed in
    qtbot.keyClicks(form.title_edit, "Mail server down")
    assert form.dirty and form.tab_title().endswith("•")
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
    form.save()
    assert not desk["errors"], desk["errors"]
    row = Incident.get(Incident.title == "Mail server down")
    assert row.id == form.new_id == form.record_id  # created with the key chosen at open
    assert row.priority == 1 and row.ci_id == desk["server"].id and row.caller_id == desk["caller"].id
    assert row.assignee_id == desk["agent"].id and row.status == "assigned"
    assert row.opened_at == NOW  # the form's clock
    assert form.title() == row.ref and not form.dirty and form.data.version == row.version
    assert form.property("recordKey") == f"incident:{row.id}"
    # the queues saw the write (its Changes are broadcast) and count it
    panel.select_queue("my_open")
    assert panel.model.rowCount() == 1
    first = panel.model.index(0, panel.model.columns.index("priority"))
    assert panel.model.data(first) == "P1"
    assert "My open  (1)" in [panel.queue_list.item(i).text() for i in range(panel.queue_list.count())]


def test_new_service_request(ctx, qtbot, desk, gui_sql):
    from itsmdesk.services.servicedesk import categories

    categories.create_category("Hardware order", "request")
    categories.create_category("Printing", "incident")
    gui_sql.clear()
    form = IncidentForm(ctx, None, kind="request")
    qtbot.addWidget(form)
    assert form.title() == "New request"
    assert [form.category.itemText(i) for i in range(form.category.count())] == [
        "(none)", "Hardware order"]  # the request categories, from new_call()
    form.title_edit.setText("New laptop for Karin")
    form.save()
    assert gui_sql.statements == []
    row = Incident.get_by_id(form.record_id)
    assert row.kind == "request" and row.ref.startswith("REQ-") and form.title() == row.ref
    assert form.property("recordKey") == f"request:{row.id}"
    assert "fulfilled" in [form.next_status.itemData(i) for i in range(form.next_status.count())]


def test_bulk_assign_and_undo(ctx, qtbot, desk):
    for i in range(4):
        incidents.create_incident({"title": f"T{i}", "opened_at": NOW})
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
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


def test_escalate_and_sla_breach_flag(ctx, qtbot, desk, gui_sql):
    with story_clock(NOW):  # created when opened: its SLA state is stored as of then
        inc = incidents.create_incident({"title": "VPN", "impact": 1, "urgency": 1,
                                         "opened_at": NOW, "team": desk["desk"].id}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    assert form.sla_label.property("slaState") == "ok"
    assert "left" in form.sla_label.text()
    form.escalate_to_team(desk["network"].id, "Routing problem")
    row = Incident.get_by_id(inc.id)
    assert row.team_id == desk["network"].id and form.version == row.version
    assert form.team.currentText() == "Network" and not form.dirty
    assert "Escalated to Network: Routing problem" in form.side.work_log.item(0).text()
    # the countdown recomputes from the due dates it holds and the clock, without a query
    gui_sql.clear()
    desk["clock"]["now"] = NOW + dt.timedelta(hours=4, minutes=5)
    form._countdown.timeout.emit()
    assert form.sla_label.property("slaState") == "breached"
    assert gui_sql.statements == []
    escalation.tick(ctx.clock())
    form.reload()
    assert form.sla_label.property("slaState") == "breached"
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.select_queue("breached")
    assert panel.model.rowCount() == 1
    sla_col = panel.model.columns.index("sla_state")
    assert panel.model.data(panel.model.index(0, sla_col)) == "breached"


def test_escalate_to_manager_notifies_and_logs(ctx, qtbot, desk):
    inc = incidents.create_incident({"title": "CEO laptop", "opened_at": NOW,
                                     "team": desk["desk"].id}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    form.escalate_to_manager("VIP caller")
    assert not desk["errors"], desk["errors"]
    assert form.message.text() == "1 people notified"
    assert "Escalated to management: VIP caller" in form.side.work_log.item(0).text()
    assert form.version == Incident.get_by_id(inc.id).version == inc.version + 1


def test_status_lifecycle_in_form(ctx, qtbot, desk):
    inc = incidents.create_incident({"title": "Laptop", "opened_at": NOW}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    _combo_pick(form.next_status, "pending")
    form.move_status()  # no reason: refused, shown
    assert desk["errors"] and Incident.get_by_id(inc.id).status == "new"
    form.pending_reason.setText("Waiting for caller")
    form.move_status()
    row = Incident.get_by_id(inc.id)
    assert row.status == "pending" and row.pending_reason == "Waiting for caller"
    assert form.sla_label.property("slaState") == "paused"
    assert form.status_label.text() == "<b>Pending</b>" and not form.dirty
    # an edit of the reason is a plain save while pending
    form.pending_reason.setText("Caller on holiday")
    form.pending_reason.textEdited.emit("Caller on holiday")
    assert form.edits() == {"pending_reason": "Caller on holiday"}
    form.save()
    assert Incident.get_by_id(inc.id).pending_reason == "Caller on holiday"
    # a move saves the other edits with it, in one write
    form.title_edit.setText("Laptop will not boot")
    _combo_pick(form.next_status, "resolved")
    _combo_pick(form.resolution_code, "solved_permanently")
    form.solution.setPlainText("Replaced the disk")
    form.move_status()
    row = Incident.get_by_id(inc.id)
    assert (row.status, row.title, row.solution) == ("resolved", "Laptop will not boot",
                                                     "Replaced the disk")
    assert row.version == form.version and not form.dirty
    assert [form.next_status.itemText(i) for i in range(form.next_status.count())] == [
        "Closed", "Reopen"]


def test_resolving_a_major_incident_offers_its_children(ctx, qtbot, desk, monkeypatch):
    parent = incidents.create_incident({"title": "Mail down", "opened_at": NOW}, desk["actor"])
    kids = [incidents.create_incident({"title": f"No mail {i}", "opened_at": NOW}, desk["actor"])
            for i in range(2)]
    incidents.link_child(parent.id, kids[0].id, desk["actor"])
    form = IncidentForm(ctx, parent.id)
    qtbot.addWidget(form)
    assert form.major.isChecked() and form.children_list.count() == 1
    form.link_child(kids[1].ref)
    assert Incident.get_by_id(kids[1].id).parent_id == parent.id
    assert form.children_list.count() == 2 and form.version == Incident.get_by_id(parent.id).version
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2])
                        or QMessageBox.StandardButton.Yes)
    _combo_pick(form.next_status, "resolved")
    _combo_pick(form.resolution_code, "solved_workaround")
    form.solution.setPlainText("Restarted the mail server")
    form.move_status()
    assert asked == ["This major incident has open child tickets. Resolve them too?"]
    assert all(Incident.get_by_id(k.id).status == "resolved" for k in kids)
    assert "Resolved" in form.children_list.item(0).text().title()
    assert form.message.text() == "2 child tickets resolved"


def test_stale_edit_is_refused_and_merged(ctx, qtbot, desk, monkeypatch):
    inc = incidents.create_incident({"title": "Printer", "opened_at": NOW}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    # someone else saves first, at the version the form holds
    incidents.save_incident(inc.id, form.version, {"title": "Printer on floor 3", "urgency": 1},
                            Actor.for_person(desk["boss"]))
    form.title_edit.setText("Printer jammed")
    _combo_pick(form.team, desk["desk"].id)
    from itsmdesk.views.forms import merge_dialog

    seen = {}

    def fake_exec(dialog):
        seen["conflicts"] = list(dialog.conflicts)
        seen["mine"] = dict(dialog.mine)
        dialog.choose_mine("title")
        return True

    monkeypatch.setattr(merge_dialog.MergeDialog, "exec", fake_exec)
    form.save()
    row = Incident.get_by_id(inc.id)
    assert seen["conflicts"] == ["title"]
    assert seen["mine"] == {"title": "Printer jammed", "team": desk["desk"].id}
    assert row.title == "Printer jammed"  # mine, chosen in the dialog
    assert row.urgency == 1  # theirs, kept
    assert row.team_id == desk["desk"].id  # mine, not in conflict
    assert form.version == row.version and not form.dirty
    assert form.title_edit.text() == "Printer jammed" and form.urgency.currentData() == 1
    last = [e for e in records.history("incident", inc.id) if e.version == row.version]
    assert {e.field for e in last} == {"title", "team"} and all(e.who == "Olle Agent" for e in last)


def test_stale_action_conflicts_and_writes_nothing(ctx, qtbot, desk):
    inc = incidents.create_incident({"title": "Scanner", "opened_at": NOW}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    incidents.update_incident(inc.id, inc.version, {"urgency": 1}, Actor.for_person(desk["boss"]))
    form.add_note("Called the caller back")
    assert desk["errors"] and "nothing was saved" in desk["errors"][-1]
    assert WorkLog.select().where(WorkLog.incident == inc.id).count() == 0
    assert form.urgency.currentData() == 1  # reloaded: the form shows the ticket as it is now
    form.add_note("Called the caller back")
    assert WorkLog.get(WorkLog.incident == inc.id).text == "Called the caller back"


def test_edit_saves_only_the_changed_fields_with_names_in_history(ctx, qtbot, desk):
    inc = incidents.create_incident({"title": "Wi-Fi slow", "opened_at": NOW,
                                     "ci": desk["server"].id}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    assert form.edits() == {} and not form.dirty
    _combo_pick(form.team, desk["network"].id)
    form.description_edit.setPlainText("Since Monday")
    form.ci.set_value(None, "")
    assert form.edits() == {"team": desk["network"].id, "description": "Since Monday", "ci": None}
    form.save()
    row = Incident.get_by_id(inc.id)
    assert (row.team_id, row.description, row.ci_id) == (desk["network"].id, "Since Monday", None)
    assert row.version == inc.version + 1 == form.version
    changed = [e for e in records.history("incident", inc.id) if e.version == row.version]
    assert sorted(e.field for e in changed) == ["ci", "description", "team"]
    # the History tab names the team and the CI, not their ids
    form.tabs.setCurrentWidget(form.history)
    form.history.refresh()
    lines = {e.field: e for e in form.history.entries if e.version == row.version}
    assert lines["team"].new == "Network" and lines["ci"].old == "mail-srv-01"
    texts = [form.history.tree.topLevelItem(i).text(5)
             for i in range(form.history.tree.topLevelItemCount())]
    assert "Network" in texts and str(desk["network"].id) not in " ".join(texts)
    named = {e.field: e for e in history.named_history("incident", inc.id)
             if e.version == row.version}
    assert named["team"].new == "Network"


def test_suggested_known_error_is_linked_and_its_workaround_applied(ctx, qtbot, desk):
    from itsmdesk.services.problem import problems

    prb = problems.create_problem({"title": "Outlook crashes"})
    ke = problems.create_known_error({"title": "Outlook crashes after update",
                                      "workaround": "Disable the add-in", "problem": prb.id})
    inc = incidents.create_incident({"title": "Outlook crashes on start", "opened_at": NOW},
                                    desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    side = form.side
    assert side.select_suggestion(ke.ref)
    assert side.apply_button.isEnabled() and side.link_button.isEnabled()
    side.link_button.click()
    row = Incident.get_by_id(inc.id)
    assert row.known_error_id == ke.id and row.problem_id == prb.id
    assert form.known_error_ref.text() == ke.ref and form.problem_ref.text() == prb.ref
    assert side.select_suggestion(ke.ref)
    side.apply_button.click()
    assert "Disable the add-in" in WorkLog.get(WorkLog.incident == inc.id).text
    assert "Disable the add-in" in side.work_log.item(0).text()
    assert not desk["errors"], desk["errors"]


def test_unsaved_edits_are_saved_before_an_action(ctx, qtbot, desk):
    inc = incidents.create_incident({"title": "Phone", "opened_at": NOW}, desk["actor"])
    form = IncidentForm(ctx, inc.id)
    qtbot.addWidget(form)
    form.title_edit.setText("Desk phone dead")
    form.side.note_edit.setPlainText("Swapped the cable")
    form.side.public_check.setChecked(True)
    form.side.add_note()
    row = Incident.get_by_id(inc.id)
    assert row.title == "Desk phone dead" and row.version == inc.version + 2
    note = WorkLog.get(WorkLog.incident == inc.id)
    assert note.text == "Swapped the cable" and note.public
    assert form.side.note_edit.toPlainText() == "" and not form.dirty
    assert form.title_edit.text() == "Desk phone dead" and form.version == row.version


def test_the_form_never_touches_the_database_on_the_gui_thread(ctx, qtbot, desk, gui_sql,
                                                              monkeypatch, tmp_path):
    from itsmdesk.services.problem import problems
    from itsmdesk.services.servicedesk import categories

    cat = categories.create_category("Printing", "incident")
    categories.save_script(cat.id, cat.version, [
        {"question": "Is it on?", "answers": [{"label": "Yes"},
                                              {"label": "No", "route_team": str(desk["network"].id)}]}])
    ke = problems.create_known_error({"title": "Printer offline after sleep",
                                      "workaround": "Power cycle"})
    other = incidents.create_incident({"title": "Another printer", "opened_at": NOW})
    inc = incidents.create_incident({"title": "Printer offline", "opened_at": NOW,
                                     "category": cat.id, "team": desk["desk"].id}, desk["actor"])
    attachment = tmp_path / "log.txt"
    attachment.write_text("paper jam")
    gui_sql.clear()

    form = IncidentForm(ctx, inc.id)  # open
    qtbot.addWidget(form)
    assert form.loaded and form.title_edit.text() == "Printer offline"
    form.title_edit.setText("Printer offline on floor 2")  # edit + save
    _combo_pick(form.urgency, 2)
    form.save()
    form.caller.setText("Karin")  # a picker's search
    form.caller.search()
    form.set_ci(desk["server"].id)  # a CI dropped from the CMDB
    form.service.set_value(desk["service"].id, "E-mail service")
    form.save()
    form.add_note("Checked the cable")  # the other actions
    form.attach(str(attachment))
    form.escalate_to_team(desk["network"].id, "Needs a technician")
    form.escalate_to_manager("Floor 2 cannot print")
    form.side.answer(0, "No")
    form.side.record_answers()
    form.side.select_suggestion(ke.ref)
    form.side.apply_button.click()
    form.link_child(other.ref)
    _combo_pick(form.next_status, "pending")  # a status move
    form.pending_reason.setText("Waiting for a part")
    form.move_status()
    form._countdown.timeout.emit()
    form.tabs.setCurrentWidget(form.history)
    form.history.refresh()
    form.can_close()
    assert gui_sql.statements == []
    assert not desk["errors"], desk["errors"]

    row = Incident.get_by_id(inc.id)
    assert (row.title, row.urgency, row.ci_id, row.service_id, row.status, row.known_error_id) == (
        "Printer offline on floor 2", 2, desk["server"].id, desk["service"].id, "pending", ke.id)
    assert row.major and Incident.get_by_id(other.id).parent_id == inc.id
    assert form.version == row.version and form.ci.text() == "mail-srv-01"
    assert form.side.attachments.count() == 1 and form.side.work_log.count() == 5
    assert form.history.entries
    incidents.incident_view(inc.id)  # what the guard is for: a direct call from the GUI thread
    assert gui_sql.statements


def test_read_model_and_save_statement_counts(demo_ctx, qtbot):
    """Opening a demo incident reads its read model in at most eight statements; a save of one
    field runs a handful."""
    import peewee

    from itsmdesk.models.incident import WorkLog as Log

    inc = (Incident.select().join(Log).where(Incident.ci.is_null(False))
           .group_by(Incident.id).order_by(peewee.fn.COUNT(Log.id).desc()).first())
    seen = []
    original = peewee.Database.execute_sql

    def counting(self, sql, params=None, *args, **kwargs):
        seen.append(sql)
        return original(self, sql, params, *args, **kwargs)

    peewee.Database.execute_sql = counting
    try:
        view = incidents.incident_view(inc.id)
        load = len(seen)
        seen.clear()
        incidents.save_incident(inc.id, view.version, {"title": view.title + " (checked)"})
        save = len(seen)
    finally:
        peewee.Database.execute_sql = original
    assert view.work_log and view.ci_name and view.choices.teams
    assert load <= 8, load
    assert save <= 4, save


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


@pytest.mark.parametrize("language", ["en", "sv"])
def test_incident_form_screenshot(demo_ctx, qtbot, tmp_path, settings, request, language):
    """A demo incident in the main window at 1400x900: everything filled in, nothing cut."""
    from itsmdesk.models.incident import WorkLog as Log
    from itsmdesk.views.main_window import MainWindow

    if language == "sv":
        request.getfixturevalue("swedish")
    inc = (Incident.select().join(Log).where(Incident.ci.is_null(False),
                                             Incident.status == "in_progress")
           .group_by(Incident.id).order_by(Incident.ref).first())
    w = MainWindow(demo_ctx, settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    form = w.open_record("incident", inc.id)
    qtbot.wait(50)
    assert form.loaded and form.title_edit.text() == inc.title
    assert form.side.work_log.count() >= 1 and form.ci.text()
    assert w.width() <= 1400
    path = tmp_path / f"incident_form_{language}.png"
    w.grab().save(str(path))
    assert path.stat().st_size > 20000
    # on its own, wide enough for the work log beside the details; and its History tab
    alone = IncidentForm(demo_ctx, inc.id)
    qtbot.addWidget(alone)
    alone.resize(1100, 800)
    alone.show()
    qtbot.waitExposed(alone)
    assert alone.splitter.orientation() == Qt.Orientation.Horizontal
    alone.grab().save(str(tmp_path / f"incident_form_wide_{language}.png"))
    alone.tabs.setCurrentWidget(alone.history)
    assert alone.history.tree.topLevelItemCount() > 0
    alone.grab().save(str(tmp_path / f"incident_form_history_{language}.png"))
