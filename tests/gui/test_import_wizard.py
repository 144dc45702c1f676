"""The import wizard: file -> preview -> mapping -> dry run -> import (operations run inline in
tests).  No page runs SQL on the GUI thread outside an operation (``gui_sql``); the import is one
write whose Changes are broadcast."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWizard

from itsmdesk.models.incident import Incident
from itsmdesk.views.importer.actions import menu_actions
from itsmdesk.views.importer.wizard import ImportWizard

ROOT = Path(__file__).resolve().parents[2]
UCI = ROOT / "tests" / "fixtures" / "import" / "uci_eventlog_sample.csv"
EVENTLOG_MAP = ROOT / "resources" / "import-maps" / "servicenow-eventlog.toml"


def start(ctx, qtbot, path: Path, kind: str = "incidents") -> ImportWizard:  # noqa: ANN001
    wizard = ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.file_page.kind.setCurrentIndex(wizard.file_page.kind.findData(kind))
    wizard.file_page.path.setText(str(path))
    assert wizard.file_page.isComplete()
    wizard.next()
    return wizard


def test_menu_action_has_a_shortcut(ctx, qtbot):  # noqa: ANN001
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    [(menu, action)] = menu_actions(ctx, window)
    assert menu == "File" and action.text().replace("&", "").startswith("Import")
    assert action.shortcut().toString() == "Ctrl+I"


def test_event_log_through_every_page(ctx, qtbot, gui_sql):  # noqa: ANN001
    changed = []
    ctx.sig_changes.connect(changed.append)
    gui_sql.clear()
    wizard = start(ctx, qtbot, UCI)
    preview = wizard.preview_page
    assert "delimiter “,”" in preview.detected.text() and "utf-8" in preview.detected.text()
    assert preview.table.columnCount() == 36 and preview.table.rowCount() == 50
    assert preview.table.item(0, 0).text() == "INC0000045"
    wizard.next()
    wizard.mapping_page.load_mapping(EVENTLOG_MAP)
    assert wizard.mapping_page.fold.isChecked()
    assert wizard.mapping_page.at.currentData() == "sys_updated_at"
    assert wizard.mapping_page.combos["caller"].currentData() == "caller_id"
    wizard.next()
    assert wizard.currentPage() is wizard.dry_page
    dry = wizard.state.dry_report
    assert dry.dry_run and dry.created == 41 and not dry.errors
    assert "41" in wizard.dry_page.counts.text()
    assert wizard.dry_page.isComplete()
    assert not changed  # the dry run wrote nothing
    wizard.next()
    assert gui_sql.statements == []
    assert wizard.state.report.applied and Incident.select().count() == 41
    assert len(changed) == 1 and changed[0].touches("incident")
    assert not wizard.button(QWizard.WizardButton.BackButton).isEnabled()


def test_hand_mapping_with_semicolons_and_cp1252(ctx, qtbot, tmp_path):  # noqa: ANN001
    path = tmp_path / "tickets.csv"
    path.write_bytes("Ticket;Title;Status\nT-1;Skrivare på plan 3;new\nT-2;VPN;oops\n"
                     .encode("cp1252"))
    wizard = start(ctx, qtbot, path)
    assert "“;”" in wizard.preview_page.detected.text()
    assert "cp1252" in wizard.preview_page.detected.text()
    wizard.next()
    page = wizard.mapping_page
    assert page.combos["title"].currentData() == "Title"  # guessed from the header
    page.key.setCurrentIndex(page.key.findData("Ticket"))
    page.combos["status"].setCurrentIndex(page.combos["status"].findData("Status"))
    wizard.next()
    report = wizard.state.dry_report
    assert [(e.line, e.column) for e in report.errors] == [(3, "Status")]
    assert wizard.dry_page.errors.count() == 1 and not wizard.dry_page.isComplete()
    wizard.back()
    page.combos["status"].setCurrentIndex(0)  # leave status to its default
    saved = tmp_path / "mine.toml"
    assert page.save_mapping(saved)
    from itsmdesk.services.importing.spec import load_mapping

    again = load_mapping(saved)
    assert again.key == "Ticket" and again.fields["title"].column == "Title"
    assert again.source.delimiter == "auto" and "status" not in again.fields
    wizard.next()
    assert not wizard.state.dry_report.errors
    wizard.next()
    titles = sorted(i.title for i in Incident.select())
    assert titles == ["Skrivare på plan 3", "VPN"]


def test_cancel_leaves_nothing(ctx, qtbot, gui_sql):  # noqa: ANN001
    changed = []
    ctx.sig_changes.connect(changed.append)
    gui_sql.clear()
    wizard = start(ctx, qtbot, UCI)
    wizard.next()
    wizard.mapping_page.load_mapping(EVENTLOG_MAP)
    wizard.next()
    page = wizard.import_page
    # press Cancel as soon as the import reports progress (the worker is synchronous in tests)
    page.bridge.sig_progress.connect(lambda *_: page.cancel.isEnabled() and page.cancel.click())
    wizard.next()
    assert gui_sql.statements == []
    assert "cancelled" in page.status.text().lower()
    assert not changed
    assert Incident.select().count() == 0


def test_skip_invalid_rows_from_the_dry_run(ctx, qtbot, tmp_path):  # noqa: ANN001
    path = tmp_path / "tickets.csv"
    path.write_text("Ticket,Title,Status\nT-1,Printer,new\nT-2,VPN,oops\n", encoding="utf-8")
    wizard = start(ctx, qtbot, path)
    wizard.next()
    page = wizard.mapping_page
    page.key.setCurrentIndex(page.key.findData("Ticket"))
    page.combos["status"].setCurrentIndex(page.combos["status"].findData("Status"))
    wizard.next()
    dry = wizard.dry_page
    assert not dry.isComplete() and dry.skip_row.isVisibleTo(wizard)
    assert dry.rejects.text().endswith("tickets-rejected.csv")
    dry.skip.setChecked(True)
    assert dry.isComplete()
    wizard.next()
    assert [i.external_key for i in Incident.select()] == ["T-1"]
    rejected = (tmp_path / "tickets-rejected.csv").read_text(encoding="utf-8")
    assert "T-2" in rejected and "oops" in rejected
    assert "tickets-rejected.csv" in wizard.import_page.counts.text()


def test_hpsm_changes_with_affected_cis_through_the_wizard(ctx, qtbot, tmp_path):  # noqa: ANN001
    """A ready mapping with [[skip]], when rules and the affected CIs goes through the wizard
    unchanged: its dry run and import are the CLI's; a key of several columns is kept."""
    from itsmdesk.models.change import Change, ChangeCI

    hpsm = ROOT / "tests" / "fixtures" / "hpsm"
    wizard = start(ctx, qtbot, hpsm / "changes.csv", "changes")
    wizard.next()
    wizard.mapping_page.load_mapping(ROOT / "resources" / "import-maps" / "hpsm-changes.toml")
    spec = wizard.mapping_page.build_spec()
    assert spec.skip and spec.fields["affected_cis"].column == "CI Name (aff)"
    wizard.next()
    assert wizard.currentPage() is wizard.dry_page, wizard.mapping_page.error.text()
    dry = wizard.state.dry_report
    assert dry.created == 3 and not dry.errors and dry.extra["affected_cis_added"] == 6
    assert dry.extra["skipped"] == 1
    wizard.next()
    assert wizard.state.report.applied and Change.select().count() == 3
    assert ChangeCI.select().count() == 6
    # a key of several columns survives loading into the wizard
    cis_map = tmp_path / "cis.toml"
    cis_map.write_text('kind = "cis"\nkey = ["CI Type", "CI Name"]\n[source]\ndelimiter = ";"\n'
                       '[[skip]]\nvalues = ["#N/B"]\n[fields]\nname = { template = "{CI Name} '
                       '({CI Type})" }\nci_class = { value = "server" }\n', encoding="utf-8")
    other = start(ctx, qtbot, hpsm / "cis.csv", "cis")
    other.next()
    other.mapping_page.load_mapping(cis_map)
    spec = other.mapping_page.build_spec()
    assert spec.key_columns == ["CI Type", "CI Name"] and len(spec.skip) == 1
