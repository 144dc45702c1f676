"""The CMDB's integer graph index (models/graph_index.py): every write path leaves each CI with a
unique gid and each relation with its ends' gids, on both back ends, and migration 4 builds the
index for a database that predates it."""

from __future__ import annotations

import uuid

import pytest

from itsmdesk.errors import ValidationError
from itsmdesk.models import graph_index
from itsmdesk.models.base import db as proxy
from itsmdesk.models.cmdb import CI, Relation
from itsmdesk.services import records
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb import impact
from itsmdesk.services.cmdb.csv_io import import_csv

HEALTHY = {"cis_without_gid": 0, "relations_with_stale_gids": 0}


def _gids() -> dict[str, int]:
    return {name: gid for name, gid in CI.select(CI.name, CI.gid).tuples()}


def _relation_gids() -> set[tuple[int, int]]:
    return set(Relation.select(Relation.source_gid, Relation.target_gid).tuples())


def _expected_relation_gids() -> set[tuple[int, int]]:
    gids = {cid: gid for cid, gid in CI.select(CI.id, CI.gid).tuples()}
    return {(gids[s], gids[t]) for s, t in Relation.select(Relation.source, Relation.target)
            .tuples()}


def _chain(names: list[str]) -> None:
    for name in names:
        cmdb.create_ci({"name": name, "ci_class": "server"})
    for upper, lower in zip(names[1:], names, strict=False):
        cmdb.create_relation(upper, "depends_on", lower)


def test_service_writes_number_cis_and_relations(db):
    _chain(["disk", "host", "app"])
    gids = _gids()
    assert all(isinstance(g, int) and g > 0 for g in gids.values())
    assert len(set(gids.values())) == 3
    assert _relation_gids() == {(gids["host"], gids["disk"]), (gids["app"], gids["host"])}
    assert graph_index.problems(proxy.obj) == HEALTHY


def test_gid_is_neither_journalled_nor_settable(db):
    ci = cmdb.create_ci({"name": "edge-fw", "ci_class": "server"})
    fields = {e.field for e in records.history("ci", ci.id)}
    assert "gid" not in fields and "name" in fields
    assert all("gid" not in (e.new or "") for e in records.JournalEntry.select().where(
        records.JournalEntry.record_id == ci.id))
    before = CI.get_by_id(ci.id).gid
    with pytest.raises(ValidationError, match="gid"):
        cmdb.update_ci(ci.id, ci.version, {"gid": 999})
    assert CI.get_by_id(ci.id).gid == before


def test_new_gid_follows_the_highest_even_after_deletes(db):
    _chain(["a", "b", "c"])
    top = max(_gids().values())
    CI.delete().where(CI.name == "c").execute()
    cmdb.create_ci({"name": "d", "ci_class": "server"})
    assert _gids()["d"] > max(g for n, g in _gids().items() if n != "d")
    assert _gids()["d"] not in {g for n, g in _gids().items() if n != "d"}
    assert _gids()["d"] >= top


def test_raw_inserts_and_endpoint_updates_keep_relation_gids(db):
    """Writers that bypass the services (a bulk load, a future sync) are covered by the
    database's own triggers."""
    _chain(["san", "vm", "web"])
    other = cmdb.create_ci({"name": "san-2", "ci_class": "server"})
    rel = Relation.get(Relation.type == "depends_on", Relation.target
                       == CI.get(CI.name == "san").id)
    Relation.update(target=other.id).where(Relation.id == rel.id).execute()
    gids = _gids()
    assert Relation.get_by_id(rel.id).target_gid == gids["san-2"]
    # a raw insert that gives no gids gets them
    Relation.insert(id=uuid.uuid4(), source=CI.get(CI.name == "web").id, target=other.id,
                    type="uses").execute()
    assert (gids["web"], gids["san-2"]) in _relation_gids()
    assert _relation_gids() == _expected_relation_gids()
    assert graph_index.problems(proxy.obj) == HEALTHY
    # and the impact walk sees the rewired graph
    down = {i.name for i in impact.impact([other.id])}
    assert down == {"san-2", "vm", "web"}


