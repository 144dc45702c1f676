"""The mail commands: rules, import (twice: once taken), the unmatched queue, setup with a
connection test against a real IMAP server, fetch; errors as one sentence."""

from __future__ import annotations

import json

from itsmdesk.cli import main
from tests.conftest import FIXTURES
from tests.mail_helpers import PASSWORD, USER, Dovecot

MAIL = FIXTURES / "mail"


def run(capsys, *args):  # noqa: ANN001, ANN002, ANN201
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_mail_commands(capsys, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'mail.db'}"
    assert run(capsys, "--db", url, "init")[0] == 0
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"match": "from", "value": "@example.com", "kind": "incident"}]))
    code, out, _ = run(capsys, "--db", url, "mail", "rules", "--set", str(rules))
    assert code == 0 and json.loads(out)[0]["value"] == "@example.com"
    code, out, err = run(capsys, "--db", url, "mail", "import", str(MAIL / "new_plain.eml"),
                         str(MAIL / "bounce.eml"), "--json")
    assert code == 0, err
    assert [(r["status"], r["ticket"]) for r in json.loads(out)] == [("ticket", "INC-000001"),
                                                                      ("ignored", "")]
    code, out, _ = run(capsys, "--db", url, "mail", "import", str(MAIL / "new_plain.eml"),
                       "--json")
    assert json.loads(out)[0]["status"] == "ticket (already taken)"
    code, _out, err = run(capsys, "--db", url, "mail", "import", str(tmp_path / "x.txt"))
    assert code == 2 and "x.txt is not a mail file (.eml or .msg)" in err
    code, _out, err = run(capsys, "--db", url, "mail", "fetch")
    assert code == 2 and "No IMAP mailbox is set up" in err

    server = Dovecot(tmp_path / "imap").start()
    try:
        server.append((MAIL / "latin1.eml").read_bytes())
        monkeypatch.setenv("ITSMDESK_MAIL_PASSWORD", PASSWORD)
        code, out, err = run(capsys, "--db", url, "mail", "setup", "--host", "127.0.0.1",
                             "--port", str(server.port), "--security", "none", "--login", USER,
                             "--test")
        assert code == 0, err
        assert "connected: 1 mails in INBOX" in out
        code, out, err = run(capsys, "--db", url, "mail", "fetch", "--json")
        assert code == 0, err
        assert json.loads(out)["results"][0]["ticket"] == "INC-000002"
    finally:
        server.stop()
    code, out, _ = run(capsys, "--db", url, "mail", "unmatched", "--json")
    assert json.loads(out) == []
