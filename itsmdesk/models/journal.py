"""The journal: one row per changed field.  Audit history and, later, the replication feed."""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import db, utcnow


class JournalEntry(pw.Model):
    id = pw.BigAutoField()
    record_kind = pw.CharField(max_length=32)
    record_id = pw.UUIDField()
    record_ref = pw.CharField(max_length=300, null=True)
    field = pw.CharField(max_length=64)  # "*created*" / "*deleted*" for whole-record events
    old = pw.TextField(null=True)
    new = pw.TextField(null=True)
    who_id = pw.UUIDField(null=True)
    who_name = pw.CharField(max_length=200, null=True)
    at = pw.DateTimeField(default=utcnow)
    site = pw.CharField(max_length=16, default="")
    version = pw.IntegerField(null=True)  # the record's version after this change
    batch = pw.UUIDField(null=True)  # rows written by one service call share a batch (undo, sync)
    # SQLite: sha256 of the previous row's chain and this row's fields (models/journal_guard.py);
    # NULL on PostgreSQL, where grants keep the journal append-only
    chain = pw.CharField(max_length=64, null=True)

    class Meta:
        database = db
        table_name = "journal"
        indexes = ((("record_kind", "record_id", "at"), False), (("at",), False))
