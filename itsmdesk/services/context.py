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
