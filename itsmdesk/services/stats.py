"""Counts per record kind (``itsmdesk stats``)."""

from __future__ import annotations

from itsmdesk.models import (
    CI,
    Article,
    CABMeeting,
    Change,
    Incident,
    Interaction,
    KnownError,
    Person,
    Problem,
    Relation,
    Release,
    Team,
)
from itsmdesk.models.journal import JournalEntry


def counts() -> dict[str, int]:
    return {
        "incidents": Incident.select().where(Incident.kind == "incident").count(),
        "service_requests": Incident.select().where(Incident.kind == "request").count(),
        "interactions": Interaction.select().count(),
        "problems": Problem.select().count(),
        "known_errors": KnownError.select().count(),
        "changes": Change.select().count(),
        "cab_meetings": CABMeeting.select().count(),
        "releases": Release.select().count(),
        "cis": CI.select().count(),
        "relations": Relation.select().count(),
        "articles": Article.select().count(),
        "people": Person.select().count(),
        "teams": Team.select().count(),
        "journal_entries": JournalEntry.select().count(),
    }
