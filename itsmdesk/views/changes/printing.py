"""Save a CAB pack or minutes PDF, and print it through a QPrinter print preview.

The preview rasterises the PDF's pages with poppler's ``pdftoppm`` (already needed to check the
reports) and paints them on the printer's pages; without it, the PDF opens in the desktop viewer.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QRect, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QPainter
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from itsmdesk.errors import ItsmError


def _t(text: str) -> str:
    return QCoreApplication.translate("CabPrinting", text)


def write_report(module: str, ref: str, path: str | Path, page_size: str = "A4") -> int:
    return importlib.import_module(f"itsmdesk.reports.{module}").build(ref, path,
                                                                      page_size=page_size)


def page_images(pdf: Path, dpi: int = 150) -> list[QImage]:
    exe = shutil.which("pdftoppm")
    if not exe:
        return []
    out = Path(tempfile.mkdtemp(prefix="itsmdesk-print-"))
    subprocess.run([exe, "-png", "-r", str(dpi), str(pdf), str(out / "p")], check=True,
                   capture_output=True, timeout=120)
    return [QImage(str(f)) for f in sorted(out.glob("p-*.png"))]


def paint_pages(printer, images: list[QImage]) -> None:  # noqa: ANN001
    painter = QPainter(printer)
    for n, image in enumerate(images):
        if n:
            printer.newPage()
        target = painter.viewport()
        size = image.size().scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
        painter.setViewport(QRect(target.x(), target.y(), size.width(), size.height()))
        painter.setWindow(image.rect())
        painter.drawImage(0, 0, image)
        painter.setViewport(target)
    painter.end()


def export_and_preview(parent: QWidget, ctx, module: str, ref: str,  # noqa: ANN001
                       path: str | None = None, preview: bool = True) -> Path | None:
    """Ask where to save (unless ``path``), write the PDF, then offer the print preview."""
    name = "cab-pack" if module == "cab_pack" else "cab-minutes"
    if path is None:
        path, _ = QFileDialog.getSaveFileName(parent, QCoreApplication.translate("CabPrinting", "Save PDF"), f"{name}-{ref}.pdf",
                                              QCoreApplication.translate("CabPrinting", "PDF (*.pdf)"))
        if not path:
            return None
    try:
        pages = write_report(module, ref, path)
    except ItsmError as exc:
        from itsmdesk.views.messages import show_error

        show_error(parent, exc)
        return None
    ctx.sig_status.emit(QCoreApplication.translate("CabPrinting", "%s written (%s pages)") % (path, pages))
    if preview:
        show_preview(parent, Path(path))
    return Path(path)


def show_preview(parent: QWidget, pdf: Path) -> None:
    from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog

    images = page_images(pdf)
    if not images:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(pdf)))
        return
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dialog = QPrintPreviewDialog(printer, parent)
    dialog.setWindowTitle(QCoreApplication.translate("CabPrinting", "Print preview: %s") % pdf.name)
    dialog.paintRequested.connect(lambda p: paint_pages(p, images))
    dialog.exec()


def ask_meeting(parent: QWidget) -> str | None:
    """The CAB meeting a report is for: the most recent few, newest first."""
    from PySide6.QtWidgets import QInputDialog

    from itsmdesk.services.change import cab

    meetings = cab.meetings(50)
    if not meetings:
        QMessageBox.information(parent, QCoreApplication.translate("CabPrinting", "CAB"), QCoreApplication.translate("CabPrinting", "There are no CAB meetings yet."))
        return None
    labels = [f"{m.ref}  {m.starts_at:%Y-%m-%d}  {m.title}" for m in meetings]
    choice, ok = QInputDialog.getItem(parent, QCoreApplication.translate("CabPrinting", "CAB meeting"), QCoreApplication.translate("CabPrinting", "Meeting:"), labels, 0, False)
    return choice.split()[0] if ok and choice else None
