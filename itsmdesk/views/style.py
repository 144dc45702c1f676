"""The app's look, without an application-wide style sheet.

Why not a style sheet: ``QApplication.setStyleSheet`` puts every widget under Qt's style-sheet
style, and each widget then resolves the rules again whenever it is created, reparented or
polished.  With the app's 25-line sheet, building the incident form took 30 ms of the GUI thread
instead of 9, and start-up held the window 85 ms instead of 40 (``python -m bench gui_latency``):
more than a frame, on every form opened.  So the few touches are given to the widgets that want
them: palettes for colours (no style-sheet cost), and a sheet of its own on a single label where a
border or background needs one (it styles that label alone).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView, QLabel, QWidget

BANNER_SHEET = ("background: #fff4d6; border: 1px solid #f0c36d; border-radius: 4px;"
                " padding: 4px 8px;")
"""A notice across a form or the window (planned outages): a calm yellow card."""



def selection_colours(view: QAbstractItemView, background: str, text: str) -> None:
    """Selected rows in ``background`` with ``text``, whether or not the view has focus."""
    palette = view.palette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.Highlight, QColor(background))
        palette.setColor(group, QPalette.ColorRole.HighlightedText, QColor(text))
    view.setPalette(palette)


def quiet(label: QWidget) -> None:
    """Secondary text (counts, hints) in the palette's muted colour."""
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText,
                     palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText))
    label.setPalette(palette)


def banner(label: QLabel, sheet: str = BANNER_SHEET) -> None:
    label.setStyleSheet(sheet)
