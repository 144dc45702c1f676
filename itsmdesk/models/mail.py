"""E-mail that came in (and, from the outgoing side, went out): one row per message.

The row is the exactly-once ledger of intake: ``message_key`` (the Message-ID, or a hash of the
raw mail when it has none) is unique and is written in the same transaction as the ticket or
note the mail made, so a mail fetched again after a crash is recognised and taken no second time.
It also threads replies: a reply's In-Reply-To/References name the ``message_key`` of a mail
that belongs to a ticket.
"""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import TrackedModel, utcnow
from itsmdesk.models.incident import Incident

# What became of a mail: a new ticket; a note on a ticket (a reply; ``reopened`` when it reopened
# it); a follow-up ticket (a reply to a ticket closed too long ago); waiting in the unmatched
# queue; discarded there by an agent; ignored (an auto-reply, a bounce, a loop); sent by us.
MAIL_STATUSES = ("ticket", "note", "reopened", "followup", "unmatched", "discarded", "ignored",
                 "sent")
DIRECTIONS = ("in", "out")


class MailMessage(TrackedModel):
    RECORD_KIND = "mail"
    message_key = pw.CharField(max_length=500, unique=True)
    direction = pw.CharField(max_length=3, default="in")
    status = pw.CharField(max_length=16, default="ticket")
    ticket = pw.ForeignKeyField(Incident, null=True, backref="mails", on_delete="SET NULL")
    ticket_kind = pw.CharField(max_length=16, null=True)  # incident | request (as when taken)
    received_at = pw.DateTimeField(default=utcnow, index=True)
    sent_at = pw.DateTimeField(null=True)  # the mail's own Date header
    subject = pw.CharField(max_length=500, default="")
    sender = pw.CharField(max_length=254, default="")  # the From address
    sender_name = pw.CharField(max_length=200, null=True)
    recipients = pw.TextField(null=True)  # To and Cc, as written
    in_reply_to = pw.CharField(max_length=500, null=True)
    reference_keys = pw.TextField(null=True)  # its References header: the keys, space separated
    body_text = pw.TextField(null=True)  # readable text (HTML turned into text)
    reason = pw.CharField(max_length=300, null=True)  # why ignored / why unmatched
    raw = pw.BlobField(null=True)  # the original, kept only while the mail waits in the queue

    class Meta:
        indexes = (
            (("ticket", "received_at"), False),
            (("status", "received_at"), False),
        )
