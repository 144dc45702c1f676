"""The ``large`` demo: 1,000,000 incidents (plus 50,000 service requests), 100,000 CIs, ~300,000 relations, 20,000 changes.

Written through the write funnel's bulk half (:mod:`itsmdesk.services.bulk`: executemany on
SQLite, execute_values on PostgreSQL) in one write of the funnel; the FTS triggers are dropped
during the load and the indexes rebuilt once at the end.  Deterministic by seed (ids come from
the seeded generator).

The journal gets one marker row (``!demo``, which replay skips), not a row per record.  Measured
on the full data set (SQLite, the 2-core benchmark machine), journalling every record in the
funnel's format (``generate_large(journal=True)``: one ``*created*`` snapshot per record, child
rows on their parent, 1,629,135 rows holding 1 GB of JSON) took the build from 200 s to 256 s
wall (+28 %; CPU 165 s to 234 s, +42 %) and the file from 2,339 MB to 4,000 MB (+71 %): more than
the 40 % this benchmark data set may cost for a history nobody reads.  So by default a large
demo database cannot be rebuilt by replay (generate it again from its seed);
``journal=True`` writes the full journal for whoever needs one (tests/test_replay.py replays a
scaled-down one).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence

import peewee as pw

from itsmdesk.demo.builder import anchor
from itsmdesk.demo.names import FIRST, INCIDENT_CATEGORIES, LAST, TEAMS
from itsmdesk.models import (
    CI,
    Article,
    CABAgendaItem,
    CABMeeting,
    Category,
    Change,
    ChangeCI,
    CIClass,
    Incident,
    KnownError,
    Person,
    Problem,
    Relation,
    Release,
    ReleaseChange,
    Site,
    Team,
    TeamMember,
    WorkLog,
    db,
    graph_index,
)
from itsmdesk.models import fts as fts_schema
from itsmdesk.models.base import TrackedModel
from itsmdesk.services import bulk, records
from itsmdesk.services.context import SYSTEM

N_INCIDENTS = 1_000_000
N_CHANGES = 20_000
N_REQUESTS = 50_000
N_PEOPLE = 2_000  # the first 400 are agents
N_PROBLEMS = 2_000
N_KNOWN_ERRORS = 1_000  # one per problem, at most N_PROBLEMS
N_ARTICLES = 2_000
BATCH = 5_000
FMT = "%Y-%m-%d %H:%M:%S"

CI_PLAN = [  # class, count, criticality weights
    ("business_service", 500), ("application", 2_500), ("database", 1_500),
    ("virtual_machine", 15_000), ("server", 2_000), ("network_device", 1_050), ("storage", 100),
    ("workstation", 77_350),
]


class Loader:
    def __init__(self, database: pw.Database, rng: random.Random, say: Callable[[str], None],
                 journal: bool = False, stamp: str = "") -> None:
        self.database = database
        self.pg = isinstance(database, pw.PostgresqlDatabase)
        self.rng = rng
        self.say = say
        self.started = time.perf_counter()
        self.journal = journal
        self.stamp = stamp
        self.labels: dict[str, str] = {}  # parent key -> label, for child rows' journal rows
        self.keys = bulk.Keys()

    def uid(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    def bool(self, value: bool):
        return value if self.pg else int(value)

    def insert(self, model: type[pw.Model], columns: list[str], rows: Iterable[tuple],
               label: str = "") -> int:
        """Insert rows already in the driver's form (keys as hex text, times as text)."""
        def tick(done: int) -> None:
            if label and done % 100_000 == 0:
                self.say(f"  {label}: {done:,} ({time.perf_counter() - self.started:.0f} s)")

        if self.journal:
            rows = self._journalled(model, columns, rows)
        return bulk.insert_rows(model, columns, rows, batch=BATCH, tick=tick, convert=False,
                                page_size=BATCH)

    def _journalled(self, model: type[pw.Model], columns: list[str], rows: Iterable[tuple]
                    ) -> Iterator[tuple]:
        """``rows`` passed through, each journalled as the funnel would: a record's
        ``*created*`` snapshot, a child row on its parent (same write: the parent stays at
        version 1)."""
        wire = self._wire(model, columns)
        parent = getattr(model, "PARENT", None)
        tracked = issubclass(model, TrackedModel)
        kind = records.kind_of(model)
        id_at = columns.index("id")
        label_at = next((columns.index(c) for c in ("ref", "name", "title") if c in columns), None)
        parent_at = columns.index(model._meta.fields[parent].column_name) if parent else None
        batch = records.current().batch.hex
        stamp = self.stamp
        pending: list[tuple] = []
        for row in rows:
            if parent_at is not None:
                key = row[parent_at]
                pending.append(bulk.child_row(model, "+", key, self.labels.get(key), None,
                                              wire(row), SYSTEM, stamp, 1, batch))
            else:
                label = str(row[label_at]) if label_at is not None else str(row[id_at])
                if model in (Team, Change, CABMeeting, Release):
                    self.labels[row[id_at]] = label
                pending.append(records.created_row(kind, row[id_at], label, wire(row), SYSTEM,
                                                   stamp, 1 if tracked else None, batch))
            yield row
            if len(pending) >= BATCH:
                bulk.insert_journal(pending, convert=False)
                pending = []
        if pending:
            bulk.insert_journal(pending, convert=False)

    def _wire(self, model: type[pw.Model], columns: Sequence[str]
              ) -> Callable[[tuple], dict[str, str | None]]:
        """What ``records.wire_row`` gives for a row in the driver's form."""
        skip = records.SKIP_JOURNAL_FIELDS if issubclass(model, TrackedModel) \
            else records.LOCAL_FIELDS
        by_column = {model._meta.fields[n].column_name if n in model._meta.fields else n: i
                     for i, n in enumerate(columns)}
        plan: list[tuple[str, int, str, bool]] = []
        fixed: dict[str, str | None] = {}
        for name, f in model._meta.fields.items():
            if name in skip or name in records.LOCAL_FIELDS:
                continue
            target = f.rel_field if isinstance(f, pw.ForeignKeyField) else f
            how = ("key" if isinstance(target, pw.UUIDField) else
                   "bool" if isinstance(target, pw.BooleanField) else "text")
            keep_none = callable(f.default) or f.default is not None or name == "id"
            if f.column_name in by_column:
                plan.append((name, by_column[f.column_name], how, keep_none))
            elif callable(f.default) or f.default not in (None, ""):
                # not written: the column's SQL default (NULL for a computed one)
                fixed[name] = None if callable(f.default) else records.to_text(f.default)
        keys = self.keys

        def make(row: tuple) -> dict[str, str | None]:
            out = dict(fixed)
            for name, index, how, keep_none in plan:
                value = row[index]
                if value is None:
                    if keep_none:
                        out[name] = None
                elif how == "key":
                    out[name] = keys(value)
                elif how == "bool":
                    out[name] = "true" if value else "false"
                else:
                    out[name] = value if value.__class__ is str else str(value)
            return out

        return make


