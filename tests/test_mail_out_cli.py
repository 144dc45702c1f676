"""``itsmdesk mail ...`` (outgoing side) through the real CLI entry point."""

from __future__ import annotations

import json

from mail_out_server import SmtpServer
from test_mail_out_outbox import configure

from itsmdesk.cli import main
from itsmdesk.services import people
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.servicedesk import announcements, incidents


def _run(capsys, url, *args):  # noqa: ANN001, ANN002, ANN202
    code = main(["--db", url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_subscribe_send_queued_outbox_and_test_smtp(sqlite_db, capsys):
    url = sqlite_db.url
    with SmtpServer() as server:
        code, _out, err = _run(capsys, url, "mail", "test-smtp")
        assert code == 2 and "No SMTP server is set: set mail.smtp.host first" in err
        configure(server.port)
        cmdb.ensure_standard_classes()
        cmdb.create_ci({"name": "Wiki", "ci_class": "business_service"})
        people.create_person({"name": "Ann", "email": "ann@example.org"})
        code, out, _err = _run(capsys, url, "mail", "subscribe", "Wiki", "ann@example.org")
        assert code == 0 and "Ann now follows Wiki" in out
        code, out, _err = _run(capsys, url, "mail", "subscribers", "Wiki", "--json")
        assert json.loads(out) == [{"name": "Ann", "email": "ann@example.org"}]
        code, out, _err = _run(capsys, url, "mail", "language", "Ann", "sv")
        assert code == 0
        announcements.create_announcement({"title": "Wiki move", "kind": "planned_outage"},
                                          [_wiki_id()])
        code, out, _err = _run(capsys, url, "mail", "outbox", "--json")
        [row] = json.loads(out)
        assert (row["status"], row["to"], row["event"]) == ("queued", "ann@example.org",
                                                           "announcement")
        code, out, _err = _run(capsys, url, "mail", "send-queued", "--now", "2099-01-01 00:00")
        assert code == 0 and "1 sent, 0 to retry, 0 failed" in out
        assert server.messages[0].message["Content-Language"] == "sv"
        code, out, _err = _run(capsys, url, "mail", "outbox", "--status", "sent", "--json")
        assert [r["to"] for r in json.loads(out)] == ["ann@example.org"]
        code, out, _err = _run(capsys, url, "mail", "test-smtp", "--to", "ops@example.org")
        assert code == 0 and "test mail sent to ops@example.org" in out
        assert server.messages[-1].rcpt_tos == ["ops@example.org"]
        incidents.create_incident({"title": "unrelated"})  # (no caller: nothing queued)
        code, out, _err = _run(capsys, url, "mail", "outbox", "--status", "queued", "--json")
        assert json.loads(out) == []


def _wiki_id():  # noqa: ANN202
    from itsmdesk.models.cmdb import CI

    return CI.get(CI.name == "Wiki").id