def test_csv_import_numbers_everything(db, tmp_path):
    cis = tmp_path / "cis.csv"
    cis.write_text("name,class,criticality\n" + "".join(
        f"node-{i:03d},server,medium\n" for i in range(120)))
    rels = tmp_path / "relations.csv"
    rels.write_text("source,type,target\n" + "".join(
        f"node-{i:03d},depends_on,node-{i - 1:03d}\n" for i in range(1, 120)))
    import_csv("cis", cis)
    import_csv("relations", rels)
    gids = _gids()
    assert len(gids) == 120 and len(set(gids.values())) == 120
    assert None not in gids.values()
    assert _relation_gids() == _expected_relation_gids()
    assert len(_relation_gids()) == 119
    assert graph_index.problems(proxy.obj) == HEALTHY
    assert len(impact.impact([CI.get(CI.name == "node-000").id])) == 120


def test_demo_data_is_indexed(demo_db):
    assert CI.select().where(CI.gid.is_null()).count() == 0
    assert graph_index.problems(proxy.obj) == HEALTHY
    assert Relation.select().count() > 0


def test_a_writer_that_gets_gids_wrong_is_found_and_repaired(db):
    """A bulk writer that supplies gids is trusted on insert (checking every row would cost an
    import a quarter of its time); the check finds a wrong one and the repair puts it right."""
    from itsmdesk.services import maintenance

    _chain(["x", "y", "z"])
    Relation.insert(id=uuid.uuid4(), source=CI.get(CI.name == "z").id,
                    target=CI.get(CI.name == "x").id, type="uses", source_gid=12345,
                    target_gid=54321).execute()
    proxy.obj.execute_sql("UPDATE ci SET gid = NULL WHERE name = 'y'")
    # PostgreSQL's trigger sets the gids on every insert, so only y's two relations are wrong
    stale = 3 if db.backend == "sqlite" else 2
    assert graph_index.problems(proxy.obj) == {"cis_without_gid": 1,
                                               "relations_with_stale_gids": stale}
    found = [str(p) for p in maintenance.check(db)]
    assert any("1 CI(s) without a graph index entry" in p for p in found), found
    assert any(f"{stale} relation(s)" in p for p in found), found
    assert maintenance.repair_graph_index() == HEALTHY
    assert _relation_gids() == _expected_relation_gids()
    assert not [p for p in maintenance.check(db) if "graph" in str(p)]
    assert {i.name for i in impact.impact([CI.get(CI.name == "x").id])} == {"x", "y", "z"}


# -- migration 4 on a database that predates the index --------------------------------------

def _strip_graph_index(database) -> None:  # noqa: ANN001
    """Turn a current database back into schema 3: no gid columns, indexes or triggers."""
    import peewee as pw

    pg = isinstance(database, pw.PostgresqlDatabase)
    statements = [
        'DROP INDEX IF EXISTS "relation_target_gid_redundant_source_gid_type_propagates"',
        'DROP INDEX IF EXISTS "relation_redundant_members"',
        'DROP INDEX IF EXISTS "relation_target_id"',
        'DROP INDEX IF EXISTS "relation_source_gid_redundant_target_gid_type_propagates"',
        'DROP INDEX IF EXISTS "ci_gid"',
        "ALTER TABLE relation DROP COLUMN source_gid",
        "ALTER TABLE relation DROP COLUMN target_gid",
    ]
    if pg:
        statements += ["DROP TRIGGER IF EXISTS relation_gid_assign ON relation",
                       "ALTER TABLE ci DROP COLUMN gid"]
    else:
        statements = ["DROP TRIGGER IF EXISTS ci_gid_assign",
                      "DROP TRIGGER IF EXISTS relation_gid_assign",
                      "DROP TRIGGER IF EXISTS relation_gid_follow"] + statements + [
                      "ALTER TABLE ci DROP COLUMN gid"]
    # the old covering index the walk used before
    statements.append('CREATE INDEX "relation_target_id_propagates_source_id_type_redundant" '
                      "ON relation (target_id, propagates, source_id, type, redundant)")
    with database.atomic():
        for sql in statements:
            database.execute_sql(sql)
        database.execute_sql("UPDATE schema_info SET value = '3' WHERE key = 'schema_version'")


