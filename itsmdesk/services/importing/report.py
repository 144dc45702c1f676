"""What an import tells a person: counts, and every bad row with line, column and reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DIFF_LIMIT = 10_000  # a dry run keeps at most this many entries in ImportReport.diff


@dataclass
class RowError:
    """One bad row (or header cell: line 1).  ``reason`` is the English text (JSON output, the
    rejects file); ``template`` (an N_() string) and ``params`` let the CLI and the views show it
    in the user's language (``itsmdesk.i18n.template_text(template, params, fallback=reason)``).
    An empty template means the reason has no translation (English only)."""

    line: int
    column: str
    reason: str
    template: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column or '-'}: {self.reason}"


def render(template: str, params: dict[str, Any]) -> str:
    """An N_() template filled in with its parameters, in English."""
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def row_error(line: int, column: str, template: str, **params: Any) -> RowError:
    """A :class:`RowError` from an N_() template: ``row_error(3, "class", N_("unknown CI class
    '{name}'"), name="spaceship")``; ``reason`` is the English text."""
    return RowError(line, column, render(template, params), template, params)


def row_error_from(line: int, column: str, exc: BaseException) -> RowError:
    """A :class:`RowError` carrying an exception's message, and its template and parameters
    when it is an :class:`itsmdesk.errors.ItsmError` (so it can be translated too)."""
    template = getattr(exc, "template", None)
    params = getattr(exc, "params", None)
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(template, str) and isinstance(params, dict):
        return RowError(line, column, message, template, dict(params))
    return RowError(line, column, message)


@dataclass
class FieldChange:
    """One field a dry run would set: ``old`` is None for a new record (or an empty field)."""

    field: str
    old: str | None
    new: str | None


@dataclass
class DiffEntry:
    """A record a dry run would create (``action`` "create") or change ("update")."""

    action: str
    name: str  # the CI name, or "source type target" for a relation
    line: int = 0  # its line in the file
    ci_class: str = ""  # CIs only
    relation: tuple[str, str, str] | None = None  # relations only: (source, type, target)
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class ImportReport:
    kind: str
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    applied: bool = False  # False when nothing was written (dry run, or bad rows without skip)
    rejects_file: str | None = None
    extra: dict[str, int] = field(default_factory=dict)  # e.g. {"journal_rows": n, "cis_created": n}
    # dry runs of the CMDB CSV import: what would change, field by field (at most DIFF_LIMIT
    # entries; diff_more counts the ones left out)
    diff: list[DiffEntry] = field(default_factory=list)
    diff_more: int = 0
    # what was imported but should be looked at (local times that do not exist, ...)
    warnings: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        verb = "would" if self.dry_run else ("" if self.applied else "nothing written;")
        parts = [f"{self.kind}: {self.rows_read} rows read", f"{verb} create {self.created}".strip(),
                 f"update {self.updated}", f"unchanged {self.unchanged}", f"rejected {self.rejected}"]
        parts += [f"{k} {v}" for k, v in self.extra.items()]
        return ", ".join(parts)
