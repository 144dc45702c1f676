"""Shared reportlab pieces for every itsmdesk PDF: styles, page template, TOC, tables.

A report builds a list of flowables and hands them to :func:`build_document`, which lays them out
twice (the table of contents needs the page numbers of the first pass) on a page template with a
running header (report title left, subtitle right), a rule, and ``Page n of m`` in the footer.

Texts go through ``QCoreApplication.translate`` (QtCore only, no widgets): a report follows the
GUI's language, or ``ITSMDESK_LANG`` / the system language on the command line (the CLI calls
:func:`itsmdesk.i18n.ensure_translations`).  :func:`word` shows a stored status, type, risk or
vote value in the reader's language.

Use :func:`heading` for section titles: level-0/1 headings go into the TOC and become PDF
bookmarks.  :func:`table` gives the house table style (header row repeated on every page).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from itsmdesk.errors import N_, ValidationError
from itsmdesk.words import WORDS, word  # noqa: F401 - re-exported for the reports

PAGE_SIZES = {"A4": A4, "LETTER": LETTER}

INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
ACCENT = colors.HexColor("#1d4ed8")
HEADER_BG = colors.HexColor("#e5e7eb")
ZEBRA = colors.HexColor("#f9fafb")
RISK_COLOURS = {"low": "#15803d", "medium": "#b45309", "high": "#c2410c", "very_high": "#b91c1c"}


def page_size(name: str) -> tuple[float, float]:
    size = PAGE_SIZES.get((name or "A4").upper())
    if size is None:
        raise ValidationError(N_("Page size '{value}' is not one of: A4, Letter"), field="page_size",
                              value=name)
    return size


_LAYOUT = threading.local()  # .measure_only: True during a TOC-measuring first pass


def _measuring() -> bool:
    return getattr(_LAYOUT, "measure_only", False)


class FastTable(Table):
    """A Table that skips drawing while the document is only being measured."""

    def draw(self) -> None:
        if not _measuring():
            super().draw()


class CachedParagraph(Paragraph):
    """A Paragraph that remembers its line breaks per width and skips drawing while the
    document is only being measured (the TOC needs a first pass for its page numbers)."""

    def draw(self) -> None:
        if not _measuring():
            super().draw()

    def breakLines(self, width):  # noqa: ANN001, ANN201, N802 - reportlab's name
        key = tuple(width) if isinstance(width, (list, tuple)) else width
        cache = self.__dict__.setdefault("_break_cache", {})
        if key not in cache:
            cache[key] = super().breakLines(width)
        return cache[key]


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    s: dict[str, ParagraphStyle] = {}
    s["body"] = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=9.5,
                               leading=12.5, textColor=INK, spaceAfter=4)
    s["small"] = ParagraphStyle("small", parent=s["body"], fontSize=8, leading=10)
    s["cell"] = ParagraphStyle("cell", parent=s["body"], fontSize=8, leading=10, spaceAfter=0)
    s["cellb"] = ParagraphStyle("cellb", parent=s["cell"], fontName="Helvetica-Bold")
    s["muted"] = ParagraphStyle("muted", parent=s["small"], textColor=MUTED)
    s["label"] = ParagraphStyle("label", parent=s["body"], fontName="Helvetica-Bold", fontSize=9,
                                spaceAfter=1, spaceBefore=4, textColor=MUTED)
    s["h1"] = ParagraphStyle("h1", parent=base["Heading1"], fontName="Helvetica-Bold", fontSize=16,
                             leading=20, textColor=INK, spaceBefore=4, spaceAfter=8)
    s["h2"] = ParagraphStyle("h2", parent=base["Heading2"], fontName="Helvetica-Bold", fontSize=12.5,
                             leading=16, textColor=ACCENT, spaceBefore=10, spaceAfter=4)
    s["h3"] = ParagraphStyle("h3", parent=base["Heading3"], fontName="Helvetica-Bold", fontSize=10,
                             leading=13, textColor=INK, spaceBefore=6, spaceAfter=2)
    s["title"] = ParagraphStyle("title", parent=s["h1"], fontSize=26, leading=32,
                                alignment=TA_CENTER, spaceAfter=14)
    s["subtitle"] = ParagraphStyle("subtitle", parent=s["body"], fontSize=13, leading=18,
                                   alignment=TA_CENTER, textColor=MUTED)
    s["toc0"] = ParagraphStyle("toc0", parent=s["body"], fontSize=10.5, leading=15,
                               fontName="Helvetica-Bold", leftIndent=0)
    s["toc1"] = ParagraphStyle("toc1", parent=s["body"], fontSize=9.5, leading=13, leftIndent=14)
    return s


STYLES = _styles()


def p(text: Any, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped; newlines kept)."""
    value = "" if text is None else str(text)
    return CachedParagraph(escape(value).replace("\n", "<br/>"), STYLES[style])