@pytest.fixture(params=["sqlite", "postgres"])
def scratch_url(request, tmp_path):
    """A database of its own (the migration test rewrites the schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = request.getfixturevalue("pg_url")
    import psycopg2

    name = f"itsmdesk_gidmig_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    if proxy.obj is not None:
        proxy.obj.close()
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def test_migration_builds_the_index_for_an_older_database(scratch_url):
    from itsmdesk.models.database import connect
    from itsmdesk.models.migrations import LATEST_VERSION, current_version, ensure_schema
    from itsmdesk.services.session import open_database

    database, _info = open_database(scratch_url)
    _strip_graph_index(database)
    assert "gid" not in {c.name for c in database.get_columns("ci")}
    # rows written by the older program: no gids anywhere
    cls = database.execute_sql("SELECT id FROM ci_class WHERE name = 'server'").fetchone()[0]
    ids = {}
    for name in ("pdu", "rack-host", "erp"):
        ids[name] = uuid.uuid4()
        key = str(ids[name]) if "postgres" in scratch_url else ids[name].hex
        database.execute_sql(
            "INSERT INTO ci (id, name, ci_class_id, status, criticality, attributes, version, "
            "created_at, updated_at) VALUES (%s, %s, %s, 'in_production', 'high', '{}', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)".replace(
                "%s", "%s" if "postgres" in scratch_url else "?"), (key, name, cls))
    for upper, lower in (("rack-host", "pdu"), ("erp", "rack-host")):
        database.execute_sql(
            "INSERT INTO relation (id, source_id, target_id, type, propagates, redundant, "
            "version, created_at, updated_at) VALUES (%s, %s, %s, 'runs_on', "
            "'target_to_source', %s, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)".replace(
                "%s", "%s" if "postgres" in scratch_url else "?"),
            tuple(str(v) if "postgres" in scratch_url else v.hex
                  for v in (uuid.uuid4(), ids[upper], ids[lower])) + (False,))
    database.close()

    database, info = connect(scratch_url)
    before, after = ensure_schema(database, info.path)
    assert (before, after) == (3, LATEST_VERSION) and current_version(database) == LATEST_VERSION
    assert graph_index.problems(database) == HEALTHY
    gids = _gids()
    assert len(set(gids.values())) == 3 and None not in gids.values()
    assert _relation_gids() == {(gids["rack-host"], gids["pdu"]), (gids["erp"], gids["rack-host"])}
    index_names = {i.name for i in database.get_indexes("relation")}
    assert "relation_target_gid_redundant_source_gid_type_propagates" in index_names
    assert "relation_redundant_members" in index_names
    assert "relation_target_id" in index_names
    assert "relation_target_id_propagates_source_id_type_redundant" not in index_names
    # the walk works on the migrated data, and new writes are numbered by the new triggers
    assert [i.name for i in impact.impact([ids["pdu"]])] == ["pdu", "rack-host", "erp"]
    cmdb.create_ci({"name": "ups", "ci_class": "server"})
    cmdb.create_relation("pdu", "depends_on", "ups")
    assert _gids()["ups"] > max(gids.values())
    assert graph_index.problems(database) == HEALTHY
    assert [i.name for i in impact.impact([CI.get(CI.name == "ups").id])] \
        == ["ups", "pdu", "rack-host", "erp"]
    # running the migration again changes nothing
    from itsmdesk.models.migrations import _m0004_graph_index

    with database.atomic():
        _m0004_graph_index(database)
    assert _gids() == {**gids, "ups": _gids()["ups"]}
    database.close()
