"""CMDB dialogs: CSV import (preview = dry run, then import with progress), CSV export,
baselines (take, compare with now) and audit against a scan (accept applies it).

Every database call runs as an operation (``ctx.query`` for reads, ``ctx.write`` for writes, whose
Changes reach every panel); progress crosses back to the GUI thread through a signal.  While one
runs, the button that started it is disabled.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
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


class _Progress(QObject):
    """Carries an import's or export's progress from the operation's thread to the GUI thread
    (a direct call when the operation runs inline)."""

    sig_progress = Signal(int, int, str)  # done, total (0 = unknown), text

    def tick(self, done: int, total: int | None = None, text: str = "") -> None:
        self.sig_progress.emit(done, total or 0, text)


def _progress_dialog(text: str, parent: QWidget | None) -> tuple[QProgressDialog, _Progress]:
    dialog = QProgressDialog(text, "", 0, 100, parent)
    dialog.setCancelButton(None)
    dialog.setMinimumDuration(400)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    bridge = _Progress(dialog)

    def show(done: int, total: int, label: str) -> None:
        if label:
            dialog.setLabelText(label)
        dialog.setValue(int(100 * done / total) if total else 0)

    bridge.sig_progress.connect(show)
    return dialog, bridge


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
        """The dry run, read off the GUI thread: nothing is written."""
        kind, path = self.kind.currentData(), self.path.text()
        self.preview_button.setEnabled(False)
        self.import_button.setEnabled(False)

        def failed(exc: BaseException) -> None:
            self.preview_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.query(lambda: cmdb_csv.import_csv(kind, path, dry_run=True),
                       on_done=self._show_preview, on_error=failed,
                       key=f"cmdb-import-preview-{id(self)}", owner=self)

    def _show_preview(self, report) -> None:  # noqa: ANN001 - an ImportReport
        self.preview_button.setEnabled(True)
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
        """The import, one write with progress; its Changes reach the CMDB panels."""
        rejects = None
        if self.skip.currentData() and self.last_report and self.last_report.errors:
            rejects, _ = QFileDialog.getSaveFileName(self, self.tr("Save the bad rows to"),
                                                     "rejects.csv", "CSV (*.csv)")
            if not rejects:
                return
        progress, bridge = _progress_dialog(self.tr("Importing…"), self)
        kind, path, actor = self.kind.currentData(), self.path.text(), self.ctx.actor
        self.import_button.setEnabled(False)
        self.preview_button.setEnabled(False)

        def done(report) -> None:  # noqa: ANN001 - an ImportReport
            progress.close()
            self.preview_button.setEnabled(True)
            self.last_report = report
            self.summary.setText(report.summary())
            self.changes.clear()
            self.changes_label.setText(self.tr("What would change"))
            _fill_errors(self.errors, report.errors)

        def failed(exc: BaseException) -> None:
            progress.close()
            self.preview_button.setEnabled(True)
            self.import_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.write(lambda: cmdb_csv.import_csv(kind, path, skip_invalid=rejects,
                                                   progress=bridge.tick, actor=actor),
                       on_done=done, on_error=failed, owner=self)


def _export_texts(kind: str) -> tuple[str, str]:
    """The save dialog's title and the status line ("{n} ... written to {path}") for ``kind``
    ("cis" or "relations"), in the user's language."""
    if kind == "cis":
        return (QCoreApplication.translate("cmdb", "Export CIs as CSV"),
                QCoreApplication.translate("cmdb", "{n} CIs written to {path}"))
    return (QCoreApplication.translate("cmdb", "Export relations as CSV"),
            QCoreApplication.translate("cmdb", "{n} relations written to {path}"))


