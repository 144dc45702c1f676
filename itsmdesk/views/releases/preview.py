"""Release plan: print preview (QPrinter) and "Save PDF…" (the reportlab report).

The preview lays the release plan out as a QTextDocument (summary, changes, services, plan,
Gantt chart as an image, waves, DML, backout, sign-off) so it prints on any printer; the saved
PDF is :mod:`itsmdesk.reports.release_plan`, the same document the CLI writes.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QFileDialog, QToolBar, QWidget

from itsmdesk.models.base import utcnow
from itsmdesk.services import releases
from itsmdesk.views.messages import show_error
from itsmdesk.views.releases.gantt import GanttView


def _t(text: str) -> str:
    return QCoreApplication.translate("ReleasePlanPreview", text)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th align='left' bgcolor='#e5e7eb'>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f"<table width='100%' cellspacing='0' cellpadding='3' border='0'>"
            f"<tr>{head}</tr>{body}</table>")


def plan_document(detail, parent: QWidget | None = None) -> QTextDocument:  # noqa: ANN001
    """The release plan as a printable QTextDocument."""
    r = detail.release
    e = lambda v: escape(str(v if v is not None else "—")).replace("_", " ")  # noqa: E731
    doc = QTextDocument(parent)
    gantt = GanttView()
    gantt.set_rows(detail.plan, utcnow())
    doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("gantt://plan"),
                    gantt.render_image(2.0))
    gantt_width = gantt.scene().sceneRect().width()
    gantt.deleteLater()
    roll = detail.rollup
    approval = (_t("all bundled changes approved") if roll.all_approved else
                _t("no changes bundled") if not roll.changes else
                _t("{n} of {m} changes NOT approved: deployment is blocked").format(
                    n=len(roll.unapproved), m=len(roll.changes)))
    parts = [
        f"<h1>{e(r.ref)} · {e(r.name)}</h1>",
        _table([_t("Field"), _t("Value")], [
            [_t("Version"), e(r.release_version)], [_t("Type"), e(r.type)],
            [_t("Status"), e(r.status)], [_t("Risk"), f"<b>{e(detail.risk.level).upper()}</b>"],
            [_t("Planned window"), f"{_when(r.planned_start)} – {_when(r.planned_end)} UTC"],
            [_t("Release manager"), e(detail.manager)], [_t("Release team"), e(detail.team)],
            [_t("Change approval"), f"<b>{escape(approval)}</b>"]]),
    ]
    if r.description:
        parts.append(f"<p>{e(r.description)}</p>")
    parts.append(f"<h2>{_t('Risk assessment')}</h2>")
    parts.append(_table([_t("Factor"), _t("Level"), _t("Why")],
                        [[e(f.factor), e(f.level), e(f.why)] for f in detail.risk.factors]))
    parts.append(f"<h2>{_t('Included changes')}</h2>")
    parts.append(_table([_t("Change"), _t("Title"), _t("Status"), _t("Approved"), _t("Risk")], [
        [e(c.ref), e(c.title), e(c.status), _t("yes") if c.approved else f"<b>{_t('NO')}</b>",
         e(c.risk)] for c in roll.changes]))
    parts.append(f"<h2>{_t('Affected services')}</h2>")
    parts.append("<p>" + (e(", ".join(s.name for s in detail.services)) if detail.services
                          else _t("None")) + "</p>")
    parts.append(f"<h2>{_t('Release plan')}</h2>")
    parts.append(_table([_t("Step"), _t("Kind"), _t("Owner"), _t("Site"), _t("Planned"),
                         _t("Actual"), _t("Status"), _t("After")], [
        [("&nbsp;" * 4 * s.level) + (f"<b>{e(s.name)}</b>" if s.kind == "phase" else e(s.name)),
         e(s.kind), e(s.owner or None), e(s.site),
         f"{_when(s.planned_start)}<br>{_when(s.planned_end)}",
         f"{_when(s.actual_start)}<br>{_when(s.actual_end)}", e(s.status),
         e(", ".join(s.depends_on_names) or None)] for s in detail.plan]))
    parts.append(f"<h2>{_t('Gantt chart')}</h2>")
    parts.append(f"<img src='gantt://plan' width='{min(int(gantt_width), 680)}'>")
    parts.append(f"<h2>{_t('Definitive media library')}</h2>")
    parts.append(_table([_t("Item"), _t("Version"), _t("Checksum"), _t("Master CI")], [
        [e(i.name), e(i.version), f"<tt>{e(i.checksum)}</tt>", e(i.ci_name)]
        for i in detail.items]))
    parts.append(f"<h2>{_t('Backout plan')}</h2><p>{e(r.backout_plan)}</p>")
    parts.append(f"<h2>{_t('Sign-off')}</h2>")
    signers = [_t("Release manager"), _t("Change manager"), _t("CAB chair")]
    parts.append(_table([_t("Role"), _t("Name"), _t("Signature"), _t("Date")],
                        [[escape(s), e(detail.manager) if i == 0 else "", "<br><br>", ""]
                         for i, s in enumerate(signers)]))
    doc.setHtml("<html><body style='font-family: sans-serif; font-size: 9pt'>"
                + "".join(parts) + "</body></html>")
    return doc


def save_pdf(parent: QWidget | None, ref: str) -> str | None:
    """Ask for a file name and write the reportlab release plan PDF there."""
    path, _filter = QFileDialog.getSaveFileName(parent, _t("Save release plan PDF"),
                                                f"{ref}-release-plan.pdf", _t("PDF (*.pdf)"))
    if not path:
        return None
    from itsmdesk.reports import release_plan

    try:
        release_plan.build(ref, path)
    except Exception as exc:  # noqa: BLE001 - shown to the person
        show_error(parent, exc)
        return None
    return path


def preview_dialog(parent: QWidget | None, ref: str) -> QPrintPreviewDialog:
    """A print preview of the release plan with a "Save PDF…" action in its toolbar."""
    detail = releases.release_detail(ref)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(f"{detail.release.ref} release plan")
    dialog = QPrintPreviewDialog(printer, parent)
    dialog.setObjectName("releasePlanPreview")
    dialog.setWindowTitle(_t("Release plan {ref}").format(ref=detail.release.ref))
    document = plan_document(detail, dialog)
    dialog.paintRequested.connect(document.print_)
    save = QAction(_t("Save PDF…"), dialog)
    save.setObjectName("savePdfAction")
    save.setShortcut(QKeySequence("Ctrl+Shift+S"))
    save.triggered.connect(lambda: save_pdf(dialog, detail.release.ref))
    toolbar = dialog.findChild(QToolBar)
    if toolbar is not None:
        toolbar.addSeparator()
        toolbar.addAction(save)
    dialog.addAction(save)
    # QPrintPreviewDialog does not own the printer: keep both alive as long as the dialog.
    dialog.printer_ = printer
    dialog.document = document
    return dialog


def show_preview(parent: QWidget | None, ref: str) -> None:
    try:
        dialog = preview_dialog(parent, ref)
    except Exception as exc:  # noqa: BLE001
        show_error(parent, exc)
        return
    dialog.resize(900, 1000)
    dialog.exec()
