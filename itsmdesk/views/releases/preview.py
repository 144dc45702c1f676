"""Release plan: print preview (QPrinter) and "Save PDF…" (the reportlab report).

The preview lays the release plan out as a QTextDocument (summary, changes, services, plan,
Gantt chart as an image, waves, DML, backout, sign-off) so it prints on any printer; the saved
PDF is :mod:`itsmdesk.reports.release_plan`, the same document the CLI writes.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QFileDialog, QToolBar, QWidget

from itsmdesk.i18n import reason_text
from itsmdesk.services.clock import utcnow
from itsmdesk.services.release import releases
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
    approval = (QCoreApplication.translate("ReleasePlanPreview", "all bundled changes approved") if roll.all_approved else
                QCoreApplication.translate("ReleasePlanPreview", "no changes bundled") if not roll.changes else
                QCoreApplication.translate("ReleasePlanPreview", "{n} of {m} changes NOT approved: deployment is blocked").format(
                    n=len(roll.unapproved), m=len(roll.changes)))
    parts = [
        f"<h1>{e(r.ref)} · {e(r.name)}</h1>",
        _table([QCoreApplication.translate("ReleasePlanPreview", "Field"), QCoreApplication.translate("ReleasePlanPreview", "Value")], [
            [QCoreApplication.translate("ReleasePlanPreview", "Version"), e(r.release_version)], [QCoreApplication.translate("ReleasePlanPreview", "Type"), e(r.type)],
            [QCoreApplication.translate("ReleasePlanPreview", "Status"), e(r.status)], [QCoreApplication.translate("ReleasePlanPreview", "Risk"), f"<b>{e(detail.risk.level).upper()}</b>"],
            [QCoreApplication.translate("ReleasePlanPreview", "Planned window"), f"{_when(r.planned_start)} – {_when(r.planned_end)} UTC"],
            [QCoreApplication.translate("ReleasePlanPreview", "Release manager"), e(detail.manager)], [QCoreApplication.translate("ReleasePlanPreview", "Release team"), e(detail.team)],
            [QCoreApplication.translate("ReleasePlanPreview", "Change approval"), f"<b>{escape(approval)}</b>"]]),
    ]
    if r.description:
        parts.append(f"<p>{e(r.description)}</p>")
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Risk assessment')}</h2>")
    parts.append(_table([QCoreApplication.translate("ReleasePlanPreview", "Factor"), QCoreApplication.translate("ReleasePlanPreview", "Level"), QCoreApplication.translate("ReleasePlanPreview", "Why")],
                        [[e(f.factor), e(f.level), e(reason_text(f))] for f in detail.risk.factors]))
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Included changes')}</h2>")
    parts.append(_table([QCoreApplication.translate("ReleasePlanPreview", "Change"), QCoreApplication.translate("ReleasePlanPreview", "Title"), QCoreApplication.translate("ReleasePlanPreview", "Status"), QCoreApplication.translate("ReleasePlanPreview", "Approved"), QCoreApplication.translate("ReleasePlanPreview", "Risk")], [
        [e(c.ref), e(c.title), e(c.status), QCoreApplication.translate("ReleasePlanPreview", "yes") if c.approved else f"<b>{QCoreApplication.translate('ReleasePlanPreview', 'NO')}</b>",
         e(c.risk)] for c in roll.changes]))
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Affected services')}</h2>")
    parts.append("<p>" + (e(", ".join(s.name for s in detail.services)) if detail.services
                          else QCoreApplication.translate("ReleasePlanPreview", "None")) + "</p>")
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Release plan')}</h2>")
    parts.append(_table([QCoreApplication.translate("ReleasePlanPreview", "Step"), QCoreApplication.translate("ReleasePlanPreview", "Kind"), QCoreApplication.translate("ReleasePlanPreview", "Owner"), QCoreApplication.translate("ReleasePlanPreview", "Site"), QCoreApplication.translate("ReleasePlanPreview", "Planned"),
                         QCoreApplication.translate("ReleasePlanPreview", "Actual"), QCoreApplication.translate("ReleasePlanPreview", "Status"), QCoreApplication.translate("ReleasePlanPreview", "After")], [
        [("&nbsp;" * 4 * s.level) + (f"<b>{e(s.name)}</b>" if s.kind == "phase" else e(s.name)),
         e(s.kind), e(s.owner or None), e(s.site),
         f"{_when(s.planned_start)}<br>{_when(s.planned_end)}",
         f"{_when(s.actual_start)}<br>{_when(s.actual_end)}", e(s.status),
         e(", ".join(s.depends_on_names) or None)] for s in detail.plan]))
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Gantt chart')}</h2>")
    parts.append(f"<img src='gantt://plan' width='{min(int(gantt_width), 680)}'>")
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Definitive media library')}</h2>")
    parts.append(_table([QCoreApplication.translate("ReleasePlanPreview", "Item"), QCoreApplication.translate("ReleasePlanPreview", "Version"), QCoreApplication.translate("ReleasePlanPreview", "Checksum"), QCoreApplication.translate("ReleasePlanPreview", "Master CI")], [
        [e(i.name), e(i.version), f"<tt>{e(i.checksum)}</tt>", e(i.ci_name)]
        for i in detail.items]))
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Backout plan')}</h2><p>{e(r.backout_plan)}</p>")
    parts.append(f"<h2>{QCoreApplication.translate('ReleasePlanPreview', 'Sign-off')}</h2>")
    signers = [QCoreApplication.translate("ReleasePlanPreview", "Release manager"), QCoreApplication.translate("ReleasePlanPreview", "Change manager"), QCoreApplication.translate("ReleasePlanPreview", "CAB chair")]
    parts.append(_table([QCoreApplication.translate("ReleasePlanPreview", "Role"), QCoreApplication.translate("ReleasePlanPreview", "Name"), QCoreApplication.translate("ReleasePlanPreview", "Signature"), QCoreApplication.translate("ReleasePlanPreview", "Date")],
                        [[escape(s), e(detail.manager) if i == 0 else "", "<br><br>", ""]
                         for i, s in enumerate(signers)]))
    doc.setHtml("<html><body style='font-family: sans-serif; font-size: 9pt'>"
                + "".join(parts) + "</body></html>")
    return doc


def save_pdf(parent: QWidget | None, ref: str, ctx: Any = None) -> str | None:
    """Ask for a file name and write the reportlab release plan PDF there (with ``ctx``, off
    the GUI thread)."""
    path, _filter = QFileDialog.getSaveFileName(parent, QCoreApplication.translate("ReleasePlanPreview", "Save release plan PDF"),
                                                f"{ref}-release-plan.pdf", QCoreApplication.translate("ReleasePlanPreview", "PDF (*.pdf)"))
    if not path:
        return None
    from itsmdesk.reports import release_plan

    if ctx is not None:
        ctx.query(release_plan.build, ref, path, on_error=lambda exc: show_error(parent, exc),
                  on_done=lambda _pages: ctx.sig_status.emit(path), owner=parent)
        return path
    try:
        release_plan.build(ref, path)
    except Exception as exc:  # noqa: BLE001 - shown to the person
        show_error(parent, exc)
        return None
    return path


def preview_dialog(parent: QWidget | None, ref: Any, ctx: Any = None) -> QPrintPreviewDialog:
    """A print preview of the release plan with a "Save PDF…" action in its toolbar.  ``ref``:
    a release reference, or the ``releases.ReleaseDetail`` read already (off the GUI thread);
    with ``ctx`` the PDF is written off the GUI thread too."""
    detail = ref if isinstance(ref, releases.ReleaseDetail) else releases.release_detail(ref)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(f"{detail.release.ref} release plan")
    dialog = QPrintPreviewDialog(printer, parent)
    dialog.setObjectName("releasePlanPreview")
    dialog.setWindowTitle(QCoreApplication.translate("ReleasePlanPreview", "Release plan {ref}").format(ref=detail.release.ref))
    document = plan_document(detail, dialog)
    dialog.paintRequested.connect(document.print_)
    save = QAction(QCoreApplication.translate("ReleasePlanPreview", "Save PDF…"), dialog)
    save.setObjectName("savePdfAction")
    save.setShortcut(QKeySequence("Ctrl+Shift+S"))
    save.triggered.connect(lambda: save_pdf(dialog, detail.release.ref, ctx))
    toolbar = dialog.findChild(QToolBar)
    if toolbar is not None:
        toolbar.addSeparator()
        toolbar.addAction(save)
    dialog.addAction(save)
    # QPrintPreviewDialog does not own the printer: keep both alive as long as the dialog.
    dialog.printer_ = printer
    dialog.document = document
    return dialog


def show_preview(parent: QWidget | None, ref: Any, ctx: Any = None) -> None:
    try:
        dialog = preview_dialog(parent, ref, ctx)
    except Exception as exc:  # noqa: BLE001
        show_error(parent, exc)
        return
    dialog.resize(900, 1000)
    dialog.exec()
