"""Small pieces every record form shares (the form family itself is ``forms/base.py``)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


def header_label(text: str) -> QLabel:
    """The form's reference/heading label: bold, a quarter larger than the body text."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.25)
    label.setFont(font)
    return label
