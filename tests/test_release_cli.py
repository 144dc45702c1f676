"""``itsmdesk releases show|transition|deploy-wave`` and ``report release-plan``."""

import json

from pypdf import PdfReader

from itsmdesk.cli import main
from itsmdesk.models.cmdb import CI
from itsmdesk.models.release import Release
from itsmdesk.services.release import plan as release_plan
from tests.release_helpers import build_release, set_change_status


def test_cli_show_transition_deploy(sqlite_db, capsys, tmp_path):
    made = build_release(n_sites=1)
    ref = made["release"].ref
    url = sqlite_db.url
    assert main(["--db", url, "releases", "show", ref, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ref"] == ref and data["status"] == "planning"
    assert [p["name"] for p in data["plan"]][:3] == ["Build and test", "Build", "Test"]

    for status in ("build", "test", "approved"):
        assert main(["--db", url, "releases", "transition", ref, status]) == 0
    assert "test -> approved" in capsys.readouterr().out
    set_change_status(made["changes"][0], "submitted")
    release_plan.set_step_status(made["build"].id, "done")
    release_plan.set_step_status(made["test"].id, "done")
    assert main(["--db", url, "releases", "deploy-wave", ref, "Wave S0"]) == 2
    assert "not approved" in capsys.readouterr().err
    set_change_status(made["changes"][0], "approved")
    assert main(["--db", url, "releases", "deploy-wave", ref, "wave s0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["site"] == "S0" and len(out["updated"]) == 2
    assert out["release_status"] == "deployed"
    assert Release.get_by_id(made["release"].id).status == "deployed"
    assert {CI.get_by_id(c.id).ci_version for c in made["installed"]["S0"]} == {"5.0.0"}

    assert main(["--db", url, "releases", "transition", ref, "closed"]) == 2
    assert "cannot move from deployed to closed" in capsys.readouterr().err

    pdf = tmp_path / "r.pdf"
    assert main(["--db", url, "report", "release-plan", "--release", ref, "-o", str(pdf)]) == 0
    assert ref in PdfReader(str(pdf)).pages[0].extract_text()
    assert main(["--db", url, "releases", "show", "REL-999999"]) == 2
