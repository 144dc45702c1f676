"""Audit the CMDB against a discovered list (a CSV from a network or inventory scan).

The scan uses the CI CSV format (``name`` required; ``class`` and any other column optional).
:func:`audit` changes nothing: it lists the CIs that are *unknown* (scanned, not in the CMDB),
*missing* (in the CMDB, in the scanned scope, not found by the scan) and *different* (a scanned
column disagrees with the CMDB).  The scanned scope is every CI that is not retired, narrowed to
the classes and sites the scan mentions.  :func:`accept` applies the scan (creates the unknown
CIs, updates the different ones, through the CSV import, journalled); missing CIs are only
reported, never deleted, because a scan that missed a box proves little.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsmdesk.models.cmdb import CI
from itsmdesk.services.cmdb import csv_io as cmdb_csv
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.importing.report import ImportReport, RowError


@dataclass
class AuditResult:
    scanned: int = 0
    matching: int = 0
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    different: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # (CI, field, cmdb, scan)
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"scanned": self.scanned, "matching": self.matching, "unknown": self.unknown,
                "missing": self.missing,
                "different": [{"ci": c, "field": f, "cmdb": a, "scan": b}
                              for c, f, a, b in self.different],
                "errors": [str(e) for e in self.errors]}


_FIELD_LABEL = {"ci_class": "class", "ci_version": "version", "site": "site",
                "owner_team": "owner_team"}


def _display(field: str, value: Any, names: dict) -> Any:
    if field in ("ci_class", "site", "owner_team") and value is not None:
        return names.get(value, value)
    return value


def audit(path) -> AuditResult:  # noqa: ANN001
    path = Path(path)
    header, rows = cmdb_csv._read(path)
    ctx = cmdb_csv._CIContext()
    result = AuditResult(scanned=len(rows))
    if "class" not in header:  # the class is optional in a scan: compare without it
        header_errors = cmdb_csv._check_ci_header(header + ["class"], ctx)
    else:
        header_errors = cmdb_csv._check_ci_header(header, ctx)
    if header_errors:
        result.errors = header_errors
        return result
    names_in_scan = [c[header.index("name")].strip() for _l, c in rows if len(c) > header.index("name")]
    existing_rows = cmdb_csv._by_names(CI, [n for n in names_in_scan if n], cmdb_csv._CI_READ)
    fields = [f.name for f in cmdb_csv._CI_READ]
    existing = {name: dict(zip(fields, row, strict=True)) for name, row in existing_rows.items()}
    labels = {c.id: c.name for c in ctx.classes.values()}
    labels.update({sid: code for code, sid in ctx.sites.items()})
    labels.update({tid: name for name, tid in ctx.teams.items()})
    scan_classes, scan_sites = set(), set()
    seen = set()
    for line, cells in rows:
        cell_map = {h: (cells[j] if j < len(cells) else "") for j, h in enumerate(header)
                    if not h.startswith("_")}
        name = cell_map.get("name", "").strip()
        if name in existing and "class" not in cell_map:
            cell_map["class"] = labels[existing[name]["ci_class"]]
        values, errors = cmdb_csv._parse_ci(cell_map, ctx, line)
        if "class" not in header and name not in existing:
            errors = [e for e in errors if e.column != "class"]
        if errors:
            result.errors += errors
            continue
        seen.add(name)
        if values.get("ci_class"):
            scan_classes.add(values["ci_class"])
        if values.get("site"):
            scan_sites.add(values["site"])
        if name not in existing:
            result.unknown.append(name)
            continue
        old = existing[name]
        cls = next((c for c in ctx.classes.values() if c.id == values.get("ci_class")), None)
        spec = {a["name"] for a in (cls.attributes or [])} if cls else set()
        changes = cmdb_csv._ci_changes(old, values, spec)
        if not changes:
            result.matching += 1
        for fname, new in changes.items():
            if fname == "attributes":
                before = old["attributes"] or {}
                for attr in sorted(set(before) | set(new)):
                    if before.get(attr) != new.get(attr):
                        result.different.append((name, attr, before.get(attr), new.get(attr)))
            else:
                result.different.append((name, _FIELD_LABEL.get(fname, fname),
                                         _display(fname, old[fname], labels),
                                         _display(fname, new, labels)))
    # missing: CIs in the scanned scope the scan did not find
    query = CI.select(CI.name).where(CI.status != "retired")
    if "class" in header and scan_classes:
        query = query.where(CI.ci_class.in_(list(scan_classes)))
    if "site" in header and scan_sites:
        query = query.where(CI.site.in_(list(scan_sites)))
    result.missing = sorted(n for (n,) in query.tuples().iterator() if n not in seen)
    result.unknown.sort()
    return result


def accept(path, actor: Actor = SYSTEM, progress=None) -> ImportReport:  # noqa: ANN001
    """Apply the scan to the CMDB (create unknown CIs, update different ones)."""
    return cmdb_csv.import_csv("cis", path, actor=actor, progress=progress)

