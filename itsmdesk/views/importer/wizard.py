"""The import wizard: pick a file -> preview (detected delimiter and encoding) -> map columns or
load a mapping -> dry run -> import with progress and cancel.

All file and database work runs off the GUI thread: the preview and the dry run as reads
(``ctx.query``), the import as one write (``ctx.write``, whose Changes reach every panel).  Progress
crosses back to the GUI thread through a signal, and Cancel sets an event the import checks between
batches (the import's single transaction is rolled back, so a cancelled import leaves nothing
behind).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from itsmdesk.i18n import template_text
from itsmdesk.services.importing import csv_source as mapping_csv
from itsmdesk.services.importing.spec import (
    SourceSpec,
    load_mapping,
    shipped_mappings,
    spec_from_columns,
    to_toml,
)
from itsmdesk.services.importing.targets import target_fields
from itsmdesk.views.messages import error_text
from itsmdesk.views.numfmt import grouped

KINDS = ("incidents", "changes", "problems", "cis", "relations", "interactions")
DELIMITERS = [(",", ","), (";", ";"), ("\t", "Tab"), ("|", "|")]
ENCODINGS = ["utf-8", "cp1252", "latin-1", "utf-16"]
NO_COLUMN = ""


def row_error_text(error: Any) -> str:
    """An import's bad row ("line 3, column class: ...") in the user's language."""
    reason = (template_text(error.template, error.params, fallback=error.reason)
              if getattr(error, "template", "") else error.reason)
    return QCoreApplication.translate("ImportWizard", "line {line}, column {column}: {reason}").format(
        line=error.line, column=error.column or "-", reason=reason)


class _Bridge(QObject):
    """Carries progress from the worker thread to the GUI thread."""

    sig_progress = Signal(int, int, str)  # done, total (0 = unknown), text


class ImportState:
    """What the pages share: the file, its preview, the mapping being built."""

    def __init__(self) -> None:
        self.kind = "incidents"
        self.path: Path | None = None
        self.preview: mapping_csv.CsvData | None = None
        self.delimiter = "auto"
        self.encoding = "auto"
        self.loaded = None  # MappingSpec loaded from a file
        self.spec = None  # MappingSpec used for the dry run and the import
        self.dry_report = None
        self.report = None
        self.rejects: str | None = None  # import the valid rows, bad ones to this CSV


class FilePage(QWizardPage):
    def __init__(self, state: ImportState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle(self.tr("Choose the file"))
        self.setSubTitle(self.tr("A CSV export from another tool: tickets, an event log, CIs or "
                                 "relations."))
        self.kind = QComboBox()
        labels = {"incidents": self.tr("Incidents"), "changes": self.tr("Changes"),
                  "problems": self.tr("Problems"), "cis": self.tr("Configuration items"),
                  "relations": self.tr("CI relations"),
                  "interactions": self.tr("Service desk interactions")}
        for kind in KINDS:
            self.kind.addItem(labels[kind], kind)
        self.path = QLineEdit()
        self.path.setPlaceholderText(self.tr("Path of the CSV file"))
        self.path.textChanged.connect(self.completeChanged)
        browse = QPushButton(self.tr("&Browse…"))
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow(self.tr("&Import as:"), self.kind)
        file_label = QLabel(self.tr("&File:"))
        file_label.setBuddy(self.path)
        form.addRow(file_label, row)
        hint = QLabel(self.tr("Nothing is written until the last page; the dry run shows every "
                              "row that would be rejected, with its line, column and reason."))
        hint.setWordWrap(True)
        form.addRow(hint)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Import file"), self.path.text(),
                                              self.tr("CSV files (*.csv *.txt);;All files (*)"))
        if name:
            self.path.setText(name)

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return bool(self.path.text().strip()) and Path(self.path.text().strip()).is_file()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        self.state.kind = self.kind.currentData()
        self.state.path = Path(self.path.text().strip())
        return True


class PreviewPage(QWizardPage):
    def __init__(self, state: ImportState, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.state, self.ctx = state, ctx
        self.setTitle(self.tr("Preview"))
        self.setSubTitle(self.tr("Check that the columns split correctly; change the delimiter "
                                 "or encoding if they do not."))
        self.detected = QLabel()
        self.delimiter = QComboBox()
        self.delimiter.addItem(self.tr("Detect"), "auto")
        for value, label in DELIMITERS:
            self.delimiter.addItem(label, value)
        self.encoding = QComboBox()
        self.encoding.addItem(self.tr("Detect"), "auto")
        for enc in ENCODINGS:
            self.encoding.addItem(enc, enc)
        self.delimiter.activated.connect(self._reload)
        self.encoding.activated.connect(self._reload)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("&Delimiter:")))
        top.itemAt(0).widget().setBuddy(self.delimiter)
        top.addWidget(self.delimiter)
        top.addSpacing(12)
        top.addWidget(QLabel(self.tr("&Encoding:")))
        top.itemAt(3).widget().setBuddy(self.encoding)
        top.addWidget(self.encoding)
        top.addSpacing(12)
        top.addWidget(self.detected, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self._reload()

    def _reload(self) -> None:
        self.state.delimiter = self.delimiter.currentData()
        self.state.encoding = self.encoding.currentData()
        self.error.clear()
        self.ctx.query(mapping_csv.preview, self.state.path, 50, self.state.delimiter,
                       self.state.encoding, on_done=self._show, on_error=self._failed,
                       key="import-preview", owner=self)

    def _failed(self, exc: BaseException) -> None:
        self.state.preview = None
        self.table.clear()
        self.error.setText(error_text(exc))
        self.completeChanged.emit()

    def _show(self, data: mapping_csv.CsvData) -> None:
        self.state.preview = data
        name = dict(DELIMITERS).get(data.delimiter, data.delimiter)
        self.detected.setText(self.tr("Read as: delimiter “{d}”, encoding {e}, {n} columns "
                                      "(first {rows} rows shown)")
                              .format(d=name, e=data.encoding, n=len(data.header),
                                      rows=len(data.rows)))
        self.table.clear()
        self.table.setColumnCount(len(data.header))
        self.table.setHorizontalHeaderLabels(data.header)
        self.table.setRowCount(len(data.rows))
        for r, row in enumerate(data.rows):
            self.table.setVerticalHeaderItem(r, QTableWidgetItem(str(row.line)))
            for c, cell in enumerate(row.cells):
                self.table.setItem(r, c, QTableWidgetItem(cell))
        self.table.resizeColumnsToContents()
        for c in range(self.table.columnCount()):
            self.table.setColumnWidth(c, min(self.table.columnWidth(c), 220))
        if data.errors:
            first = data.errors[0]
            self.error.setText(self.tr("{n} rows in the preview do not split into the header's "
                                       "columns, e.g. {example}").format(n=len(data.errors),
                                                                         example=row_error_text(first)))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.state.preview is not None and len(self.state.preview.header) > 0


class MappingPage(QWizardPage):
    def __init__(self, state: ImportState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle(self.tr("Map the columns"))
        self.setSubTitle(self.tr("Load a ready mapping (value maps, date formats, event-log "
                                 "folding) or pick a source column for each field."))
        self.mappings = QComboBox()
        self.mappings.addItem(self.tr("(none: map by hand)"), "")
        for path in shipped_mappings():
            self.mappings.addItem(path.stem, str(path))
        self.mappings.activated.connect(self._pick_shipped)
        load = QPushButton(self.tr("&Load mapping…"))
        load.clicked.connect(self._load_file)
        save = QPushButton(self.tr("&Save mapping…"))
        save.clicked.connect(lambda: self.save_mapping())
        self.key = QComboBox()
        self.fold = QCheckBox(self.tr("&Event log: several rows per record, keep each as history"))
        self.at = QComboBox()
        self.who = QComboBox()
        self.fold.toggled.connect(self.at.setEnabled)
        self.fold.toggled.connect(self.who.setEnabled)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([self.tr("Field"), self.tr("Source column"),
                                              self.tr("Notes")])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Mapping:")))
        top.addWidget(self.mappings, 1)
        top.addWidget(load)
        top.addWidget(save)
        form = QFormLayout()
        form.addRow(self.tr("External &key column:"), self.key)
        form.addRow(self.fold)
        form.addRow(self.tr("Event &time column:"), self.at)
        form.addRow(self.tr("Event &author column:"), self.who)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        self.combos: dict[str, QComboBox] = {}

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        header = self.state.preview.header if self.state.preview else []
        for combo in (self.key, self.at, self.who):
            combo.clear()
            combo.addItem(self.tr("(none)"), NO_COLUMN)
            for name in header:
                combo.addItem(name, name)
        fields = sorted(target_fields(self.state.kind), key=lambda f: not f.required)
        self.table.setRowCount(len(fields))
        self.combos.clear()
        lowered = {h.casefold().replace(" ", "_"): h for h in header}
        for r, tf in enumerate(fields):
            label = tf.name + (" *" if tf.required else "")
            item = QTableWidgetItem(label)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 0, item)
            combo = QComboBox()
            combo.addItem("", NO_COLUMN)
            for name in header:
                combo.addItem(name, name)
            guess = lowered.get(tf.name)
            if guess:
                combo.setCurrentIndex(combo.findData(guess))
            self.table.setCellWidget(r, 1, combo)
            note = QTableWidgetItem(self._hint(tf))
            note.setForeground(self.palette().placeholderText())
            self.table.setItem(r, 2, note)
            self.combos[tf.name] = combo
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(1, 220)
        self.fold.setChecked(False)
        self.at.setEnabled(False)
        self.who.setEnabled(False)
        self._apply_loaded()

    def _hint(self, tf: Any) -> str:
        if tf.choices:
            return self.tr("one of: {values}").format(values=", ".join(str(c) for c in tf.choices))
        return {"lookup": self.tr("looked up by name or reference"),
                "datetime": self.tr("date and time (formats: load a mapping)"),
                "date": self.tr("date"), "int": self.tr("whole number"),
                "bool": self.tr("yes / no"), "float": self.tr("number")}.get(tf.type, "")

    def _pick_shipped(self) -> None:
        path = self.mappings.currentData()
        self._load(path) if path else self._forget()

    def _load_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Load mapping"), "",
                                              self.tr("Mappings (*.toml);;All files (*)"))
        if name:
            self._load(name)

    def _forget(self) -> None:
        self.state.loaded = None
        self.initializePage()

    def _load(self, path: str) -> None:
        try:
            self.state.loaded = load_mapping(path)
        except Exception as exc:  # noqa: BLE001 - shown to the person
            self.error.setText(error_text(exc))
            return
        self.error.clear()
        index = self.mappings.findData(str(Path(path)))
        if index < 0:
            self.mappings.addItem(Path(path).name, str(Path(path)))
            index = self.mappings.count() - 1
        self.mappings.setCurrentIndex(index)
        self._apply_loaded()

    def load_mapping(self, path: str | Path) -> None:
        """Load a mapping file (used by the Load button and by tests)."""
        self._load(str(path))

    def _apply_loaded(self) -> None:
        spec = self.state.loaded
        if spec is None:
            return
        if len(spec.key_columns) > 1 and self.key.findData(spec.key) < 0:
            self.key.addItem(spec.key, spec.key)  # a key of several columns: "A + B"
        self.key.setCurrentIndex(max(0, self.key.findData(spec.key or NO_COLUMN)))
        self.fold.setChecked(spec.events.fold)
        self.at.setCurrentIndex(max(0, self.at.findData(spec.events.at or NO_COLUMN)))
        self.who.setCurrentIndex(max(0, self.who.findData(spec.events.who or NO_COLUMN)))
        for r in range(self.table.rowCount()):
            name = self.table.item(r, 0).text().rstrip(" *")
            fspec = spec.fields.get(name)
            combo = self.combos[name]
            combo.setCurrentIndex(max(0, combo.findData(fspec.column if fspec and fspec.column
                                                        else NO_COLUMN)))
            if fspec:
                self.table.item(r, 2).setText(_describe(fspec))

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        try:
            self.state.spec = self.build_spec()
        except Exception as exc:  # noqa: BLE001 - shown to the person
            self.error.setText(error_text(exc))
            return False
        self.error.clear()
        return True

    def save_mapping(self, path: str | Path | None = None) -> bool:
        """Write the mapping as built on this page to a TOML file (for the command line)."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Save mapping"), "mapping.toml",
                                                  self.tr("Mappings (*.toml)"))
            if not path:
                return False
        try:
            Path(path).write_text(to_toml(self.build_spec()), encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - shown to the person
            self.error.setText(error_text(exc))
            return False
        self.error.clear()
        return True

    def build_spec(self):  # noqa: ANN201 - a MappingSpec
        columns = {name: combo.currentData() for name, combo in self.combos.items()}
        loaded = self.state.loaded
        if loaded is not None:
            # fields the mapping fills without a plain column (templates, constants) stay
            columns = {n: c for n, c in columns.items()
                       if c or not (loaded.fields.get(n) and not loaded.fields[n].column)}
        source = loaded.source if loaded else SourceSpec()
        if loaded is None:
            source = SourceSpec(delimiter=self.state.delimiter, encoding=self.state.encoding)
        return spec_from_columns(
            self.state.kind, columns, key=self.key.currentData() or None, source=source,
            fold=self.fold.isChecked(), at=self.at.currentData() or None,
            who=self.who.currentData() or None, base=loaded)


def _describe(fspec: Any) -> str:
    parts = []
    if fspec.template:
        parts.append(f"template {fspec.template}")
    if fspec.value is not None:
        parts.append(f"always {fspec.value}")
    if fspec.map:
        parts.append(f"value map ({len(fspec.map)} values)")
    if fspec.create_missing:
        parts.append("creates missing")
    if fspec.class_column:
        parts.append(f"class from {fspec.class_column}")
    return "; ".join(parts)


def _run(kind: str, path: Path, spec: Any, dry_run: bool, bridge: _Bridge | None,
         cancel: threading.Event | None, skip_invalid: str | None = None,
         actor: Any = None) -> Any:
    """The operation's body: the import itself (no Qt here except the progress signal)."""
    from itsmdesk.services.context import SYSTEM
    from itsmdesk.services.importing.mapped import run_with_spec

    progress = None
    if bridge is not None:
        def progress(done: int, total: int | None = None, text: str = "") -> None:
            bridge.sig_progress.emit(done, total or 0, text)
    return run_with_spec(kind, path, spec, dry_run=dry_run, skip_invalid=skip_invalid,
                         progress=progress, cancel=cancel.is_set if cancel is not None else None,
                         actor=actor or SYSTEM)


class RunPage(QWizardPage):
    """Runs the import (``dry_run`` True: the dry-run page, a read) off the GUI thread, with
    progress and cancel."""

    def __init__(self, state: ImportState, ctx, dry_run: bool,  # noqa: ANN001
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.ctx, self.dry_run = state, ctx, dry_run
        self.setTitle(self.tr("Dry run") if dry_run else self.tr("Import"))
        self.setSubTitle(self.tr("Reads and checks everything; writes nothing.") if dry_run
                         else self.tr("Writes in one transaction: all rows or, if cancelled, "
                                      "none."))
        self.bridge = _Bridge()
        self.bridge.sig_progress.connect(self._progress)
        self.cancel_event = threading.Event()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.cancel = QPushButton(self.tr("&Cancel import"))
        self.cancel.clicked.connect(self._cancel)
        self.errors = QListWidget()
        self.counts = QLabel()
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.done = False
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.counts)
        self.errors_label = QLabel(self.tr("Rows that would be rejected (line, column, reason):")
                                   if dry_run else self.tr("Rejected rows:"))
        layout.addWidget(self.errors_label)
        layout.addWidget(self.errors, 1)
        self.skip = QCheckBox(self.tr("Import the valid rows and save the rejected ones to:"))
        self.rejects = QLineEdit()
        self.rejects.setPlaceholderText(self.tr("rejected rows (.csv)"))
        browse = QPushButton(self.tr("B&rowse…"))
        browse.clicked.connect(self._pick_rejects)
        self.skip.toggled.connect(self.completeChanged)
        self.rejects.textChanged.connect(self.completeChanged)
        self.skip_row = QWidget()
        skip_layout = QHBoxLayout(self.skip_row)
        skip_layout.setContentsMargins(0, 0, 0, 0)
        skip_layout.addWidget(self.skip)
        skip_layout.addWidget(self.rejects, 1)
        skip_layout.addWidget(browse)
        layout.addWidget(self.skip_row)
        self.skip_row.setVisible(False)
        layout.addStretch(0)
        if not dry_run:
            self.setFinalPage(True)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.done = False
        self.cancel_event.clear()
        self.errors.clear()
        self.counts.clear()
        self.errors_label.hide()
        self.errors.hide()
        self.skip_row.hide()
        if self.dry_run:
            self.state.rejects = None

        self.bar.setRange(0, 0)
        self.cancel.setEnabled(True)
        self.status.setText(self.tr("Working…"))
        args = (_run, self.state.kind, self.state.path, self.state.spec, self.dry_run,
                self.bridge, self.cancel_event, None if self.dry_run else self.state.rejects)
        if self.dry_run:  # reads and checks; writes nothing
            self.ctx.query(*args, on_done=self._finished, on_error=self._failed, owner=self)
        else:  # one write: its Changes reach every panel once it committed
            self.ctx.write(*args, self.ctx.actor, on_done=self._finished, on_error=self._failed,
                           owner=self, label=self.tr("Import"))

    def _pick_rejects(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Save rejected rows"),
                                              self.rejects.text(), self.tr("CSV files (*.csv)"))
        if name:
            self.rejects.setText(name)

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        if self.dry_run:
            report = self.state.dry_report
            wants_skip = report is not None and report.errors and self.skip.isChecked()
            self.state.rejects = self.rejects.text().strip() if wants_skip else None
        return True

    def _progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
        phases = {"reading": self.tr("Reading the file…"),
                  "checking rows": self.tr("Checking rows…"),
                  "writing": self.tr("Writing…"),
                  "writing records": self.tr("Writing records…"),
                  "updating records": self.tr("Updating records…"),
                  "writing history": self.tr("Writing history…")}
        if not self.cancel_event.is_set():
            self.status.setText(phases.get(text, text))

    def _cancel(self) -> None:
        self.cancel_event.set()
        self.cancel.setEnabled(False)
        self.status.setText(self.tr("Cancelling…"))

    def _failed(self, exc: BaseException) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.cancel.setEnabled(False)
        self.status.setText(error_text(exc))
        self.done = not self.dry_run
        self.completeChanged.emit()

    def _finished(self, report: Any) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.cancel.setEnabled(False)
        if self.dry_run:
            self.state.dry_report = report
        else:
            self.state.report = report
        self.status.setText(self._headline(report))
        self.counts.setText(self._table(report))
        self.errors_label.setVisible(bool(report.errors))
        self.errors.setVisible(bool(report.errors))
        if self.dry_run and report.errors:
            self.skip_row.show()
            if not self.rejects.text() and self.state.path is not None:
                self.rejects.setText(str(self.state.path.with_name(
                    self.state.path.stem + "-rejected.csv")))
        if report.rejects_file:
            self.counts.setText(self.counts.text() + "<p>" + self.tr(
                "Rejected rows were saved to {path}").format(path=report.rejects_file) + "</p>")
        for error in report.errors[:1000]:
            text = row_error_text(error)
            self.errors.addItem(text)
            self.errors.item(self.errors.count() - 1).setToolTip(text)
        if len(report.errors) > 1000:
            self.errors.addItem(self.tr("… and {n} more").format(n=len(report.errors) - 1000))
        self.done = True
        self.completeChanged.emit()

    def _headline(self, report: Any) -> str:
        if report.errors and not report.applied and not report.dry_run:
            return self.tr("Nothing was imported: {n} rows are invalid.").format(n=report.rejected)
        if report.dry_run and report.errors:
            return self.tr("{n} rows are invalid: fix the file or the mapping and go back, or "
                           "import only the valid rows (below).").format(n=report.rejected)
        if report.dry_run:
            return self.tr("Every row is valid. Import writes the following:")
        return self.tr("Imported.")

    def _table(self, report: Any) -> str:
        rows = [(self.tr("Rows read"), report.rows_read),
                (self.tr("Records to create") if report.dry_run else self.tr("Records created"),
                 report.created),
                (self.tr("Records to update") if report.dry_run else self.tr("Records updated"),
                 report.updated),
                (self.tr("Unchanged"), report.unchanged),
                (self.tr("Rejected rows"), report.rejected)]
        extra_labels = {"people_created": self.tr("New people"),
                        "teams_created": self.tr("New teams"),
                        "categories_created": self.tr("New categories"),
                        "cis_created": self.tr("New CIs"),
                        "ci_classes_created": self.tr("New CI classes"),
                        "sites_created": self.tr("New sites"),
                        "problems_created": self.tr("New linked problems"),
                        "changes_created": self.tr("New linked changes"),
                        "incidents_created": self.tr("New linked incidents"),
                        "affected_cis_added": self.tr("Affected CIs linked"),
                        "skipped": self.tr("Rows left out ([[skip]])"),
                        "warnings": self.tr("Warnings"),
                        "journal_rows": self.tr("History entries")}
        rows += [(extra_labels.get(k, k), v) for k, v in report.extra.items()]
        cells = "".join(f"<tr><td>{label}</td><td align='right'>&nbsp;&nbsp;{grouped(value)}</td></tr>"
                        for label, value in rows)
        return f"<table>{cells}</table>"

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        if not self.done:
            return False
        if self.dry_run:
            report = self.state.dry_report
            if report is None:
                return False
            return not report.errors or (self.skip.isChecked() and bool(self.rejects.text().strip()))
        return True


class ImportWizard(QWizard):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setObjectName("importWizard")
        self.setWindowTitle(self.tr("Import from another tool"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.state = ImportState()
        self.file_page = FilePage(self.state)
        self.preview_page = PreviewPage(self.state, ctx)
        self.mapping_page = MappingPage(self.state)
        self.dry_page = RunPage(self.state, ctx, dry_run=True)
        self.import_page = RunPage(self.state, ctx, dry_run=False)
        for page in (self.file_page, self.preview_page, self.mapping_page, self.dry_page,
                     self.import_page):
            self.addPage(page)
        self.dry_page.setCommitPage(True)  # no way back once the import has run
        self.dry_page.setButtonText(QWizard.WizardButton.CommitButton, self.tr("&Import"))
        self.resize(900, 600)

    def reject(self) -> None:
        """Closing the wizard cancels a dry run or import still running (nothing is written)."""
        for page in (self.dry_page, self.import_page):
            if not page.done:
                page.cancel_event.set()
        super().reject()
