"""Mail templates per language: ``resources/mail-templates/<language>/<event>.txt``.

A template's first line is ``Subject: ...``, then a blank line, then the body; ``{name}``-style
placeholders are filled from the values given (a placeholder with no value stays empty rather
than failing, so a template may be edited without breaking a mail).  A person is mailed in
``person.language`` when it is one of :data:`LANGUAGES`, else in the organisation setting
``mail.language``, else in English.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from itsmdesk.resource_files import resources_dir

LANGUAGES = ("en", "sv")
LANGUAGE_SETTING = "mail.language"

# Short words the code puts into templates (a word per language, like the templates).
WORDS: dict[str, dict[str, str]] = {
    "en": {"updated": "Updated: ", "outage": "Planned outage", "change": "Change with an outage",
           "notice": "Announcement", "unassigned": "nobody yet", "no_team": "no team"},
    "sv": {"updated": "Uppdaterat: ", "outage": "Planerat avbrott",
           "change": "Ändring med avbrott", "notice": "Meddelande", "unassigned": "ingen ännu",
           "no_team": "inget team"},
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@functools.lru_cache(maxsize=64)
def _load(language: str, event: str) -> tuple[str, str]:
    path = resources_dir() / "mail-templates" / language / f"{event}.txt"
    text = path.read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"{path}: the first line must be 'Subject: ...'")
    return first[len("Subject:"):].strip(), body.lstrip("\n")


def language_for(person: Any = None) -> str:
    """The language to mail ``person`` (a Person row or None) in."""
    own = (getattr(person, "language", None) or "").strip().lower()[:2]
    if own in LANGUAGES:
        return own
    from itsmdesk.services import records

    default = (records.get_setting(LANGUAGE_SETTING) or "en").strip().lower()[:2]
    return default if default in LANGUAGES else "en"


def word(language: str, key: str) -> str:
    return WORDS.get(language, WORDS["en"])[key]


def render(event: str, language: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of ``event`` in ``language`` (English when there is no such language)."""
    language = language if language in LANGUAGES else "en"
    subject, body = _load(language, event)
    filled = _Blank({k: "" if v is None else v for k, v in values.items()})
    return subject.format_map(filled), body.format_map(filled)
