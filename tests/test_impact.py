"""Impact analysis against an independent computation on generated graphs.

The reference below evaluates the documented rules directly (synchronous failure rounds over the
whole graph, every node re-checked each round), so it shares no code with the batched walk in
``itsmdesk.services.cmdb.impact``.
"""

from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itsmdesk.models.cmdb import CI, CIClass, Relation
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb import impact

PROPAGATIONS = ("target_to_source", "target_to_source", "target_to_source", "both",
                "source_to_target", "none")


def reference(nodes: dict, edges: list, seeds: list, direction: str = "down",
              depth: int | None = None, redundancy: bool = True) -> dict:
    """node -> depth.  nodes: id -> (k, status); edges: (src, tgt, type, propagates, redundant)."""
    flows = []  # (from, to, group-member relation?)
    for src, tgt, rtype, prop, red in edges:
        if prop in ("target_to_source", "both"):
            flows.append((tgt, src, red, rtype))
        if prop in ("source_to_target", "both"):
            flows.append((src, tgt, False, rtype))
    if direction == "up":
        flows = [(b, a, False, t) for a, b, _g, t in flows]
    group_n = {}
    for _frm, to, grp, _t in flows:
        if grp:
            group_n[to] = group_n.get(to, 0) + 1
    failed = {s: 0 for s in seeds if s in nodes}
    rounds = 0
    while depth is None or rounds < depth:
        rounds += 1
        active = {u for u in failed if nodes[u][1] != "retired"}
        new = set()
        for v, (k, status) in nodes.items():
            if v in failed or status == "retired":
                continue
            use_group = redundancy and k is not None and direction == "down"
            lost = 0
            for frm, to, grp, _t in flows:
                if to != v or frm not in active:
                    continue
                if grp and use_group:
                    lost += 1
                else:
                    new.add(v)
            if use_group and v in group_n and lost > max(group_n[v] - k, 0):
                new.add(v)
        if not new:
            break
        for v in new:
            failed[v] = rounds
    return failed


def make_graph(rng: random.Random, n: int, m: int, redundancy_share: float = 0.4):
    nodes = {}
    for i in range(n):
        k = rng.choice([None, None, 1, 2]) if rng.random() < redundancy_share else None
        status = "retired" if rng.random() < 0.05 else "in_production"
        nodes[f"n{i}"] = (k, status)
    edges = {}
    names = list(nodes)
    for _ in range(m):
        a, b = rng.sample(names, 2)
        rtype = rng.choice(["depends_on", "runs_on", "uses"])
        edges[(a, rtype, b)] = (a, b, rtype, rng.choice(PROPAGATIONS), rng.random() < 0.5)
    return nodes, sorted(edges.values())


def load(nodes: dict, edges: list) -> dict[str, uuid.UUID]:
    Relation.delete().execute()
    CI.delete().execute()
    classes = {c.name: c.id for c in CIClass.select()}
    ids = {name: uuid.uuid4() for name in nodes}
    rows = []
    for i, (name, (k, status)) in enumerate(nodes.items()):
        cls = "business_service" if i % 7 == 0 else "application"
        rows.append({"id": ids[name], "name": name, "ci_class": classes[cls], "status": status,
                     "criticality": "high", "min_members_up": k})
    CI.insert_many(rows).execute()
    seen = set()
    rel_rows = []
    for src, tgt, rtype, prop, red in edges:
        if (src, rtype, tgt) in seen:
            continue
        seen.add((src, rtype, tgt))
        rel_rows.append({"id": uuid.uuid4(), "source": ids[src], "target": ids[tgt], "type": rtype,
                         "propagates": prop, "redundant": red})
    if rel_rows:
        Relation.insert_many(rel_rows).execute()
    return ids


def check(nodes, edges, ids, seeds, direction="down", depth=None, redundancy=True):
    expected = reference(nodes, edges, seeds, direction, depth, redundancy)
    got = impact.impact([ids[s] for s in seeds], direction, depth, redundancy)
    by_name = {i.name: i for i in got}
    assert {n: i.depth for n, i in by_name.items()} == expected
    for item in got:
        if item.depth:
            parent = next(i for i in got if i.ci_id == item.via)
            assert parent.depth == item.depth - 1
    return got


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_match_reference(db, seed):
    rng = random.Random(seed)
    nodes, edges = make_graph(rng, 40, 90)
    ids = load(nodes, edges)
    names = list(nodes)
    for _ in range(6):
        seeds = rng.sample(names, rng.choice([1, 1, 2, 3]))
        check(nodes, edges, ids, seeds)
        check(nodes, edges, ids, seeds, depth=rng.choice([1, 2, 3]))
        check(nodes, edges, ids, seeds, direction="up")
        check(nodes, edges, ids, seeds, redundancy=False)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_graphs(sqlite_db, data):
    n = data.draw(st.integers(2, 12))
    names = [f"n{i}" for i in range(n)]
    nodes = {name: (data.draw(st.sampled_from([None, 1, 2, 3])),
                    data.draw(st.sampled_from(["in_production"] * 5 + ["retired"])))
             for name in names}
    edges = data.draw(st.lists(st.tuples(
        st.sampled_from(names), st.sampled_from(names), st.sampled_from(["uses", "runs_on"]),
        st.sampled_from(PROPAGATIONS), st.booleans()).filter(lambda e: e[0] != e[1]),
        max_size=30, unique_by=lambda e: (e[0], e[2], e[1])))
    ids = load(nodes, edges)
    seeds = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    depth = data.draw(st.sampled_from([None, 1, 2, 4]))
    check(nodes, edges, ids, seeds, "down", depth)
    check(nodes, edges, ids, seeds, "up", depth)


