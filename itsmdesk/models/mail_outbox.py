"""Outgoing mail: the outbox (one row per message to one recipient) and who follows a service.

A write that should tell someone (a ticket resolved, an outage announced) creates an outbox row
in its own transaction, through the write funnel: a rolled-back write mails nobody.  The sender
(``services/mail/outgoing.py``) delivers queued rows after the commit and marks them sent or
failed, again through the funnel.
"""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.base import BaseModel, TrackedModel
from itsmdesk.models.cmdb import CI
from itsmdesk.models.people import Person

OUTBOX_STATUSES = ("queued", "sending", "sent", "failed")


class MailOutbox(TrackedModel):
    """One message to one address.

    ``message_id`` is fixed when the row is queued, so a resend after a crash (the server took
    the message, the mark "sent" was lost) carries the same Message-ID and the receiving side
    can drop the duplicate.  ``not_before``: not sent earlier (a retry's backoff, or an agent's
    notification held until the service hours of the ticket's SLA calendar begin).
    ``ics``: the calendar invitation (text/calendar) sent with an announcement.
    """

    RECORD_KIND = "mail_outbox"
    message_id = pw.CharField(max_length=255, unique=True)
    event = pw.CharField(max_length=32)  # received | assigned | pending | resolved | ...
    to_address = pw.CharField(max_length=254)
    to_name = pw.CharField(max_length=200, null=True)
    person = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    language = pw.CharField(max_length=8, default="en")
    subject = pw.CharField(max_length=500)
    body = pw.TextField()
    ics = pw.TextField(null=True)
    ical_uid = pw.CharField(max_length=255, null=True, index=True)
    ical_sequence = pw.IntegerField(null=True)
    ical_method = pw.CharField(max_length=16, null=True)  # REQUEST | CANCEL
    record_kind = pw.CharField(max_length=32, null=True)  # what the mail is about
    record_id = pw.UUIDField(null=True, index=True)
    status = pw.CharField(max_length=16, default="queued")
    attempts = pw.IntegerField(default=0)
    not_before = pw.DateTimeField()
    last_error = pw.TextField(null=True)
    sent_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "not_before"), False),)

    def record_label(self) -> str:
        return f"{self.event} -> {self.to_address}"


class ServiceSubscription(BaseModel):
    """A person who wants the outage announcements of a business service (a child row of the
    service: journalled on it)."""

    PARENT = "service"
    LABEL_FIELDS = ("person",)
    service = pw.ForeignKeyField(CI, backref="subscriptions", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, backref="subscriptions", on_delete="CASCADE")

    class Meta:
        indexes = ((("service", "person"), True),)