def _t(value: dt.datetime | None) -> str | None:
    return value.strftime(FMT) if value else None


def _store_sla_clocks(now: dt.datetime) -> None:
    """Store on each open ticket what the SLA clock of its history says (services/servicedesk/
    sla.py: the calendar, targets, escalation level), so `itsmdesk check` finds no drift; the
    rows above are written with simple clock-minute dues for speed.  (Not in journal mode: there
    the correction would be a write outside the journal replay rebuilds from.)"""
    from itsmdesk.models import Incident
    from itsmdesk.services.servicedesk import sla

    lookup = sla.Targets()
    for rows in sla.open_ticket_pages(5000):
        found = sla.histories(rows)
        updates = []
        for row in rows:
            fields = sla.reading(found[row.id], now, lookup).fields()
            if fields != sla.stored_fields(row):
                updates.append((row.id, row.version, fields))
        bulk.update_records(Incident, updates)


def generate_large(seed: int = 42, progress: Callable[[str], None] | None = None,
                   journal: bool = False) -> None:
    """Write the large demo (see the module docstring); ``journal`` journals every record."""
    say = progress or (lambda _m: None)
    database = db.obj
    rng = random.Random(seed)
    now = anchor()
    stamp = _t(now)
    loader = Loader(database, rng, say, journal, stamp or "")
    pg = loader.pg
    if not pg:
        database.execute_sql("PRAGMA cache_size=-1000000")
        database.execute_sql("PRAGMA synchronous=off")
    common = lambda: (1, stamp, None, stamp, None)  # noqa: E731 - version, created/updated
    common_cols = ["version", "created_at", "created_by", "updated_at", "updated_by"]

    with records.atomic() as write:
        fts_schema.drop_triggers(database)
        # references continue from the counters (on an empty database: INC-000001 ...)
        first = {prefix: records.reserve_refs(prefix, count) for prefix, count in (
            ("INC", N_INCIDENTS), ("REQ", N_REQUESTS), ("CHG", N_CHANGES), ("PRB", N_PROBLEMS),
            ("KE", N_KNOWN_ERRORS), ("CAB", 104), ("REL", 100), ("KB", N_ARTICLES))}
        # --- sites, teams, people -------------------------------------------------------------
        sites = [(loader.uid(), f"Site {i:02d}", f"S{i:02d}") for i in range(50)]
        loader.insert(Site, ["id", "name", "code", "timezone"] + common_cols,
                      ((s[0], s[1], s[2], "Europe/Stockholm") + common() for s in sites))
        people = [loader.uid() for _ in range(N_PEOPLE)]
        names = set()

        def person_rows() -> Iterator[tuple]:
            for i, pid in enumerate(people):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                while name in names:
                    name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {len(names)}"
                names.add(name)
                yield (pid, name, f"user{i:05d}@nordvik.example", rng.choice(sites)[0],
                       loader.bool(i < 400), loader.bool(True)) + common()

        loader.insert(Person, ["id", "name", "email", "site_id", "is_agent", "active"] + common_cols,
                      person_rows())
        team_names = TEAMS + [f"Regional Support {i:02d}" for i in range(32)]
        teams = [(loader.uid(), name) for name in team_names]
        loader.insert(Team, ["id", "name", "lead_id"] + common_cols,
                      ((t[0], t[1], people[i * 10]) + common() for i, t in enumerate(teams)))
        loader.insert(TeamMember, ["id", "team_id", "person_id"],
                      ((loader.uid(), teams[i // 10][0], people[i]) for i in range(400)))
        say(f"people done ({time.perf_counter() - loader.started:.0f} s)")

        # --- CMDB ------------------------------------------------------------------------------
        classes = {c.name: c.id.hex for c in CIClass.select()}
        by_class: dict[str, list[str]] = {}
        ci_rows = []
        crits = ["low", "medium", "high", "critical"]
        for cls, count in CI_PLAN:
            ids = [loader.uid() for _ in range(count)]
            by_class[cls] = ids
            prefix = {"business_service": "svc", "application": "app", "database": "db",
                      "virtual_machine": "vm", "server": "srv", "network_device": "net",
                      "storage": "stor", "workstation": "ws"}[cls]
            for i, cid in enumerate(ids):
                crit = (rng.choices(crits, [1, 3, 3, 2])[0] if cls != "workstation" else "low")
                redundancy = 1 if cls in ("application", "network_device") and i % 3 == 0 else None
                ci_rows.append((cid, f"{prefix}-{i:06d}", classes[cls], "in_production", crit,
                                teams[i % len(teams)][0], rng.choice(sites)[0],
                                f"{rng.randrange(1, 20)}.{rng.randrange(0, 10)}", redundancy, "{}")
                               + common())
        ci_cols = ["id", "name", "ci_class_id", "status", "criticality", "owner_team_id",
                   "site_id", "ci_version", "min_members_up", "attributes"] + common_cols
        # The graph index (models/graph_index.py): on SQLite numbered here as the triggers would,
        # so they need not rewrite 100,000 CIs and 300,000 relations row by row; PostgreSQL's
        # sequence and trigger are cheap enough.
        gid_of: dict[str, int] = {}
        if not loader.pg:
            top = graph_index.top_gid(database)
            for i, row in enumerate(ci_rows, start=1):
                gid_of[row[0]] = top + i
            ci_rows = [row + (gid_of[row[0]],) for row in ci_rows]
            ci_cols.append("gid")
        loader.insert(CI, ci_cols, ci_rows, "CIs")
        del ci_rows
        say(f"100,000 CIs done ({time.perf_counter() - loader.started:.0f} s)")

        svc, app, dbs = by_class["business_service"], by_class["application"], by_class["database"]
        vms, srv, net = by_class["virtual_machine"], by_class["server"], by_class["network_device"]
        stor, ws = by_class["storage"], by_class["workstation"]
        routers, switches = net[:50], net[50:]
        seen: set[tuple[str, str, str]] = set()

        def rel(source: str, type_: str, target: str, redundant: bool = False):
            key = (source, type_, target)
            if key in seen or source == target:
                return None
            seen.add(key)
            row = (loader.uid(), source, target, type_, "target_to_source",
                   loader.bool(redundant)) + common()
            return row + (gid_of[source], gid_of[target]) if gid_of else row

        def relation_rows() -> Iterator[tuple]:
            for i, s in enumerate(svc):  # each service depends on 5 applications
                for k in range(5):
                    r = rel(s, "depends_on", app[(i * 5 + k) % len(app)])
                    if r:
                        yield r
            for i, a in enumerate(app):
                r = rel(a, "depends_on", dbs[i % len(dbs)])
                if r:
                    yield r
                for k in range(4):  # runs on 4 VMs (a pool: redundant where min_members_up is set)
                    r = rel(a, "runs_on", vms[(i * 6 + k) % len(vms)], redundant=(i % 3 == 0))
                    if r:
                        yield r
            for i, v in enumerate(vms):
                r = rel(v, "hosted_on", srv[i % len(srv)])
                if r:
                    yield r
            for i, s in enumerate(srv):
                for k in range(2):
                    r = rel(s, "connected_to", switches[(i + k * 500) % len(switches)])
                    if r:
                        yield r
                r = rel(s, "uses", stor[i % len(stor)])
                if r:
                    yield r
            for i, sw in enumerate(switches):
                for k in range(2):
                    r = rel(sw, "connected_to", routers[(i + k * 25) % len(routers)],
                            redundant=(i % 3 == 0))
                    if r:
                        yield r
            for i, w in enumerate(ws):
                r = rel(w, "connected_to", switches[i % len(switches)])
                if r:
                    yield r
                for _k in range(rng.choice((2, 2, 3))):
                    r = rel(w, "uses", app[rng.randrange(len(app))])
                    if r:
                        yield r

        rel_cols = ["id", "source_id", "target_id", "type", "propagates", "redundant"] + common_cols
        n_rel = loader.insert(Relation, rel_cols + (["source_gid", "target_gid"] if gid_of else []),
                              relation_rows(), "relations")
        seen.clear()
        say(f"{n_rel:,} relations done ({time.perf_counter() - loader.started:.0f} s)")

        # --- categories, problems, known errors --------------------------------------------------
        cats = [(loader.uid(), name) for name in INCIDENT_CATEGORIES]
        loader.insert(Category, ["id", "name", "kind"] + common_cols,
                      ((c[0], c[1], "incident") + common() for c in cats))
        problems = [loader.uid() for _ in range(N_PROBLEMS)]
        loader.insert(Problem, ["id", "ref", "title", "status", "priority", "ci_id", "rca"] + common_cols,
                      ((p, f"PRB-{first['PRB'] + i:06d}", f"Recurring fault on {app[i % len(app)][:8]}",
                        rng.choice(["new", "investigating", "root_cause_known", "resolved", "closed"]),
                        rng.randrange(1, 5), app[i % len(app)], "{}") + common()
                       for i, p in enumerate(problems)))
        kes = [loader.uid() for _ in range(N_KNOWN_ERRORS)]
        loader.insert(KnownError, ["id", "ref", "title", "symptom", "workaround", "error_code",
                                      "problem_id", "solution_status", "status"] + common_cols,
                      ((k, f"KE-{first['KE'] + i:06d}", f"Known error {i + 1}: service timeout pattern {i % 37}",
                        "Users see timeouts", "Restart the adapter", f"ERR-{i:04d}", problems[i],
                        "workaround_only", "open") + common() for i, k in enumerate(kes)))

        # --- incidents ----------------------------------------------------------------------------
        span_days = 730
        cat_names = list(INCIDENT_CATEGORIES)
        agents = people[:400]
        hot_cis = app[:500] + vms[:2_000] + srv[:300] + net[:200]

        def incident_rows(total: int, kind: str, prefix: str) -> Iterator[tuple]:
            for i in range(total):
                # refs grow with time
                frac = i / total
                opened = now - dt.timedelta(days=span_days * (1 - frac),
                                            minutes=rng.randrange(0, 600))
                cat_i = rng.randrange(len(cat_names))
                cat = cat_names[cat_i]
                team_name, titles, descs = INCIDENT_CATEGORIES[cat]
                ci = rng.choice(hot_cis) if rng.random() < 0.7 else rng.choice(ws)
                service = svc[rng.randrange(len(svc))]
                impact, urgency = rng.randrange(1, 4), rng.randrange(1, 4)
                prio = {2: 1, 3: 2, 4: 3, 5: 4, 6: 5}[impact + urgency]
                age_days = (now - opened).total_seconds() / 86400
                team = teams[rng.randrange(len(teams))][0]
                assignee = agents[rng.randrange(len(agents))]
                resp_min = {1: 15, 2: 30, 3: 120, 4: 480, 5: 1440}[prio]
                res_min = {1: 240, 2: 480, 3: 1440, 4: 4320, 5: 10080}[prio]
                response_due = opened + dt.timedelta(minutes=resp_min)
                resolution_due = opened + dt.timedelta(minutes=res_min)
                if age_days > 14 or rng.random() < 0.4:
                    responded = opened + dt.timedelta(minutes=rng.randrange(2, 120))
                    resolved = responded + dt.timedelta(minutes=int(rng.expovariate(1 / 400)) + 5)
                    closed = resolved + dt.timedelta(days=3) if resolved + dt.timedelta(days=3) < now else None
                    status = "closed" if closed else "resolved"
                    sla = "met" if resolved <= resolution_due else "breached"
                    assigned = assignee
                    outage = impact <= 2
                else:
                    responded = resolved = closed = None
                    status = rng.choice(["new", "assigned", "in_progress", "in_progress", "pending"])
                    assigned = None if status == "new" else assignee
                    sla = ("breached" if resolution_due < now else
                           "at_risk" if resolution_due < now + dt.timedelta(hours=4) else "ok")
                    if status == "pending":
                        sla = "paused"
                    outage = False
                title = titles[i % len(titles)].format(site=f"Site {i % 50:02d}", service="service",
                                                       ci=f"ci {i % 997}")
                if kind == "request":
                    title = f"Request: {('new laptop', 'software installation', 'folder access')[i % 3]}"
                yield (loader.uid(), f"{prefix}-{first[prefix] + i:06d}", kind, people[rng.randrange(N_PEOPLE)],
                       "phone", title, descs[i % len(descs)], cats[cat_i][0], ci, service, impact,
                       urgency, prio, status, team, assigned,
                       problems[i % N_PROBLEMS] if i % 50 == 0 else None, loader.bool(False),
                       _t(opened), _t(responded), _t(resolved), _t(closed), _t(response_due),
                       _t(resolution_due), 0, sla, 0, _t(opened) if outage else None,
                       _t(resolved) if outage else None) + common()

        cols = ["id", "ref", "kind", "caller_id", "channel", "title", "description", "category_id",
                "ci_id", "service_id", "impact", "urgency", "priority", "status", "team_id",
                "assignee_id", "problem_id", "major", "opened_at", "responded_at", "resolved_at",
                "closed_at", "response_due", "resolution_due", "paused_seconds", "sla_state",
                "escalation_level", "outage_start", "outage_end"] + common_cols
        n_inc = loader.insert(Incident, cols, incident_rows(N_INCIDENTS, "incident", "INC"), "incidents")
        loader.insert(Incident, cols, incident_rows(N_REQUESTS, "request", "REQ"))
        say(f"{n_inc:,} incidents done ({time.perf_counter() - loader.started:.0f} s)")

        def worklog_rows() -> Iterator[tuple]:
            mark = database.param
            conn_rows = database.execute_sql(
                f"SELECT id, opened_at, ref FROM incident WHERE ref >= {mark} AND ref < {mark}",
                (f"INC-{first['INC'] + N_INCIDENTS * 4 // 5 - 1:06d}",  # the newest fifth
                 f"INC-{first['INC'] + N_INCIDENTS - 2:06d}"))
            for n, (iid, opened, ref) in enumerate(conn_rows):
                if n % 2:
                    continue
                iid = iid.hex if isinstance(iid, uuid.UUID) else iid
                if journal:
                    loader.labels[iid] = ref
                yield (loader.uid(), iid, agents[n % 400], str(opened)[:19], loader.bool(n % 4 == 0),
                       rng.choice(["Checked logs, restarted service.", "Waiting for the user.",
                                   "Escalated to vendor.", "Applied the known workaround."]), 0)

        n_wl = loader.insert(WorkLog, ["id", "incident_id", "author_id", "created_at", "public",
                                          "text", "time_spent_minutes"], list(worklog_rows()), "work log")
        say(f"{n_wl:,} work log notes done ({time.perf_counter() - loader.started:.0f} s)")

        # --- changes -----------------------------------------------------------------------------
        change_ids = [loader.uid() for _ in range(N_CHANGES)]

        def change_rows() -> Iterator[tuple]:
            for i, cid in enumerate(change_ids):
                start = now - dt.timedelta(days=700) + dt.timedelta(hours=i * 0.9 + rng.randrange(0, 6))
                end = start + dt.timedelta(hours=rng.choice((1, 2, 3, 4, 8)))
                future = start > now
                status = (rng.choice(["draft", "submitted", "awaiting_cab", "approved", "scheduled"])
                          if future else rng.choices(["closed", "failed", "backed_out", "rejected"],
                                                     [90, 4, 3, 3])[0])
                outage = rng.random() < 0.3
                title = f"Change {i + 1}: update {rng.choice(['firmware', 'OS', 'config', 'app'])}"
                ctype = rng.choices(["standard", "normal", "emergency"], [5, 4, 1])[0]
                if ctype == "standard" and status == "awaiting_cab":
                    status = "approved"  # pre-approved: never before the CAB
                yield (cid, f"CHG-{first['CHG'] + i:06d}", title, ctype, status,
                       "Keep the estate supported.", "Standard maintenance.", "1. Apply.\n2. Verify.",
                       "Restore previous version.", "Smoke test.", teams[i % len(teams)][0],
                       _t(start), _t(end), loader.bool(outage),
                       rng.choice(["low", "medium", "high"]), rng.randrange(5, 90)) + common()

        loader.insert(Change, ["id", "ref", "title", "type", "status", "reason", "description",
                                 "implementation_plan", "backout_plan", "test_plan", "team_id",
                                 "planned_start", "planned_end", "outage", "risk_level",
                                 "risk_score"] + common_cols, change_rows(), "changes")
        all_targets = app + dbs + vms[:5_000] + srv + net

        def change_ci_rows() -> Iterator[tuple]:
            for cid in change_ids:
                chosen = {rng.choice(all_targets) for _ in range(rng.choice((1, 1, 2, 3)))}
                for ci in chosen:
                    yield (loader.uid(), cid, ci)

        loader.insert(ChangeCI, ["id", "change_id", "ci_id"], change_ci_rows())
        say(f"{N_CHANGES:,} changes done ({time.perf_counter() - loader.started:.0f} s)")

        # --- CAB meetings, releases, articles ---------------------------------------------------------
        meetings = []
        for w in range(104):
            mid = loader.uid()
            meetings.append(mid)
            start = now - dt.timedelta(weeks=100 - w)
            loader.insert(CABMeeting, ["id", "ref", "title", "starts_at", "status", "quorum",
                                          "emergency"] + common_cols,
                          [(mid, f"CAB-{first['CAB'] + w:06d}", "Weekly CAB", _t(start.replace(hour=10)),
                            "held" if start < now else "planned", 3, loader.bool(False)) + common()])
        loader.insert(CABAgendaItem, ["id", "meeting_id", "change_id", "position"],
                      ((loader.uid(), meetings[min(i // 200, 103)], change_ids[i], i % 200)
                       for i in range(0, N_CHANGES, 1)))
        releases = [loader.uid() for _ in range(100)]
        loader.insert(Release, ["id", "ref", "name", "release_version", "type", "status"] + common_cols,
                      ((r, f"REL-{first['REL'] + i:06d}", f"Release {i + 1}", f"{i // 10}.{i % 10}.0",
                        rng.choice(["major", "minor", "emergency"]),
                        rng.choice(["planning", "deployed", "closed"])) + common()
                       for i, r in enumerate(releases)))
        loader.insert(ReleaseChange, ["id", "release_id", "change_id"],
                      ((loader.uid(), releases[i % 100], change_ids[i]) for i in range(0, N_CHANGES, 40)))
        words = ["password", "vpn", "printer", "outlook", "scanner", "database", "backup", "wifi",
                 "certificate", "license", "upgrade", "timeout", "disk", "memory", "login", "sso"]
        loader.insert(Article, ["id", "ref", "title", "body", "category", "tags", "status"] + common_cols,
                      ((loader.uid(), f"KB-{first['KB'] + i:06d}",
                        f"How to fix {rng.choice(words)} {rng.choice(words)} issue {i + 1}",
                        " ".join(rng.choice(words) for _ in range(120)), cat_names[i % len(cat_names)],
                        ",".join(rng.sample(words, 3)), "published") + common() for i in range(N_ARTICLES)))
        if not journal:
            say(f"SLA clocks of the open tickets ({time.perf_counter() - loader.started:.0f} s)")
            _store_sla_clocks(now)
            # One row saying what was generated (replay skips "!" rows): see the docstring.
            records.journal_rows([(
                "database", uuid.UUID(int=seed), "demo", "!demo", None, f"large seed {seed}",
                SYSTEM.person_id, SYSTEM.name, now, records.site_of(SYSTEM), None,
                write.batch)])
        say(f"rebuilding search indexes ({time.perf_counter() - loader.started:.0f} s)")
        fts_schema.create_triggers(database)
        fts_schema.rebuild(database)
    if pg:
        database.execute_sql("ANALYZE")
    else:
        database.execute_sql("PRAGMA synchronous=normal")
        database.execute_sql("ANALYZE")
    say(f"large demo done in {time.perf_counter() - loader.started:.0f} s")