def markup(text: str, style: str = "body") -> Paragraph:
    """A paragraph of reportlab mini-markup (caller escapes the data)."""
    return CachedParagraph(text, STYLES[style])


def heading(text: str, level: int = 1, key: str | None = None, in_toc: bool = True) -> Paragraph:
    """A section heading; levels 0 and 1 are listed in the TOC and bookmarked."""
    style = {0: "h1", 1: "h2", 2: "h3"}.get(level, "h3")
    para = CachedParagraph(escape(text), STYLES[style])
    para._toc_level = level if in_toc else None  # type: ignore[attr-defined]
    para._toc_text = text  # type: ignore[attr-defined]
    para._toc_key = key  # type: ignore[attr-defined]
    return para


def toc() -> TableOfContents:
    t = TableOfContents()
    t.levelStyles = [STYLES["toc0"], STYLES["toc1"]]
    t.dotsMinLevel = 0
    return t


def _fits(text: str, width: float | None, bold: bool) -> bool:
    """True when ``text`` fits on one line of a cell ``width`` wide (then a plain string cell,
    far cheaper to lay out than a Paragraph)."""
    if width is None or "\n" in text or len(text) > 120:
        return False
    from reportlab.pdfbase.pdfmetrics import stringWidth

    font = "Helvetica-Bold" if bold else "Helvetica"
    return stringWidth(text, font, 8) <= width - 7


def table(rows: Sequence[Sequence[Any]], col_widths: Sequence[float] | None = None,
          header: bool = True, zebra: bool = True, extra: Sequence[tuple] = ()) -> Table:
    """The house table: text cells that fit stay plain strings, longer ones become wrapped
    paragraphs; the header row repeats on every page."""
    data = []
    for r, row in enumerate(rows):
        cells = []
        bold = header and r == 0
        for c, cell in enumerate(row):
            if isinstance(cell, (str, int, float)) or cell is None:
                text = "" if cell is None else str(cell)
                width = col_widths[c] if col_widths and c < len(col_widths) else None
                cells.append(text if _fits(text, width, bold) else p(text, "cellb" if bold
                                                                      else "cell"))
            else:
                cells.append(cell)
        data.append(cells)
    t = FastTable(data, colWidths=col_widths, repeatRows=1 if header else 0)
    commands: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8, 10),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d1d5db")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands += [("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
                     ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8, 10),
                     ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK)]
    if zebra:
        for i in range(1 if header else 0, len(data)):
            if i % 2 == 0:
                commands.append(("BACKGROUND", (0, i), (-1, i), ZEBRA))
    commands.extend(extra)
    t.setStyle(TableStyle(commands))
    return t


def key_values(pairs: Sequence[tuple[str, Any]], width: float) -> Table:
    """A two-column label/value block (no header)."""
    label_w = width * 0.25
    # labels are bold: a long one (Swedish words are longer) wraps as a bold paragraph
    rows = [[k if not isinstance(k, str) or _fits(k, label_w, True) else p(k, "cellb"), v]
            for k, v in pairs]
    return table(rows, col_widths=[label_w, width * 0.75], header=False, zebra=False,
                 extra=[("FONT", (0, 0), (0, -1), "Helvetica-Bold", 8, 10)])


def risk_badge(level: str | None) -> Paragraph:
    colour = RISK_COLOURS.get(level or "", "#6b7280")
    label = word(level or "not_assessed")
    return markup(f'<font color="{colour}"><b>{escape(label.upper())}</b></font>', "cell")


