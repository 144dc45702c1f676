"""What an import tells a person: counts, and every bad row with line, column and reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column or '-'}: {self.reason}"


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

    def summary(self) -> str:
        verb = "would" if self.dry_run else ("" if self.applied else "nothing written;")
        parts = [f"{self.kind}: {self.rows_read} rows read", f"{verb} create {self.created}".strip(),
                 f"update {self.updated}", f"unchanged {self.unchanged}", f"rejected {self.rejected}"]
        parts += [f"{k} {v}" for k, v in self.extra.items()]
        return ", ".join(parts)
