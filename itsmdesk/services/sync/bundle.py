"""Sync by a carried file, for a site with no link: the same batches and rows as a network sync,
written to a file that someone carries to the hub, and the hub's answer carried back.

``export_bundle`` (replica) writes every local write the hub has not acknowledged, each as the
batch a network push would send (site, batch id, schema version, base), and the hub journal id
the replica is current to.  ``import_bundle`` at the hub applies each batch exactly as a pushed
one (:func:`ops.apply_batch`: at most once per (site, batch), merged field by field, checked
against the authors' roles) and writes the **answer**: the hub's journal after that id, which
carries the ``!synced`` acknowledgements of the batches and any ``!conflict`` notes.  The
replica imports the answer: acknowledged batches move its push checkpoint, the hub's rows are
applied with the new pull checkpoint in one transaction, and its writes since the bundle was
made are applied again on top (:func:`engine.apply_pull` with ``rebase``).

Safe to import twice or out of order: batches are applied at most once; answer rows at or below
the replica's pull checkpoint are skipped; an answer that starts after the replica's checkpoint
(an earlier answer is missing) is refused with a sentence, nothing changed.

The file: gzip of one JSON header line and one JSON payload line.  The header names the format,
direction, site, hub identity, schema version, the payload's SHA-256 and an HMAC-SHA256 of
header and payload with the site's key (made with the site's first replica, kept in the hub's
``schema_info`` and the replica's bookkeeping).  A damaged file fails its checksum; a file
from elsewhere (or altered and re-checksummed) fails its signature; both are refused before
anything is applied.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, Phrase, ValidationError
from itsmdesk.models import replica as storage
from itsmdesk.models.base import utcnow
from itsmdesk.services import records, replay
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.sync import engine, hub_rights, ops
from itsmdesk.services.sync.link import bound, schema_of, write_transaction
from itsmdesk.services.sync.replica import hub_identity, read_identity, read_site_key

FORMAT = "itsmdesk-sync-bundle"
FORMAT_VERSION = 1
TO_HUB, TO_REPLICA = "to-hub", "to-replica"
MAX_BYTES = 2 * 1024**3  # a carried file bigger than this is not ours


@dataclass
class BundleReport:
    direction: str
    batches: int = 0
    applied: int = 0
    skipped: int = 0  # batches the hub had applied before
    rows: int = 0
    conflicts: list[dict[str, Any]] | None = None
    answer: Path | None = None
    pulled_rows: int = 0
    acknowledged: int = 0
    nothing_new: bool = False


def _sign(key: str, header: dict[str, Any], payload: bytes) -> str:
    text = json.dumps({k: v for k, v in header.items() if k != "signature"}, sort_keys=True)
    return hmac.new(key.encode(), text.encode() + b"\n" + payload, hashlib.sha256).hexdigest()


def _write(path: Path, header: dict[str, Any], payload_data: dict[str, Any], key: str) -> None:
    payload = json.dumps(payload_data, separators=(",", ":")).encode()
    header = {**header, "format": FORMAT, "format_version": FORMAT_VERSION,
              "sha256": hashlib.sha256(payload).hexdigest(),
              "created_at": records.to_text(utcnow())}
    header["signature"] = _sign(key, header, payload)
    path = Path(path)
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValidationError(N_("The folder {folder} does not exist; nothing was written."),
                              folder=str(folder))
    fd, temp = tempfile.mkstemp(prefix=".bundle-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.write(json.dumps(header, sort_keys=True).encode() + b"\n" + payload + b"\n")
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read(path: Path) -> tuple[dict[str, Any], bytes]:
    """The header and payload of a carried file, checksum verified (the signature is checked by
    the side that holds the key)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(N_("There is no sync file at {path}."), path=str(path))
    try:
        with gzip.open(path, "rb") as raw:
            data = raw.read(MAX_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile):
        raise ValidationError(N_("{path} is not an itsmdesk sync file, or it is damaged "
                                 "(cut short?); nothing was applied."), path=str(path)) from None
    head, _sep, rest = data.partition(b"\n")
    try:
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError
    except ValueError:
        raise ValidationError(N_("{path} is not an itsmdesk sync file; nothing was applied."),
                              path=str(path)) from None
    if int(header.get("format_version") or 0) > FORMAT_VERSION:
        raise ValidationError(N_("{path} was written by a newer itsmdesk; upgrade itsmdesk here "
                                 "first. Nothing was applied."), path=str(path))
    payload = rest.rstrip(b"\n")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ValidationError(N_("{path} is damaged (its checksum does not match what it says); "
                                 "nothing was applied. Carry the file again."), path=str(path))
    return header, payload


def _verify(path: Path, header: dict[str, Any], payload: bytes, key: str | None) -> Any:
    if not key or not hmac.compare_digest(_sign(key, header, payload),
                                          str(header.get("signature") or "")):
        raise ValidationError(N_("{path} is not signed by site {site}'s key (made elsewhere, or "
                                 "changed on the way); nothing was applied."),
                              path=str(path), site=header.get("site", "?"))
    return json.loads(payload)


# -- the replica's side ---------------------------------------------------------------------------
def export_bundle(replica: pw.Database, path: Path) -> BundleReport:
    """Write every write of the replica the hub has not acknowledged to ``path``."""
    meta = engine._meta(replica)
    key = meta.get("site_key")
    if not key:
        raise ValidationError(N_("This replica has no key to sign a carried file with (it was "
                                 "made by an older itsmdesk): sync over the network once, or "
                                 "make the replica again."))
    with bound(replica):
        batches = engine.local_batches(replica)
    header = {"direction": TO_HUB, "site": meta["site"], "hub_identity": meta["hub_identity"],
              "schema": schema_of(replica, Phrase(N_("the replica")))}
    _write(path, header, {"pull_checkpoint": int(meta.get("pull_checkpoint") or 0),
                          "batches": [b.to_json() for b in batches]}, key)
    return BundleReport(TO_HUB, batches=len(batches), rows=sum(len(b.rows) for b in batches))


