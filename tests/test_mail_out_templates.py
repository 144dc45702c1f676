"""Every mail template exists in every language, with the same placeholders, and renders."""

from __future__ import annotations

import string

from itsmdesk.resource_files import resources_dir
from itsmdesk.services.mail import templates


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_languages_have_the_same_events_and_placeholders():
    folder = resources_dir() / "mail-templates"
    events = {lang: sorted(p.stem for p in (folder / lang).glob("*.txt"))
              for lang in templates.LANGUAGES}
    assert events["en"] and all(found == events["en"] for found in events.values())
    for event in events["en"]:
        english = templates._load("en", event)
        for lang in templates.LANGUAGES:
            subject, body = templates._load(lang, event)
            assert _fields(subject) == _fields(english[0]), (lang, event)
            assert _fields(body) == _fields(english[1]), (lang, event)
            assert set(templates.WORDS[lang]) == set(templates.WORDS["en"])


def test_a_missing_value_leaves_the_placeholder_empty():
    subject, body = templates.render("resolved", "sv", {"ref": "INC-000001", "title": "VPN"})
    assert subject == "[INC-000001] Löst: VPN"
    assert "Lösning:\n\n" in body and "{" not in body
    assert templates.render("resolved", "xx", {"ref": "R"})[0].startswith("[R] Resolved")
