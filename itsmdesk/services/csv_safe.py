"""CSV cells a spreadsheet will not run as formulas (CSV/formula injection, the OWASP rule).

Every CSV the app writes goes through :func:`writer` (or :func:`cell`/:func:`row`): a text
cell whose first character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
single quote in front (``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``), so Excel,
LibreOffice and Google Sheets show it as text instead of evaluating it.  Numbers the app writes
(``int``, ``float``, ``Decimal``) are left alone: ``-3`` stays a number.

Round trip
----------
The quote is ours to take off again: :func:`restore` (used by the imports that read our own
exports, ``import cis|relations`` and the mapped import) removes ONE leading quote from a cell
that, without its leading quotes, starts with one of those characters.  To make that exact, a
text cell that already starts with quotes followed by such a character (``'=x``) gets one more
quote on export (``''=x``), which the import takes off again.  So
``restore(cell(v)) == v`` for every text ``v``.  The one cost: a hand-written CSV cell
``'=x`` is imported as ``=x`` — which is also what a spreadsheet shows for it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    bare = text.lstrip("'")
    return bool(bare) and bare[0] in TRIGGERS


def cell(value: Any) -> Any:
    """``value`` safe to write as a CSV cell (text cells neutralised; numbers unchanged)."""
    if isinstance(value, bool | int | float | Decimal) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if _needs_quote(text) else text


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


def restore(text: str) -> str:
    """The value :func:`cell` neutralised, as it was (other text unchanged)."""
    if text.startswith("'") and _needs_quote(text):
        return text[1:]
    return text


class SafeWriter:
    """``csv.writer`` whose every row goes through :func:`row`."""

    def __init__(self, handle: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(handle, **kwargs)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(handle: Any, **kwargs: Any) -> SafeWriter:
    """A CSV writer that neutralises formula cells (the app's only way to write CSV)."""
    return SafeWriter(handle, **kwargs)


__all__ = ["TRIGGERS", "cell", "row", "restore", "writer", "SafeWriter"]