def import_answer(replica: pw.Database, path: Path) -> BundleReport:
    """Apply the hub's answer at the replica (see the module's docstring)."""
    header, payload = read(path)
    meta = engine._meta(replica)
    if header.get("direction") != TO_REPLICA:
        raise ValidationError(N_("{path} is a site's bundle for the hub, not the hub's answer: "
                                 "import it at the hub ('itsmdesk --db HUB sync import-bundle "
                                 "FILE'). Nothing was applied."), path=str(path))
    if header.get("site") != meta["site"] or header.get("hub_identity") != meta["hub_identity"]:
        raise ValidationError(N_("{path} is the hub's answer for site {theirs}, not for this "
                                 "replica ({ours}); nothing was applied."),
                              path=str(path), theirs=header.get("site", "?"), ours=meta["site"])
    data = _verify(path, header, payload, meta.get("site_key"))
    ours = schema_of(replica, Phrase(N_("the replica")))
    if int(header.get("schema") or 0) != ours:
        raise ops.refuse_schema(ours, int(header.get("schema") or 0))
    start, end = int(data["from"]), int(data["to"])
    checkpoint = int(meta.get("pull_checkpoint") or 0)
    report = BundleReport(TO_REPLICA)
    if end <= checkpoint:
        report.nothing_new = True
        return report
    if start > checkpoint:
        raise ValidationError(N_("{path} carries the hub's changes from journal id {start}, "
                                 "but this replica is current only to {checkpoint}: import "
                                 "the answer to an earlier bundle first, or sync over the "
                                 "network. Nothing was applied."),
                              path=str(path), start=start, checkpoint=checkpoint)
    rows = [(int(r[0]), *ops.decode_rows([r[1:]])[0]) for r in data["rows"]]
    own = ops.site_record_id(meta["site"])
    acked = set(data.get("acknowledged", [])) | {
        str(r[12]) for r in rows
        if r[1] == ops.MARKER_KIND and r[2] == own and r[4] == ops.SYNCED}
    sync_report = engine.SyncReport()
    with bound(replica), write_transaction(replica):
        upto = None
        for row in engine.pending_rows(replica):
            if str(engine._batch_id([row], meta["site"])) not in acked:
                break
            upto = row[0]
            report.acknowledged += 1
        if upto is not None:
            engine.advance_push(replica, upto)
        engine.apply_pull(replica, rows, sync_report, rebase=True)
    report.pulled_rows = sync_report.pulled_rows
    return report


# -- the hub's side -------------------------------------------------------------------------------
def import_bundle(hub: pw.Database, path: Path, answer: Path,
                  operator: Actor = SYSTEM) -> BundleReport:
    """Apply a site's bundle at the hub (bound to ``hub``) and write the answer to ``answer``."""
    header, payload = read(path)
    if header.get("direction") != TO_HUB:
        raise ValidationError(N_("{path} is the hub's answer for a site, not a site's bundle: "
                                 "import it on the site's replica. Nothing was applied."),
                              path=str(path))
    site = str(header.get("site") or "")
    if storage.read_meta(hub).get("site"):
        raise ValidationError(N_("This database is a replica, not the hub: import a site's "
                                 "bundle at the hub ('itsmdesk --db HUB sync import-bundle "
                                 "FILE'). Nothing was applied."))
    if header.get("hub_identity") != (read_identity(hub) or hub_identity(hub)):
        raise ValidationError(N_("{path} was made by a replica of another database; nothing was "
                                 "applied."), path=str(path))
    data = _verify(path, header, payload, read_site_key(hub, site))
    theirs = int(header.get("schema") or 0)
    ours = schema_of(hub, Phrase(N_("the hub")))
    if theirs != ours:
        raise ops.refuse_schema(theirs, ours)
    report = BundleReport(TO_HUB, conflicts=[])
    acknowledged: list[str] = []
    batches = [ops.Batch.from_json(raw) for raw in data["batches"]]
    for batch in batches:
        if batch.site != site:
            raise ValidationError(N_("{path} holds a batch of site {other} inside site {site}'s "
                                     "bundle; nothing was applied."),
                                  path=str(path), other=batch.site, site=site)
    with hub_rights.refusals(operator):  # (a secured hub: the operator's own rights)
        outcomes = ops.apply_batches(batches, operator)
    for batch, outcome in zip(batches, outcomes, strict=True):
        report.batches += 1
        report.rows += len(batch.rows)
        if outcome.seen:
            report.skipped += 1
        else:
            report.applied += 1
            report.conflicts.extend(outcome.conflicts)
        acknowledged.append(str(batch.batch))
    start = int(data.get("pull_checkpoint") or 0)
    rows = replay.read_journal(hub, after_id=start)
    end = rows[-1][0] if rows else start
    _write(answer, {"direction": TO_REPLICA, "site": site,
                    "hub_identity": header.get("hub_identity"), "schema": ours},
           {"from": start, "to": end, "acknowledged": acknowledged,
            "rows": [[r[0], *ops.encode_rows([r[1:]])[0]] for r in rows]},
           read_site_key(hub, site) or "")
    report.answer = Path(answer)
    report.pulled_rows = len(rows)
    return report


def direction_of(path: Path) -> str:
    """Which way a carried file goes (its header, checksum verified)."""
    header, _payload = read(path)
    return str(header.get("direction"))
