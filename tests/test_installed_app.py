"""The installed app is the tested app.

Everything else in this suite imports itsmdesk from the checkout, where ``resources/`` sits next
to the package.  Here the wheel is built, installed into a fresh virtual environment, and its
``itsmdesk`` command is run from an empty folder with no ``PYTHONPATH``: what a person gets
from ``pip install .``.  It must speak Swedish (help, errors and PDFs), render a PDF, and list
the ready import mappings and use one by name.

The virtual environment borrows this interpreter's packages (``--system-site-packages``: PySide6
alone is 200 MB) but has its own itsmdesk, which comes first on its path; the test checks that
the one it runs is the installed copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
UCI = ROOT / "tests" / "fixtures" / "import" / "uci_eventlog_sample.csv"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("installed")
    source = work / "source"  # a copy: building must not leave build/ or egg-info in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".venv*", "bench"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(work / "dist"), str(source)], capture_output=True, text=True)
    if built.returncode != 0:
        _unavailable(f"the wheel could not be built: {built.stderr.strip()[-400:]}")
    [wheel] = (work / "dist").glob("itsmdesk-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--force-reinstall", str(wheel)], check=True, capture_output=True)
    home = work / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "ITSMDESK_DB", "ITSMDESK_LANG", "ITSMDESK_SITE")}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    cwd = work / "elsewhere"
    cwd.mkdir()
    return {"bin": venv / "bin", "python": python, "env": env, "cwd": cwd, "wheel": wheel}


def run(installed, *args: str, lang: str | None = None, check: bool = True):
    env = dict(installed["env"])
    if lang:
        env["ITSMDESK_LANG"] = lang
    done = subprocess.run([str(installed["bin"] / "itsmdesk"), *args], cwd=installed["cwd"],
                          env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_the_command_runs_the_installed_copy_not_the_checkout(installed):
    where = subprocess.run([str(installed["python"]), "-c", "import itsmdesk; print(itsmdesk.__file__)"],
                           cwd=installed["cwd"], env=installed["env"], capture_output=True,
                           text=True, check=True).stdout.strip()
    assert where.startswith(str(installed["bin"].parent)) and not where.startswith(str(ROOT))
    assert run(installed, "--version").stdout.strip().startswith("itsmdesk ")


def test_the_wheel_carries_the_translations_and_mappings(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert "itsmdesk/resources/translations/itsmdesk_sv.qm" in names
    assert {"itsmdesk/resources/import-maps/servicenow-incidents.toml",
            "itsmdesk/resources/import-maps/servicenow-eventlog.toml",
            "itsmdesk/resources/import-maps/itop-cis.toml",
            "itsmdesk/resources/import-maps/hpsm-incidents.toml",
            "itsmdesk/resources/import-maps/hpsm-changes.toml",
            "itsmdesk/resources/import-maps/hpsm-interactions.toml"} <= names


def test_swedish_help_and_errors(installed):
    help_text = run(installed, "--help", lang="sv_SE").stdout
    assert help_text.startswith("användning: itsmdesk") and "positionsargument" in help_text
    missing = run(installed, "--db", f"sqlite:///{installed['cwd'] / 'none.db'}", "stats",
                  lang="sv_SE", check=False)
    assert missing.returncode == 2 and "Det finns ingen databas" in missing.stderr
    assert not (installed["cwd"] / "none.db").exists()  # said, not created


def test_the_ready_mappings_are_listed_and_used_by_name(installed):
    listed = json.loads(run(installed, "mappings", "--json").stdout)
    assert {m["name"] for m in listed} >= {"servicenow-incidents", "servicenow-eventlog",
                                           "itop-cis"}
    db = f"sqlite:///{installed['cwd'] / 'imported.db'}"
    run(installed, "--db", db, "import", "incidents", str(UCI), "--map", "servicenow-eventlog",
        "--quiet")
    counts = json.loads(run(installed, "--db", db, "stats").stdout)
    assert counts["incidents"] > 0


def test_a_swedish_pdf_from_the_demo(installed):
    from pypdf import PdfReader

    pdf = installed["cwd"] / "pack.pdf"
    run(installed, "--demo", "report", "cab-pack", "--meeting", "CAB-000001", "-o", str(pdf),
        lang="sv_SE")
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "CAB-000001" in text and "Dagordning" in text
