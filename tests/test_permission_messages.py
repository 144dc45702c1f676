"""A refusal is one sentence in one language: the action and the role named inside "X may not
...: that needs the role Y" are translated along with the sentence (errors.Phrase)."""

from __future__ import annotations

import os
import subprocess
import sys

from itsmdesk import i18n
from itsmdesk.errors import PermissionDeniedError
from itsmdesk.services import permissions
from itsmdesk.services.context import Actor

PASSWORD = "a long password"


def test_every_action_and_role_is_marked_for_translation():
    from tools.translations import collect_templates

    marked = set(collect_templates())
    for action, (_roles, what) in permissions.RULES.items():
        assert what in marked, action
    for role, name in permissions.ROLE_NAMES.items():
        assert name in marked, role


def test_phrases_inside_the_sentence_go_through_the_catalogue(monkeypatch):
    catalogue = {
        "{who} may not {what}: that needs the role {role_name}.":
            "{who} får inte {what}: det kräver rollen {role_name}.",
        "edit configuration items and their relations":
            "redigera konfigurationsobjekt och deras relationer",
        "CMDB owner": "CMDB-ägare",
    }
    monkeypatch.setattr(i18n, "translate", lambda _context, text: catalogue.get(text, text))
    requester = Actor(None, "Ann", roles=frozenset({"requester"}))
    try:
        permissions.require(requester, "ci.edit")
    except PermissionDeniedError as error:
        refused = error
    assert str(refused) == ("Ann may not edit configuration items and their relations: that "
                            "needs the role CMDB owner.")  # English stays English
    assert i18n.error_text(refused) == ("Ann får inte redigera konfigurationsobjekt och deras "
                                        "relationer: det kräver rollen CMDB-ägare.")


def _run(url: str, *args: str, lang: str = "sv_SE") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "ITSMDESK_DB",
                        "ITSMDESK_USER")}
    env.update(ITSMDESK_LANG=lang, ITSMDESK_PASSWORD=PASSWORD, ITSMDESK_NEW_PASSWORD=PASSWORD)
    return subprocess.run([sys.executable, "-m", "itsmdesk", "--db", url, *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_refused_cli_write_is_a_swedish_sentence(tmp_path):
    """Needs the Swedish catalogue compiled with these texts (tools/translations.py)."""
    url = f"sqlite:///{tmp_path / 'sv.db'}"
    assert _run(url, "init", "--admin", "boss").returncode == 0
    done = _run(url, "--user", "boss", "people", "add", "ann", "--name", "Ann Andersson",
                "--role", "requester")
    assert done.returncode == 0, done.stderr
    refused = _run(url, "--user", "ann", "people", "add", "carl", "--name", "Carl",
                   "--role", "agent")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "itsmdesk: fel: Ann Andersson får inte hantera personer, deras roller och lösenord: "
        "det kräver rollen administratör.")
    english = _run(url, "--user", "ann", "people", "add", "carl", "--name", "Carl",
                   "--role", "agent", lang="en_US")
    assert english.stderr.strip() == (
        "itsmdesk: error: Ann Andersson may not manage people, their roles and passwords: "
        "that needs the role administrator.")
