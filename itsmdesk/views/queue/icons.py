"""Small painted icons for priority and SLA state (no image files needed, crisp at any DPI)."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap


def _pixmap(colour: str, shape: str) -> QPixmap:
    pix = QPixmap(14, 14)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(colour))
    rect = QRectF(2, 2, 10, 10)
    if shape == "circle":
        p.drawEllipse(rect)
    elif shape == "diamond":
        from PySide6.QtCore import QPointF
        from PySide6.QtGui import QPolygonF

        p.drawPolygon(QPolygonF([QPointF(7, 1), QPointF(13, 7), QPointF(7, 13), QPointF(1, 7)]))
    else:
        p.drawRoundedRect(rect, 2, 2)
    p.end()
    return pix


@lru_cache(maxsize=16)
def priority_icon(priority: int | None) -> QIcon:
    from itsmdesk.views.queue.model import PRIORITY_COLOURS

    return QIcon(_pixmap(PRIORITY_COLOURS.get(priority or 5, "#607d8b"), "rect"))


@lru_cache(maxsize=16)
def sla_icon(state: str) -> QIcon:
    from itsmdesk.views.queue.model import SLA_COLOURS

    shape = "diamond" if state in ("breached", "at_risk") else "circle"
    return QIcon(_pixmap(SLA_COLOURS.get(state, "#9e9e9e"), shape))
