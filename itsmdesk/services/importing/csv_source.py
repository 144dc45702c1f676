"""Reading messy CSV exports: encoding and delimiter detection, tolerant row splitting.

Blank lines are skipped, cells are stripped, trailing empty cells are dropped; a row with fewer
cells than the header is reported as truncated.  Every row keeps the line it started on so that
errors name it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from itsmdesk.errors import N_, ValidationError
from itsmdesk.services import csv_safe
from itsmdesk.services.importing.report import RowError, row_error

CANDIDATE_DELIMITERS = ",;\t|"
FALLBACK_ENCODING = "cp1252"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class CsvRow:
    line: int
    cells: list[str]


@dataclass
class CsvData:
    header: list[str]
    rows: list[CsvRow]
    delimiter: str
    encoding: str
    errors: list[RowError] = field(default_factory=list)  # truncated / overlong rows
    raw_header: list[str] = field(default_factory=list)

    def index(self) -> dict[str, int]:
        """Column name -> position.  iTop marks mandatory columns "Name*": also found as "Name"."""
        found = {name: i for i, name in enumerate(self.header) if name}
        for name, i in list(found.items()):
            bare = name.rstrip("*").strip()
            if bare != name:
                found.setdefault(bare, i)
        return found


def decode(data: bytes, encoding: str) -> tuple[str, str]:
    """Text and the encoding used.  ``auto``: UTF-8 (with or without BOM), else cp1252."""
    if encoding == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            return data.decode(FALLBACK_ENCODING, errors="replace"), FALLBACK_ENCODING
    try:
        text = data.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8")
                           else encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        guess = "cp1252"
        raise ValidationError(
            N_("Line {line}: the file is not {encoding} (byte 0x{byte:02x}); set encoding = "
               "\"{guess}\" or \"auto\" in the mapping's [source]"),
            line=line, encoding=encoding, byte=data[exc.start], guess=guess) from exc
    return text, encoding


def csv_error(exc: csv.Error, line: int, path: str | Path | None = None) -> ValidationError:
    """The csv module's complaint about the row starting at ``line`` as a sentence."""
    if "field larger than field limit" in str(exc):
        return ValidationError(N_("{path}, line {line}: a cell is longer than {limit} characters, "
                                  "the most a CSV cell may hold; shorten it (or close a quote "
                                  "left open)"), path=str(path or "CSV"), line=line,
                               limit=csv.field_size_limit())
    return ValidationError(N_("{path}, line {line}: bad CSV ({reason})"), path=str(path or "CSV"),
                           line=line, reason=str(exc))


def sniff_delimiter(sample: str) -> str:
    """The most likely delimiter among , ; tab | (csv.Sniffer, then a count on the first line)."""
    lines = [ln for ln in sample.splitlines() if ln.strip()][:20]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        first = lines[0]
        counts = {d: first.count(d) for d in CANDIDATE_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_text(path: str | Path, encoding: str = "auto") -> tuple[str, str]:
    return decode(Path(path).read_bytes(), encoding)


def parse(text: str, delimiter: str = "auto", encoding: str = "", quotechar: str = '"',
          limit: int | None = None, source: str | Path | None = None) -> CsvData:
    """Split ``text`` into a header and rows (``limit`` rows at most, for previews)."""
    if "\x00" in text:  # NUL is never data (and PostgreSQL text cannot hold it): dropped
        text = text.replace("\x00", "")
    if delimiter == "auto":
        delimiter = sniff_delimiter(text[:65536])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar,
                        skipinitialspace=False, strict=False)
    header: list[str] | None = None
    raw_header: list[str] = []
    rows: list[CsvRow] = []
    errors: list[RowError] = []
    prev_line = 0
    width = 0
    while True:
        start = prev_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise csv_error(exc, start, source) from None
        prev_line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue  # blank line
        cells = [csv_safe.restore(c.strip()) for c in cells]  # (our rejects files' quotes)
        given = len(cells)
        while cells and cells[-1] == "":
            cells.pop()
        if header is None:
            raw_header = cells
            header = [c.lstrip("\ufeff").strip() for c in cells]
            width = len(header)
            continue
        if len(cells) > width:
            errors.append(row_error(start, f"#{width + 1}",
                                    N_("{cells} cells but the header has {columns} columns"),
                                    cells=len(cells), columns=width))
            cells = []
        elif given < width:
            errors.append(row_error(start, header[given] if given < width else "",
                                    N_("line ends after {given} of {columns} columns "
                                       "(truncated line?)"), given=given, columns=width))
            cells = []
        else:
            cells += [""] * (width - len(cells))
        rows.append(CsvRow(start, cells))  # an empty cell list marks a row already rejected
        if limit is not None and len(rows) >= limit:
            break
    if header is None:
        raise ValidationError(N_("The file is empty (no header line)"))
    return CsvData(header=header, rows=rows, delimiter=delimiter, encoding=encoding, errors=errors,
                   raw_header=raw_header)


def read_csv(path: str | Path, delimiter: str = "auto", encoding: str = "auto",
             quotechar: str = '"', limit: int | None = None) -> CsvData:
    text, used = read_text(path, encoding)
    return parse(text, delimiter, used, quotechar, limit, source=path)


def preview(path: str | Path, rows: int = 50, delimiter: str = "auto",
            encoding: str = "auto") -> CsvData:
    """The first ``rows`` rows (for the wizard), reading at most the first few MB."""
    p = Path(path)
    with p.open("rb") as handle:
        data = handle.read(4 * 1024 * 1024)
    if encoding == "auto":
        try:
            text = data.decode("utf-8-sig")
            used = "utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 4:  # cut inside a multi-byte character
                text, used = data[:exc.start].decode("utf-8-sig"), "utf-8"
            else:
                text, used = data.decode(FALLBACK_ENCODING, errors="replace"), FALLBACK_ENCODING
    else:
        text, used = data.decode(encoding, errors="replace"), encoding
    if len(data) == 4 * 1024 * 1024:
        text = text[:text.rfind("\n") + 1]
    return parse(text, delimiter, used, limit=rows, source=path)
