"""Refresh the translation sources and compile them.

    python tools/translations.py

1. Collects the service layer's message templates (``N_("...")`` in itsmdesk/) into a generated
   file of ``QCoreApplication.translate("errors", ...)`` calls, so lupdate sees them: services
   stay free of Qt, yet every message a person reads can be translated.
2. Runs ``pyside6-lupdate`` over the views, the reports (PDF and calendar texts), the command line
   (``cli.py``, ``commands/``, i18n.py), the shared words (words.py) and that file, updating resources/translations/*.ts
   (English and Swedish); existing translations are kept.
3. Applies the Swedish glossary below to untranslated entries and compiles .qm files with
   ``pyside6-lrelease``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "translations"
GENERATED = OUT / "_service_messages.py"

SWEDISH = {
    "&File": "&Arkiv", "&Records": "&Poster", "&View": "&Visa", "Re&ports": "Rap&porter",
    "&Tools": "&Verktyg", "&Help": "&Hjälp", "&Quit": "&Avsluta", "Close tab": "Stäng flik",
    "&About itsmdesk": "&Om itsmdesk", "About itsmdesk": "Om itsmdesk", "Reset layout": "Återställ layout",
    "Welcome": "Välkommen", "Connected": "Ansluten", "Disconnected": "Frånkopplad",
    "SQLite file": "SQLite-fil", "PostgreSQL": "PostgreSQL",
    "Ticket queues": "Ärendeköer", "CMDB": "CMDB", "Change calendar": "Ändringskalender",
    "Announcements": "Meddelanden", "Knowledge search": "Kunskapssök",
    "Problems and known errors": "Problem och kända fel", "Trends dashboard": "Trender",
    "Availability": "Tillgänglighet", "Releases": "Releaser", "Changes and CAB": "Ändringar och CAB",
    "My open": "Mina öppna", "My team": "Mitt team", "Unassigned": "Ej tilldelade",
    "SLA at risk": "SLA i fara", "Breached": "Bruten SLA", "All open": "Alla öppna",
    "Resolved recently": "Nyligen lösta", "All tickets": "Alla ärenden", "New ticket": "Nytt ärende",
    "Save": "Spara", "Cancel": "Avbryt", "Close": "Stäng", "Title": "Rubrik", "Status": "Status",
    "Priority": "Prioritet", "Description": "Beskrivning", "Category": "Kategori",
    "Team": "Team", "Assignee": "Handläggare", "Caller": "Anmälare", "Impact": "Påverkan",
    "Urgency": "Brådska", "Reference": "Referens", "Name": "Namn", "Class": "Klass",
    "Site": "Plats", "Version": "Version", "History": "Historik", "Work log": "Arbetslogg",
    "Attachments": "Bilagor", "Resolve": "Lös", "Reopen": "Återöppna", "Export": "Exportera",
    "Import…": "Importera…", "Search": "Sök", "Filter": "Filter", "Today": "Idag",
    "Month": "Månad", "Week": "Vecka", "Day": "Dag", "Timeline": "Tidslinje", "Undo": "Ångra",
    "Redo": "Gör om", "Risk": "Risk", "Conflicts": "Konflikter", "Approve": "Godkänn",
    "Reject": "Avslå", "Abstain": "Avstår", "Problem": "Problem", "Known error": "Känt fel",
    "Change": "Ändring", "Release": "Release", "Incident": "Incident", "Article": "Artikel",
    "Title is required": "Rubrik krävs",
    "Unexpected error: {error}": "Oväntat fel: {error}",
    "work on the demo database (built on first use): the GUI, or any command":
        "arbeta i demodatabasen (byggs första gången): det grafiska gränssnittet eller "
        "vilket kommando som helst",
    "building the demo database {db} (once)…": "bygger demodatabasen {db} (en gång)…",
    "mapping for another tool's export: a file, or the name of a ready one (itsmdesk mappings "
    "lists them)": "mappning för ett annat verktygs export: en fil eller namnet på en färdig "
                   "(itsmdesk mappings listar dem)",
    "the ready import mappings for other tools' exports":
        "de färdiga importmappningarna för andra verktygs exporter",
    "as JSON": "som JSON",
    "No ready mappings are installed.": "Inga färdiga mappningar är installerade.",
    "Use one with: itsmdesk import KIND FILE --map NAME":
        "Använd en med: itsmdesk import TYP FIL --map NAMN",
    "Opening the database…": "Öppnar databasen…",
    "{reason} Organisation settings show their defaults.":
        "{reason} Organisationens inställningar visar sina standardvärden.",
    "Importing {kind} needs a mapping: add --map MAPPING.toml or the name of a ready one "
    "(itsmdesk mappings lists them)": "Import av {kind} kräver en mappning: lägg till --map "
                                      "MAPPNING.toml eller namnet på en färdig (itsmdesk "
                                      "mappings listar dem)",
    "There is no database at {path}. Create one with 'itsmdesk --db {url} init', or try the "
    "demo with 'itsmdesk --demo ...'.": "Det finns ingen databas i {path}. Skapa en med "
                                        "'itsmdesk --db {url} init', eller prova demon med "
                                        "'itsmdesk --demo ...'.",
}


GLOSSARY_FILE = Path(__file__).resolve().parent / "sv_glossary.tsv"


def _glossary_file() -> dict[str, str]:
    """More of the glossary: ``tools/sv_glossary.tsv``, one "English<TAB>Swedish" per line
    (easier to append to than the dict above; a line without a tab is ignored; ``\\n`` stands for
    a line break)."""
    out: dict[str, str] = {}
    if GLOSSARY_FILE.exists():
        for line in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines():
            english, tab, swedish = line.partition("\t")
            if tab and english and swedish:
                out[english.replace("\\n", "\n")] = swedish.replace("\\n", "\n")
    return out


SWEDISH.update(_glossary_file())


def collect_templates() -> list[str]:
    found: set[str] = set()
    for path in (ROOT / "itsmdesk").rglob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return sorted(found)


def write_generated(templates: list[str]) -> None:
    lines = ['"""Generated by tools/translations.py: service messages for lupdate. Do not edit."""',
             "from PySide6.QtCore import QCoreApplication", ""]
    lines += [f'QCoreApplication.translate("errors", {t!r})' for t in templates]
    GENERATED.write_text("\n".join(lines) + "\n", encoding="utf-8")


def apply_glossary(ts_file: Path, glossary: dict[str, str]) -> int:
    tree = ET.parse(ts_file)
    filled = 0
    for message in tree.iter("message"):
        source = message.findtext("source")
        translation = message.find("translation")
        if translation is None or source is None:
            continue
        if translation.get("type") == "unfinished" and source in glossary:
            forms = translation.findall("numerusform")
            if forms:  # a plural message: the same text in every form Swedish has
                for form in forms:
                    form.text = glossary[source]
            else:
                translation.text = glossary[source]
            del translation.attrib["type"]
            filled += 1
    tree.write(ts_file, encoding="utf-8", xml_declaration=True)
    return filled


def harvest(ts_file: Path) -> dict[str, str]:
    """source -> finished translation from an existing .ts file (any context)."""
    if not ts_file.exists():
        return {}
    found: dict[str, str] = {}
    for message in ET.parse(ts_file).iter("message"):
        source = message.findtext("source")
        translation = message.find("translation")
        if (source and translation is not None and translation.text
                and translation.get("type") not in ("unfinished", "vanished", "obsolete")
                and message.get("numerus") != "yes"):
            found.setdefault(source, translation.text)
    return found


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    write_generated(collect_templates())
    sources = [str(p) for p in sorted((ROOT / "itsmdesk").rglob("*.py"))
               if "/views/" in str(p) or "/reports/" in str(p) or "/commands/" in str(p)
               or p.relative_to(ROOT / "itsmdesk").as_posix() in ("app.py", "cli.py", "i18n.py", "words.py")]
    sources += [str(GENERATED)]
    for lang in ("en", "sv"):
        ts = OUT / f"itsmdesk_{lang}.ts"
        known = harvest(ts)  # strings that moved to another context keep their translation
        subprocess.run(["pyside6-lupdate", *sources, "-ts", str(ts), "-target-language", lang,
                        "-no-obsolete", "-silent"], check=True)
        if lang == "sv":
            print(f"sv: {apply_glossary(ts, known)} entries kept from the previous file, "
                  f"{apply_glossary(ts, SWEDISH)} filled from the glossary")
        subprocess.run(["pyside6-lrelease", "-silent", str(ts), "-qm", str(OUT / f"itsmdesk_{lang}.qm")],
                       check=True)
    GENERATED.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
