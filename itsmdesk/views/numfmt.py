"""Numbers as people read them: grouped the way the user's locale writes them."""

from __future__ import annotations

from itsmdesk.i18n import number


def grouped(n: object) -> str:
    """1050000 -> "1,050,000" (en), "1 050 000" (sv); anything not an integer as text."""
    if not isinstance(n, int) or isinstance(n, bool):
        return str(n)
    return number(n)
