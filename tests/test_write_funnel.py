"""Every write goes through the funnel (services/records.py, with services/bulk.py its bulk half).

Two proofs.  Statically: no module outside the funnel calls a model's write methods or runs an
INSERT/UPDATE/DELETE of its own.  At run time: while the small demo is built and a CSV import
and a mapped import run, every INSERT, UPDATE or DELETE that reaches the database is issued from
the funnel's code (the first itsmdesk frame on the stack is records or bulk).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "itsmdesk"
FUNNEL = {"itsmdesk/services/records.py", "itsmdesk/services/bulk.py",
          "itsmdesk/services/replay.py"}  # replay applies journal rows: the funnel's inverse
# The schema's own code (migrations, triggers, the graph index) is not a write of data.
SCHEMA = ("itsmdesk/models/",)
WRITE_METHODS = {"create", "insert", "insert_many", "insert_from", "update", "delete", "replace",
                 "replace_many", "bulk_create", "bulk_update", "get_or_create", "save",
                 "delete_instance", "delete_by_id", "set_by_id"}
WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _model_names() -> set[str]:
    from itsmdesk.models import ALL_MODELS
    from itsmdesk.models.base import RefCounter, SchemaInfo, Setting

    return {m.__name__ for m in ALL_MODELS} | {"RefCounter", "Setting", "SchemaInfo"} | {
        RefCounter.__name__, Setting.__name__, SchemaInfo.__name__}


def _sources() -> list[Path]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel in FUNNEL or rel.startswith(SCHEMA):
            continue
        out.append(path)
    return out


def _literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values
                       if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return ""


def _violations(path: Path, models: set[str], root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(root.parent).as_posix()
    qt_free = rel.startswith(("itsmdesk/services/", "itsmdesk/demo/"))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method, target = node.func.attr, node.func.value
        where = f"{rel}:{node.lineno}"
        if method in WRITE_METHODS and isinstance(target, ast.Name) and target.id in models:
            out.append(f"{where} {target.id}.{method}()")
        elif method in ("save", "delete_instance") and qt_free:
            out.append(f"{where} .{method}()")
        elif method in ("execute_sql", "execute", "executemany") and node.args \
                and WRITE_SQL.match(_literal_text(node.args[0])):
            out.append(f"{where} {method}({_literal_text(node.args[0])[:40]!r})")
    return out


def test_no_module_writes_around_the_funnel():
    models = _model_names()
    found = [v for path in _sources() for v in _violations(path, models)]
    assert found == []


def test_the_check_catches_a_write_around_the_funnel(tmp_path):
    """The static check is not vacuous: each kind of bypass is found."""
    sample = tmp_path / "itsmdesk" / "services" / "sneaky.py"
    sample.parent.mkdir(parents=True)
    sample.write_text(
        "def f(db, row):\n"
        "    Incident.update(title='x').where(Incident.id == 1).execute()\n"
        "    WorkLog.create(text='x')\n"
        "    row.save()\n"
        "    db.execute_sql('DELETE FROM journal')\n"
        "    db.execute_sql(f'INSERT INTO {t} VALUES (1)')\n")
    found = _violations(sample, _model_names(), tmp_path / "itsmdesk")
    assert len(found) == 5


class _WriteWatch:
    """Records every INSERT/UPDATE/DELETE peewee sends, with the first itsmdesk module on the
    stack that issued it."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.inside = 0

    def __call__(self, sql: str) -> None:
        if not WRITE_SQL.match(sql or ""):
            return
        frame = sys._getframe(1)
        while frame is not None:
            name = frame.f_globals.get("__name__", "")
            if name.startswith("itsmdesk."):
                break
            frame = frame.f_back
        module = frame.f_globals.get("__name__", "") if frame else "?"
        if module in ("itsmdesk.services.records", "itsmdesk.services.bulk",
                      "itsmdesk.services.replay") or module.startswith("itsmdesk.models"):
            self.inside += 1
        else:
            self.outside.append(f"{module}:{frame.f_lineno if frame else '?'} {sql[:60]}")


def _text(sql) -> str:  # noqa: ANN001 - str, bytes (psycopg2's execute_values) or Composed
    if isinstance(sql, bytes):
        return sql.decode("utf-8", "replace")
    return sql if isinstance(sql, str) else str(sql)


class _Cursor:
    """A DB-API cursor that tells the watch what it executes (peewee's own queries and the
    raw cursors bulk writers use both come through ``Database.cursor()``)."""

    def __init__(self, cursor, seen: _WriteWatch) -> None:  # noqa: ANN001
        self._cursor, self._seen = cursor, seen

    def execute(self, sql, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        self._seen(_text(sql))
        return self._cursor.execute(sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        self._seen(_text(sql))
        return self._cursor.executemany(sql, *args, **kwargs)

    def __getattr__(self, name):  # noqa: ANN001, ANN204
        return getattr(self._cursor, name)

    def __iter__(self):  # noqa: ANN204
        return iter(self._cursor)


@pytest.fixture
def watch(monkeypatch):
    import peewee

    seen = _WriteWatch()
    original = peewee.Database.cursor

    def cursor(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        return _Cursor(original(self, *args, **kwargs), seen)

    monkeypatch.setattr(peewee.Database, "cursor", cursor)
    return seen


def test_every_write_of_the_demo_and_the_imports_comes_from_the_funnel(db, watch, tmp_path):
    from itsmdesk.demo import builder
    from itsmdesk.services.cmdb.csv_io import import_csv
    from itsmdesk.services.importing.mapped import run_import

    builder.generate("small", 3)
    cis = tmp_path / "cis.csv"
    cis.write_text("name,class,status,site\nnew-app,application,in_production,\n"
                   "new-db,database,in_production,\n")
    import_csv("cis", cis)
    rels = tmp_path / "rels.csv"
    rels.write_text("source,type,target\nnew-app,depends_on,new-db\n")
    import_csv("relations", rels)
    fixture = Path(__file__).parent / "fixtures"
    log = next(fixture.rglob("*eventlog*.csv"), None)
    mapping = Path(__file__).resolve().parent.parent / "resources" / "import-maps" / \
        "servicenow-eventlog.toml"
    if log is not None:
        run_import("incidents", log, mapping)
    assert watch.inside > 100
    assert watch.outside == []
