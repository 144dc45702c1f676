"""Find any record by its reference (``INC-000123``, ``CHG-…``) or a CI by name."""

from __future__ import annotations

from typing import Any

from itsmdesk.errors import N_, NotFoundError
from itsmdesk.models import (
    CI,
    Article,
    CABMeeting,
    Change,
    Incident,
    Interaction,
    KnownError,
    Problem,
    Release,
)

# reference prefix -> model
PREFIXES = {"INC": Incident, "REQ": Incident, "PRB": Problem, "KE": KnownError, "CHG": Change,
            "REL": Release, "KB": Article, "CAB": CABMeeting, "INT": Interaction}


def find_by_reference(text: str) -> tuple[str, Any]:
    """(record kind, record) for a reference or a CI name; NotFoundError otherwise."""
    ref = (text or "").strip()
    prefix = ref.split("-", 1)[0].upper()
    model = PREFIXES.get(prefix)
    if model is not None:
        row = model.get_or_none(model.ref == ref.upper())
        if row is not None:
            return model.RECORD_KIND, row
    ci = CI.get_or_none(CI.name == ref)
    if ci is not None:
        return "ci", ci
    raise NotFoundError(N_("Nothing has the reference or name '{ref}'"), ref=ref)


def exists(kind: str, record_id: Any) -> bool:
    """Whether a record of ``kind`` with this id is there (a form checks before it creates a
    record a second time)."""
    from itsmdesk.services.history import _model_of

    model = _model_of(str(kind))
    if model is None or record_id is None:
        return False
    return model.select(model.id).where(model.id == record_id).exists()
