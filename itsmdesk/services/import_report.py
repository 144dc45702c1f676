"""What an import tells a person: counts, and every bad row with line, column and reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

DIFF_LIMIT = 10_000  # a dry run keeps at most this many entries in ImportReport.diff


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column or '-'}: {self.reason}"


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

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        verb = "would" if self.dry_run else ("" if self.applied else "nothing written;")
        parts = [f"{self.kind}: {self.rows_read} rows read", f"{verb} create {self.created}".strip(),
                 f"update {self.updated}", f"unchanged {self.unchanged}", f"rejected {self.rejected}"]
        parts += [f"{k} {v}" for k, v in self.extra.items()]
        return ", ".join(parts)