def test_networkx_reachability_without_redundancy(sqlite_db):
    nx = pytest.importorskip("networkx")
    rng = random.Random(7)
    nodes, edges = make_graph(rng, 200, 500, redundancy_share=0.0)
    nodes = {k: (None, "in_production") for k in nodes}
    edges = [(a, b, t, "target_to_source", r) for a, b, t, _p, r in edges]
    ids = load(nodes, edges)
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((b, a) for a, b, *_ in edges)  # failure flows target -> source
    for start in rng.sample(list(nodes), 10):
        lengths = nx.single_source_shortest_path_length(graph, start)
        got = {i.name: i.depth for i in impact.impact([ids[start]])}
        assert got == lengths
        limited = {i.name: i.depth for i in impact.impact([ids[start]], depth=2)}
        assert limited == {k: v for k, v in lengths.items() if v <= 2}


def test_cluster_redundancy_and_services(db):
    cmdb.ensure_standard_classes()
    for name, cls in [("Payroll", "business_service"), ("payroll-app", "application"),
                      ("web1", "virtual_machine"), ("web2", "virtual_machine"),
                      ("web3", "virtual_machine"), ("pg-main", "database"), ("rack-a", "server")]:
        cmdb.create_ci({"name": name, "ci_class": cls, "criticality": "critical"
                        if cls == "business_service" else "medium"})
    cmdb.create_relation("Payroll", "uses", "payroll-app")
    for web in ("web1", "web2", "web3"):
        cmdb.create_relation("payroll-app", "runs_on", web, redundant=True)
    cmdb.create_relation("payroll-app", "depends_on", "pg-main")
    cmdb.create_relation("web1", "hosted_on", "rack-a")
    cmdb.create_relation("web2", "hosted_on", "rack-a")
    app = cmdb.get_ci_by_name("payroll-app")
    cmdb.update_ci(app.id, app.version, {"min_members_up": 2})

    def ids(*names):
        return [cmdb.get_ci_by_name(n).id for n in names]

    assert [i.name for i in impact.impacted_services(ids("web1"))] == []
    # two of three web servers down: fewer than 2 up -> the app and the service fail
    services = impact.impacted_services(ids("web1", "web2"))
    assert [(s.name, s.depth, s.criticality) for s in services] == [("Payroll", 2, "critical")]
    # the rack takes both web1 and web2 down
    down = {i.name: i.depth for i in impact.impact(ids("rack-a"))}
    assert down == {"rack-a": 0, "web1": 1, "web2": 1, "payroll-app": 2, "Payroll": 3}
    assert {i.name for i in impact.impact(ids("rack-a"), depth=1)} == {"rack-a", "web1", "web2"}
    # the database is a single point of failure
    assert [s.name for s in impact.impacted_services(ids("pg-main"))] == ["Payroll"]
    # ignoring redundancy every member is needed
    assert "Payroll" in {i.name for i in impact.impact(ids("web3"), redundancy=False)}
    # upstream: what Payroll needs, redundant members flagged
    up = {i.name: (i.depth, i.redundant) for i in impact.impact(ids("Payroll"), "up")}
    assert up["web1"] == (2, True) and up["pg-main"] == (2, False) and up["rack-a"][0] == 3
    # conflict helpers
    assert impact.in_impact_path(cmdb.get_ci_by_name("rack-a").id, cmdb.get_ci_by_name("Payroll").id)
    assert impact.in_impact_path(cmdb.get_ci_by_name("Payroll").id, cmdb.get_ci_by_name("rack-a").id)
    assert not impact.in_impact_path(cmdb.get_ci_by_name("web3").id, cmdb.get_ci_by_name("rack-a").id)
    assert not impact.impacts(ids("web3"), ids("Payroll"), redundancy=True)
    assert impact.impacts(ids("web3"), ids("Payroll"))
    assert impact.downstream_ids(ids("pg-main")) == set(ids("pg-main", "payroll-app", "Payroll"))
    assert impact.impact_overlap(ids("web1"), ids("Payroll", "pg-main")) == set(ids("Payroll"))


def test_cycles_terminate(db):
    cmdb.ensure_standard_classes()
    for name in ("a", "b", "c"):
        cmdb.create_ci({"name": name, "ci_class": "application"})
    cmdb.create_relation("a", "depends_on", "b")
    cmdb.create_relation("b", "depends_on", "c")
    cmdb.create_relation("c", "depends_on", "a")
    got = {i.name: i.depth for i in impact.impact([cmdb.get_ci_by_name("a").id])}
    assert got == {"a": 0, "c": 1, "b": 2}
    assert impact.impact([uuid.uuid4()]) == []


def test_services_by_ci_agrees_with_one_walk_per_ci(db):
    """The calendar's joint walk gives every CI the services its own walk gives (the demo
    estate: pools with min_members_up, retired CIs, services on services)."""
    from itsmdesk.demo import builder
    from itsmdesk.models.cmdb import CI
    from itsmdesk.services.cmdb import impact
    from itsmdesk.services.cmdb.impact_many import services_by_ci

    builder.generate("small", 11)
    ids = [c.id for c in CI.select(CI.id)]
    joint = services_by_ci(ids)
    assert set(joint) == set(ids)
    differ = [i for i in ids if sorted(s.name for s in joint[i])
              != sorted(s.name for s in impact.impacted_services([i]))]
    assert differ == []
    assert sum(1 for i in ids if joint[i]) > len(ids) // 3  # most CIs reach some service
    # redundancy really was decided: some pool member alone spares a service a plain walk reaches
    plain = {i: sorted(s.name for s in impact.impact([i], redundancy=False) if s.is_service)
             for i in ids}
    assert any(sorted(s.name for s in joint[i]) != plain[i] for i in ids)