def export_with_dialog(ctx, kind: str, parent: QWidget | None = None,  # noqa: ANN001
                       path: str | None = None) -> int | None:
    """Write every CI or relation to a CSV file (asked for unless ``path`` is given), read off
    the GUI thread with progress.  Returns the count when the read has already finished
    (operations run inline in tests), else None; the status bar says it either way."""
    title, written = _export_texts(kind)
    if not path:
        path, _ = QFileDialog.getSaveFileName(parent, title, f"{kind}.csv", "CSV (*.csv)")
        if not path:
            return None
    progress, bridge = _progress_dialog(QCoreApplication.translate("cmdb", "Exporting…"), parent)
    result: dict[str, int] = {}

    def done(count: int) -> None:
        progress.close()
        result["count"] = count
        ctx.sig_status.emit(written.format(n=count, path=path))

    def failed(exc: BaseException) -> None:
        progress.close()
        show_error(parent, exc)

    ctx.query(lambda: cmdb_csv.export_csv(kind, path, progress=bridge.tick), on_done=done,
              on_error=failed, owner=progress)
    return result.get("count")


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
        self.take_button = QPushButton(self.tr("Take baseline"))
        self.compare_button = QPushButton(self.tr("Compare with now"))
        self.take_button.clicked.connect(self.take)
        self.compare_button.clicked.connect(self.compare)
        self.compare_button.setEnabled(False)  # until the baselines are listed
        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(self.take_button)
        row.addWidget(self.compare_button)
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
        """List the baselines (read off the GUI thread)."""
        self.ctx.query(baselines.list_baselines, on_done=self._show_baselines,
                       key=f"cmdb-baselines-{id(self)}", owner=self)

    def _show_baselines(self, items: list) -> None:
        self.table.setRowCount(len(items))
        for r, b in enumerate(items):
            for c, value in enumerate((b.name, str(b.taken_at), str(b.cis), str(b.relations))):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        if items:
            self.table.selectRow(0)
        self.compare_button.setEnabled(bool(items))

    def take(self) -> None:
        """Take a baseline (one write); the list is read again once it is taken."""
        name, actor = self.name.text(), self.ctx.actor
        self.take_button.setEnabled(False)

        def done(_baseline) -> None:  # noqa: ANN001
            self.take_button.setEnabled(True)
            self.name.clear()
            self.reload()

        def failed(exc: BaseException) -> None:
            self.take_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.write(lambda: baselines.take(name, actor=actor), on_done=done, on_error=failed,
                       owner=self)

    def compare(self) -> None:
        """Compare the selected baseline with now (read off the GUI thread)."""
        row = self.table.currentRow()
        if row < 0:
            return
        self.compare_button.setEnabled(False)

        def done(result: baselines.Comparison) -> None:
            self.compare_button.setEnabled(True)
            self.show_comparison(result)

        def failed(exc: BaseException) -> None:
            self.compare_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.query(baselines.compare, self.table.item(row, 0).text(), on_done=done,
                       on_error=failed, key=f"cmdb-baseline-compare-{id(self)}", owner=self)

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
        self.run_button = QPushButton(self.tr("Audit"))
        browse.clicked.connect(self._browse)
        self.run_button.clicked.connect(self.run_audit)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(self.run_button)
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
        """Compare the CMDB with the scan (a read off the GUI thread; nothing changes)."""
        self.run_button.setEnabled(False)
        self.accept_button.setEnabled(False)

        def failed(exc: BaseException) -> None:
            self.run_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.query(cmdb_audit.audit, self.path.text(), on_done=self._show_audit,
                       on_error=failed, key=f"cmdb-audit-{id(self)}", owner=self)

    def _show_audit(self, result) -> None:  # noqa: ANN001 - an audit result
        self.run_button.setEnabled(True)
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
        path, actor = self.path.text(), self.ctx.actor
        progress, bridge = _progress_dialog(self.tr("Importing…"), self)
        self.accept_button.setEnabled(False)
        self.run_button.setEnabled(False)

        def done(report) -> None:  # noqa: ANN001 - an ImportReport
            progress.close()
            self.run_button.setEnabled(True)
            self.summary.setText(report.summary())

        def failed(exc: BaseException) -> None:
            progress.close()
            self.run_button.setEnabled(True)
            self.accept_button.setEnabled(True)
            show_error(self, exc)

        # one write: its Changes (the CIs created and updated) reach every panel
        self.ctx.write(lambda: cmdb_audit.accept(path, actor=actor, progress=bridge.tick),
                       on_done=done, on_error=failed, owner=self)
