"""Every database operation a widget asks for names its owner widget: a widget closed (or a
window torn down) while its read is on the wire must not be called back with the answer (Qt
has deleted it: "Internal C++ object already deleted").  A static scan of ``itsmdesk/views``."""

from __future__ import annotations

import re
from pathlib import Path

VIEWS = Path(__file__).resolve().parent.parent / "itsmdesk" / "views"
CALL = re.compile(r"\bctx\.(query|write|worker\.submit)\(")


def _calls(text: str):
    for m in CALL.finditer(text):
        i, depth = m.end(), 1
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield text.count("\n", 0, m.start()) + 1, m.group(1), text[m.start():i]


def test_every_operation_of_a_view_names_its_owner():
    missing = [f"{path.relative_to(VIEWS.parent.parent)}:{line} ({kind})"
               for path in sorted(VIEWS.rglob("*.py"))
               for line, kind, call in _calls(path.read_text(encoding="utf-8"))
               if "owner=" not in call or kind == "worker.submit"]
    assert missing == [], "operations without an owner (or through the old ctx.worker.submit):\n" \
        + "\n".join(missing)


def test_the_scan_sees_a_call_without_an_owner():
    text = "x = 1\nself.ctx.query(fn, a,\n               on_done=self._show)\n"
    assert [(line, kind) for line, kind, call in _calls(text) if "owner=" not in call] == \
        [(2, "query")]