def fmt_dt(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


class ReportDocument(BaseDocTemplate):
    """Two-pass document with running header, page numbers and TOC/bookmark notifications."""

    def __init__(self, path: str | Path, title: str, subtitle: str = "", size: str = "A4",
                 **kw: Any) -> None:
        self.report_title = title
        self.report_subtitle = subtitle
        self.generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        self._page_count = 0
        super().__init__(str(path), pagesize=page_size(size), leftMargin=18 * mm,
                         rightMargin=18 * mm, topMargin=22 * mm, bottomMargin=18 * mm,
                         title=title, author="itsmdesk", subject=subtitle, **kw)
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([
            PageTemplate("cover", frames=[frame], onPage=self._footer_only),
            PageTemplate("body", frames=[frame], onPage=self._decorate),
        ])

    # running header + footer
    def _footer(self, canvas, doc) -> None:  # noqa: ANN001
        width, _height = self.pagesize
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(self.leftMargin, 10 * mm, QCoreApplication.translate(
            "PdfCommon", "itsmdesk · generated {when}").format(when=self.generated))
        total = getattr(self, "_total_pages", 0)
        if total >= 0:  # -1: the numbered canvas writes "Page n of m" itself
            text = (QCoreApplication.translate("PdfCommon", "Page {n} of {m}").format(n=doc.page, m=total)
                    if total else QCoreApplication.translate("PdfCommon", "Page {n}").format(n=doc.page))
            canvas.drawRightString(width - self.rightMargin, 10 * mm, text)

    def _footer_only(self, canvas, doc) -> None:  # noqa: ANN001
        canvas.saveState()
        self._watermark(canvas)
        self._footer(canvas, doc)
        canvas.restoreState()

    def _watermark(self, canvas) -> None:  # noqa: ANN001
        """A large pale word across the page (``watermark``: e.g. DRAFT), behind the text."""
        text = getattr(self, "watermark", None)
        if not text:
            return
        width, height = self.pagesize
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 96)
        canvas.setFillColor(colors.HexColor("#fde2e2"))
        canvas.translate(width / 2, height / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -32, text)
        canvas.restoreState()

    def _decorate(self, canvas, doc) -> None:  # noqa: ANN001
        width, height = self.pagesize
        canvas.saveState()
        self._watermark(canvas)
        canvas.setFont("Helvetica-Bold", 8.5)
        canvas.setFillColor(INK)
        canvas.drawString(self.leftMargin, height - 13 * mm, self.report_title)
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(MUTED)
        canvas.drawRightString(width - self.rightMargin, height - 13 * mm, self.report_subtitle)
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(0.8)
        canvas.line(self.leftMargin, height - 15 * mm, width - self.rightMargin, height - 15 * mm)
        canvas.setStrokeColor(HEADER_BG)
        canvas.line(self.leftMargin, 14 * mm, width - self.rightMargin, 14 * mm)
        self._footer(canvas, doc)
        canvas.restoreState()

    def build(self, flowables, *args: Any, **kwargs: Any) -> None:  # noqa: ANN001
        """One layout pass; the first of several (a TOC is present) only measures."""
        self._pass = getattr(self, "_pass", 0) + 1
        _LAYOUT.measure_only = self._pass == 1 and getattr(self, "_has_toc", False)
        try:
            super().build(flowables, *args, **kwargs)
        finally:
            _LAYOUT.measure_only = False

    def afterFlowable(self, flowable) -> None:  # noqa: ANN001, N802 - reportlab's hook name
        level = getattr(flowable, "_toc_level", None)
        if level is None or level > 1:
            return
        text = flowable._toc_text
        key = flowable._toc_key or f"h{id(flowable)}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(text, key, level=level, closed=level > 0)
        self.notify("TOCEntry", (level, escape(text), self.page, key))


class _NumberedCanvas(Canvas):
    """Holds each page until the end so the footer can say "Page n of m" in one layout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        template = QCoreApplication.translate("PdfCommon", "Page {n} of {m}")
        for state in self._pages:
            self.__dict__.update(state)
            width = self._pagesize[0]
            self.setFont("Helvetica", 7.5)
            self.setFillColor(MUTED)
            self.drawRightString(width - 18 * mm, 10 * mm,
                                 template.format(n=self._pageNumber, m=total))
            super().showPage()
        super().save()


def _prefill_toc(story: list) -> bool:
    """Give each TOC its entries (page numbers unknown yet) before the first pass, so the first
    layout already reserves the TOC's real height; then two passes suffice, not three."""
    tocs = [f for f in story if isinstance(f, TableOfContents)]
    if not tocs:
        return False
    entries = [(f._toc_level, escape(f._toc_text), 999, None) for f in story
               if getattr(f, "_toc_level", None) is not None and f._toc_level <= 1]
    for t in tocs:
        t._entries = list(entries)
    return True


def build_document(path: str | Path, story_factory, title: str, subtitle: str = "",
                   size: str = "A4", watermark: str | None = None) -> int:
    """Lay out ``story_factory()`` -> page count (``watermark``: a word across every page).

    ``multiBuild`` repeats the layout until the table of contents is stable; the canvas writes
    "Page n of m" at the end.  (``story_factory`` is a callable for the callers' convenience.)
    """
    doc = ReportDocument(path, title, subtitle, size)
    doc.watermark = watermark
    doc._total_pages = -1  # footer numbers come from the canvas
    story = story_factory()
    doc._has_toc = _prefill_toc(story)
    doc.multiBuild(story, canvasmaker=_NumberedCanvas)
    return doc.page


__all__ = [
    "PageBreak", "Spacer", "STYLES", "ReportDocument", "build_document", "fmt_dt", "heading",
    "key_values", "markup", "p", "page_size", "risk_badge", "table", "toc", "word",
]
