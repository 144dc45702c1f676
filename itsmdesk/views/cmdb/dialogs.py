"""CMDB dialogs: CSV import (preview = dry run, then import with progress), CSV export,
baselines (take, compare with now) and audit against a scan (accept applies it)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.i18n import template_text
from itsmdesk.services.cmdb import audit as cmdb_audit
from itsmdesk.services.cmdb import baselines
from itsmdesk.services.cmdb import csv_io as cmdb_csv
from itsmdesk.views.messages import show_error


def _show(value) -> str:  # noqa: ANN001
    return "—" if value is None or value == "" else str(value)


def _reason(error) -> str:  # noqa: ANN001 - an import RowError
    """A bad row's reason in the user's language (English when it has no template)."""
    if getattr(error, "template", ""):
        return template_text(error.template, error.params, fallback=error.reason)
    return error.reason


def _row_error_text(error) -> str:  # noqa: ANN001 - an import RowError
    return QCoreApplication.translate("cmdb", "line {line}, column {column}: {reason}").format(
        line=error.line, column=error.column or "-", reason=_reason(error))


def _fill_errors(table: QTableWidget, errors) -> None:  # noqa: ANN001
    table.setRowCount(len(errors))
    for row, e in enumerate(errors):
        for col, value in enumerate((str(e.line), e.column or "-", _reason(e))):
            table.setItem(row, col, QTableWidgetItem(value))
    for col in range(table.columnCount() - 1):  # the last one stretches to the table's width
        table.resizeColumnToContents(col)


class ImportDialog(QDialog):
    """Pick a CSV, preview (dry run: counts, what would change field by field, every bad row),
    then import with progress."""

    def __init__(self, ctx, kind: str = "cis", parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(self.tr("Import CIs or relations from CSV"))
        self.setObjectName("cmdbImportDialog")
        self.resize(820, 600)
        self.kind = QComboBox()
        self.kind.addItem(self.tr("CIs"), "cis")
        self.kind.addItem(self.tr("Relations"), "relations")
        self.kind.setCurrentIndex(0 if kind == "cis" else 1)
        self.path = QLineEdit()
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.skip = QComboBox()
        self.skip.addItem(self.tr("Import nothing if any row is bad"), False)
        self.skip.addItem(self.tr("Import the good rows, save the bad ones"), True)
        form = QFormLayout()
        form.addRow(self.tr("Kind"), self.kind)
        form.addRow(self.tr("File"), row)
        form.addRow(self.tr("Bad rows"), self.skip)
        self.summary = QLabel(self.tr("Choose a file, then Preview."))
        self.summary.setWordWrap(True)
        self.changes = QTreeWidget()
        self.changes.setObjectName("cmdbImportChanges")
        self.changes.setHeaderLabels([self.tr("Record / field"), self.tr("Now"),
                                      self.tr("After import")])
        self.changes.setColumnWidth(0, 320)
        self.changes.setColumnWidth(1, 200)
        self.changes.setUniformRowHeights(True)
        self.changes_label = QLabel(self.tr("What would change"))
        self.errors = QTableWidget(0, 3)
        self.errors.setHorizontalHeaderLabels([self.tr("Line"), self.tr("Column"), self.tr("Problem")])
        self.errors.horizontalHeader().setStretchLastSection(True)
        self.errors.verticalHeader().setVisible(False)
        self.errors_label = QLabel(self.tr("Bad rows"))
        split = QSplitter(Qt.Orientation.Vertical)
        for label, view in ((self.changes_label, self.changes), (self.errors_label, self.errors)):
            pane = QWidget()
            box = QVBoxLayout(pane)
            box.setContentsMargins(0, 0, 0, 0)
            box.addWidget(label)
            box.addWidget(view, 1)
            split.addWidget(pane)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.preview_button = buttons.addButton(self.tr("Preview"), QDialogButtonBox.ButtonRole.ActionRole)
        self.import_button = buttons.addButton(self.tr("Import"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(False)
        self.preview_button.clicked.connect(self.preview)
        self.import_button.clicked.connect(self.run_import)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self.last_report = None

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("CSV file"), "", "CSV (*.csv)")
        if path:
            self.path.setText(path)

    def preview(self) -> None:
        try:
            report = cmdb_csv.import_csv(self.kind.currentData(), self.path.text(), dry_run=True)
        except Exception as exc:  # noqa: BLE001 - shown to the person
            show_error(self, exc)
            return
        self.last_report = report
        text = (self.tr("Would create {c}, update {u}; {n} unchanged; {r} bad rows.")
                .format(c=report.created, u=report.updated, n=report.unchanged, r=report.rejected))
        if report.kind == "relations":
            text += " " + self.tr("Relations missing from the file are kept: the import never "
                                  "removes relations.")
        self.summary.setText(text)
        self.show_changes(report)
        _fill_errors(self.errors, report.errors)
        self.errors_label.setText(self.tr("Bad rows ({n})").format(n=report.rejected))
        self.import_button.setEnabled(report.created + report.updated > 0
                                      and (not report.errors or self.skip.currentData()))

    def show_changes(self, report) -> None:  # noqa: ANN001
        """The dry run's diff: one item per CI or relation, its field changes below."""
        self.changes.clear()
        relations = report.kind == "relations"
        for n, entry in enumerate(report.diff):
            if relations:
                title = (self.tr("New relation: {name}") if entry.action == "create"
                         else self.tr("Changed relation: {name}")).format(name=entry.name)
            else:
                title = (self.tr("New CI: {name} ({cls})") if entry.action == "create"
                         else self.tr("Changed CI: {name} ({cls})")).format(
                    name=entry.name, cls=entry.ci_class)
            top = QTreeWidgetItem(self.changes, [title])
            top.setToolTip(0, self.tr("Line {line} of the file").format(line=entry.line))
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for change in entry.changes:
                QTreeWidgetItem(top, [change.field, "" if entry.action == "create"
                                      else _show(change.old), _show(change.new)])
            top.setExpanded(n < 200)
        if report.diff_more:
            QTreeWidgetItem(self.changes, [self.tr("… and {n} more not listed")
                                           .format(n=report.diff_more)])
        if not report.diff:
            QTreeWidgetItem(self.changes, [self.tr("Nothing would change")])
        self.changes_label.setText(self.tr("What would change ({n})").format(
            n=len(report.diff) + report.diff_more))

    def run_import(self) -> None:
        rejects = None
        if self.skip.currentData() and self.last_report and self.last_report.errors:
            rejects, _ = QFileDialog.getSaveFileName(self, self.tr("Save the bad rows to"),
                                                     "rejects.csv", "CSV (*.csv)")
            if not rejects:
                return
        progress = QProgressDialog(self.tr("Importing…"), "", 0, 100, self)
        progress.setCancelButton(None)
        progress.setMinimumDuration(400)
        progress.setWindowModality(Qt.WindowModality.WindowModal)

        def tick(done: int, total: int | None = None, text: str = "") -> None:
            progress.setLabelText(text)
            progress.setValue(int(100 * done / total) if total else 0)
            QCoreApplication.processEvents()

        try:
            report = cmdb_csv.import_csv(self.kind.currentData(), self.path.text(),
                                         skip_invalid=rejects, progress=tick, actor=self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            progress.close()
            show_error(self, exc)
            return
        progress.close()
        self.last_report = report
        self.summary.setText(report.summary())
        self.changes.clear()
        self.changes_label.setText(self.tr("What would change"))
        _fill_errors(self.errors, report.errors)
        self.import_button.setEnabled(False)
        if report.applied:
            self.ctx.records_changed("ci", [])


def _export_texts(kind: str) -> tuple[str, str]:
    """The save dialog's title and the status line ("{n} ... written to {path}") for ``kind``
    ("cis" or "relations"), in the user's language."""
    if kind == "cis":
        return (QCoreApplication.translate("cmdb", "Export CIs as CSV"),
                QCoreApplication.translate("cmdb", "{n} CIs written to {path}"))
    return (QCoreApplication.translate("cmdb", "Export relations as CSV"),
            QCoreApplication.translate("cmdb", "{n} relations written to {path}"))


def export_with_dialog(ctx, kind: str, parent: QWidget | None = None) -> int | None:  # noqa: ANN001
    title, written = _export_texts(kind)
    path, _ = QFileDialog.getSaveFileName(parent, title, f"{kind}.csv", "CSV (*.csv)")
    if not path:
        return None
    progress = QProgressDialog(QCoreApplication.translate("cmdb", "Exporting…"), "", 0, 100, parent)
    progress.setCancelButton(None)
    progress.setMinimumDuration(400)

    def tick(done: int, total: int | None = None, text: str = "") -> None:
        progress.setValue(int(100 * done / total) if total else 0)
        QCoreApplication.processEvents()

    try:
        count = cmdb_csv.export_csv(kind, path, progress=tick)
    except Exception as exc:  # noqa: BLE001
        show_error(parent, exc)
        return None
    finally:
        progress.close()
    ctx.sig_status.emit(written.format(n=count, path=path))
    return count


class BaselineDialog(QDialog):
    """The baselines; take a new one; compare the selected one with now."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("cmdbBaselineDialog")
        self.setWindowTitle(self.tr("CMDB baselines"))
        self.resize(760, 520)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Taken (UTC)"),
                                              self.tr("CIs"), self.tr("Relations")])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("Name of a new baseline"))
        self.scope = QComboBox()
        self.scope.addItem(self.tr("All CIs"), None)
        take = QPushButton(self.tr("Take baseline"))
        compare = QPushButton(self.tr("Compare with now"))
        take.clicked.connect(self.take)
        compare.clicked.connect(self.compare)
        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(take)
        row.addWidget(compare)
        self.result = QTreeWidget()
        self.result.setHeaderLabels([self.tr("Difference"), self.tr("Then"), self.tr("Now")])
        self.result.setColumnWidth(0, 360)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.result, 2)
        layout.addWidget(buttons)
        self.reload()

    def reload(self) -> None:
        items = baselines.list_baselines()
        self.table.setRowCount(len(items))
        for r, b in enumerate(items):
            for c, value in enumerate((b.name, str(b.taken_at), str(b.cis), str(b.relations))):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        if items:
            self.table.selectRow(0)

    def take(self) -> None:
        try:
            baselines.take(self.name.text(), actor=self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.name.clear()
        self.reload()

    def compare(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        try:
            result = baselines.compare(self.table.item(row, 0).text())
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.show_comparison(result)

    def show_comparison(self, result: baselines.Comparison) -> None:
        self.result.clear()
        groups = [
            (self.tr("CIs added"), [(n, "", "") for n in result.added]),
            (self.tr("CIs removed"), [(n, "", "") for n in result.removed]),
            (self.tr("CIs changed"), [(f"{n}: {f}", _show(a), _show(b)) for n, f, a, b in result.changed]),
            (self.tr("Relations added"), [(k.replace("|", " "), "", "") for k in result.relations_added]),
            (self.tr("Relations removed"), [(k.replace("|", " "), "", "")
                                            for k in result.relations_removed]),
            (self.tr("Relations changed"), [(f"{k.replace('|', ' ')}: {f}", _show(a), _show(b))
                                            for k, f, a, b in result.relations_changed]),
        ]
        if result.is_same:
            QTreeWidgetItem(self.result, [self.tr("No differences")])
        for title, rows in groups:
            if not rows:
                continue
            top = QTreeWidgetItem(self.result, [f"{title} ({len(rows)})"])
            for values in rows[:2000]:
                QTreeWidgetItem(top, list(values))
            top.setExpanded(True)


class AuditDialog(QDialog):
    """Compare the CMDB with a scan; nothing changes until Accept."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("cmdbAuditDialog")
        self.setWindowTitle(self.tr("Audit the CMDB against a scan"))
        self.resize(760, 520)
        self.path = QLineEdit()
        browse = QPushButton(self.tr("Browse…"))
        run = QPushButton(self.tr("Audit"))
        browse.clicked.connect(self._browse)
        run.clicked.connect(self.run_audit)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(run)
        self.summary = QLabel(self.tr("Choose the scan (CSV: name, class, site, … as exported)."))
        self.result = QTreeWidget()
        self.result.setHeaderLabels([self.tr("CI"), self.tr("CMDB"), self.tr("Scan")])
        self.result.setColumnWidth(0, 320)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.accept_button = buttons.addButton(self.tr("Accept scan into the CMDB"),
                                               QDialogButtonBox.ButtonRole.ActionRole)
        self.accept_button.setEnabled(False)
        self.accept_button.clicked.connect(self.accept_scan)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.result, 1)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Scan file"), "", "CSV (*.csv)")
        if path:
            self.path.setText(path)

    def run_audit(self) -> None:
        try:
            result = cmdb_audit.audit(self.path.text())
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.result.clear()
        groups = [
            (self.tr("Unknown (scanned, not in the CMDB)"), [(n, "", "") for n in result.unknown]),
            (self.tr("Missing (in the CMDB, not found)"), [(n, "", "") for n in result.missing]),
            (self.tr("Different"), [(f"{n}: {f}", _show(a), _show(b)) for n, f, a, b in result.different]),
            (self.tr("Bad rows"), [(_row_error_text(e), "", "") for e in result.errors]),
        ]
        for title, rows in groups:
            top = QTreeWidgetItem(self.result, [f"{title} ({len(rows)})"])
            for values in rows[:2000]:
                QTreeWidgetItem(top, list(values))
            top.setExpanded(bool(rows))
        self.summary.setText(self.tr("{s} scanned: {m} match, {u} unknown, {x} missing, "
                                     "{d} differences").format(
            s=result.scanned, m=result.matching, u=len(result.unknown), x=len(result.missing),
            d=len(result.different)))
        self.accept_button.setEnabled(bool(result.unknown or result.different)
                                      and not result.errors)
        self.last = result

    def accept_scan(self) -> None:
        answer = QMessageBox.question(self, self.tr("Accept scan"), self.tr(
            "Create the unknown CIs and update the different ones from the scan?"))
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            report = cmdb_audit.accept(self.path.text(), actor=self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.summary.setText(report.summary())
        self.accept_button.setEnabled(False)
        self.ctx.records_changed("ci", [])
