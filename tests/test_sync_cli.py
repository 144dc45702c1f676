"""The sync commands: ``replica create``, ``replica status``, ``sync``, ``replica conflicts``."""

from __future__ import annotations

import pytest

from itsmdesk.cli import main
from itsmdesk.services.context import current_site, set_site


@pytest.fixture(autouse=True)
def _no_site():
    set_site("")
    yield
    set_site("")


def test_replica_create_sync_and_status(tmp_path, capsys):
    from itsmdesk.models.base import db as proxy
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.services.session import open_database

    hub = f"sqlite:///{tmp_path / 'hub.db'}"
    replica = f"sqlite:///{tmp_path / 'osl.db'}"
    assert main(["--db", hub, "init"]) == 0
    assert main(["replica", "create", "--from", hub, "--site", "osl",
                 str(tmp_path / "osl.db")]) == 0
    out = capsys.readouterr().out
    assert "for site OSL" in out and "INC-OSL-000001" in out
    # a second replica into the same file is refused with a sentence
    assert main(["replica", "create", "--from", hub, "--site", "osl",
                 str(tmp_path / "osl.db")]) == 2
    assert "already a file" in capsys.readouterr().err

    database, _info = open_database(replica)  # opening a replica takes its site
    assert current_site() == "OSL"
    assert incidents.create_incident({"title": "made offline"}).ref == "INC-OSL-000001"
    database.close()
    proxy.initialize(None)

    assert main(["--db", replica, "sync"]) == 0
    assert "sent 1 change(s)" in capsys.readouterr().out
    assert main(["--db", replica, "replica", "status"]) == 0
    out = capsys.readouterr().out
    assert "replica of sqlite:///" in out and "last synced:" in out and ": 0" in out
    assert "scope: the whole hub" in out
    assert main(["--db", hub, "list", "incidents"]) == 0
    assert "INC-OSL-000001" in capsys.readouterr().out
    assert main(["--db", replica, "check"]) == 0
    assert main(["--db", replica, "replica", "conflicts"]) == 0
    assert "(none)" in capsys.readouterr().out
    assert main(["--db", hub, "sync"]) == 2  # the hub is not a replica
    assert "not a replica" in capsys.readouterr().err


def test_replica_status_of_a_scoped_replica_names_its_scope(tmp_path, capsys):
    import json

    from itsmdesk.models.base import db as proxy
    from itsmdesk.services import people
    from itsmdesk.services.session import open_database

    hub = f"sqlite:///{tmp_path / 'hub.db'}"
    replica = f"sqlite:///{tmp_path / 'osl.db'}"
    assert main(["--db", hub, "init"]) == 0
    database, _info = open_database(hub)
    people.create_site({"name": "Oslo", "code": "OSL"})
    database.close()
    proxy.initialize(None)
    assert main(["replica", "create", "--from", hub, "--site", "osl", "--scope", "site=OSL",
                 str(tmp_path / "osl.db")]) == 0
    assert "scope: site=OSL" in capsys.readouterr().out
    assert main(["--db", replica, "replica", "status"]) == 0
    out = capsys.readouterr().out
    assert "for site OSL" in out and "scope: site=OSL\n" in out and "whole hub" not in out
    assert main(["--db", replica, "replica", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scope"] == "site=OSL"
