"""PDF (reportlab) and iCalendar exports.  Call services; no Qt widgets.

Each PDF module has ``build(ref, path, page_size="A4") -> int`` (pages written).
"""
