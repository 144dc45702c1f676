"""Small layout helpers shared by dialogs: a row of buttons, a titled box around a list."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLayout, QVBoxLayout, QWidget


def button_row(*items: QWidget | None) -> QHBoxLayout:
    """The widgets side by side; ``None`` stands for a stretch (push the rest to the right)."""
    row = QHBoxLayout()
    for item in items:
        if item is None:
            row.addStretch(1)
        else:
            row.addWidget(item)
    return row


def boxed(title: str, body: QWidget, below: QLayout | None = None) -> QGroupBox:
    """A group box titled ``title`` with ``body`` taking the space and ``below`` under it."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.addWidget(body, 1)
    if below is not None:
        layout.addLayout(below)
    return box
