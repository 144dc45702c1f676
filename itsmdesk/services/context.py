"""Who is acting: every write names a person (or the system) and the site it came from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    person_id: uuid.UUID | None = None
    name: str = "system"
    site: str = ""

    @classmethod
    def for_person(cls, person, site: str = "") -> Actor:  # noqa: ANN001 - a Person row
        return cls(person.id, person.name, site)


SYSTEM = Actor()


_workstation_site = ""


def set_site(code: str) -> None:
    """This process's site code (``ITSMDESK_SITE``): writes by actors without a site of their
    own draw references from it (``INC-OSL-000001``) and journal it as where they came from."""
    global _workstation_site
    _workstation_site = (code or "").strip().upper()


def current_site() -> str:
    return _workstation_site
