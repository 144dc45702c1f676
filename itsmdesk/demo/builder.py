"""Deterministic demo data for Nordvik Logistics (``itsmdesk demo``).

``small``: the IT department of a ~400-person logistics company (the head of IT and twelve
people in four teams) and its last eight weeks, written through the services as it happened, so
records and their journal carry the story's times (:class:`itsmdesk.models.base.story_clock`):

* the service desk's tickets, more on Mondays than on Fridays, few at weekends, peaking in the
  morning and after lunch, mostly inside their SLA with a few breaches, some still open;
* recurring incidents behind problems and known errors, and three clusters not yet linked to a
  problem (the problem candidates of the last 30 days);
* a major incident (the warehouse scanners) with child tickets, its problem and known error, a
  recurrence, the emergency CAB and the emergency change that fixed it;
* a weekly CAB on Tuesdays at 10:00 (Stockholm): four held meetings with votes, decisions (one
  deferral and two rejections, with reasons), conditions and actions, and the next one planned,
  its agenda the changes awaiting the CAB; standard changes are pre-approved from templates;
  risk is assessed by the service, so every change carries its factors; one change failed and
  was backed out, and a later one on the same application shows it in its risk;
* releases bundling changes (Web Shop 4.2 in test, scanner firmware in planning, Payroll 5.1
  rolling out: :mod:`itsmdesk.demo.releases`).

``large``: 1,000,000 incidents, 100,000 CIs, ~300,000 relations, 20,000 changes, written by bulk
inserts (see :mod:`itsmdesk.demo.large`) for the benchmarks.

The same seed gives the same records; "now" is the anchor: the start of today (UTC) unless
``ITSMDESK_DEMO_ANCHOR`` (ISO date) fixes it.  History lies before it, the planned CAB and the
changes it decides after it.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from itsmdesk.demo.names import (
    ARTICLES,
    CATEGORY_WEIGHTS,
    EMPLOYEE_TITLES,
    FIRST,
    HEAD_OF_IT,
    IT_TEAMS,
    LAST,
    OFFICE_HOURS,
    REQUEST_CATEGORIES,
    SERVICES,
    SITES,
    SMALL_CATEGORY_TEAMS,
    SMALL_REQUEST_TEAMS,
    SYMPTOMS,
    WEEKDAY_INCIDENTS,
    WEEKDAY_REQUESTS,
    WORK_NOTES,
)
from itsmdesk.models import CI, CABMember, Team, WorkLog
from itsmdesk.models.base import db, story_clock
from itsmdesk.services import people, records
from itsmdesk.services.change import cab, risk
from itsmdesk.services.change import changes as change_svc
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import ALL_ROLES, SYSTEM, Actor
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.problem import lifecycle as problem_lifecycle
from itsmdesk.services.problem import problems
from itsmdesk.services.servicedesk import calendars, incidents, sla

Progress = Callable[[str], None] | None

LOCAL = ZoneInfo("Europe/Stockholm")
SLUGS = {"E-mail and Calendar": "mail", "ERP": "erp", "Web Shop": "shop",
         "Warehouse Management": "wms", "Transport Planning": "tp", "HR Portal": "hr",
         "Payroll": "payroll", "Remote Access VPN": "vpn", "File Sharing": "files",
         "Customer Support Telephony": "cc", "Business Intelligence": "bi",
         "Identity and Access": "iam"}
HISTORY_DAYS = 42  # six weeks: the month shown and the weeks before it
CAB_WEEKDAY, CAB_HOUR = 1, 10  # Tuesdays 10:00 local
CAB_LOCATION = "Stockholm HQ, room Fjäll / Teams"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


# The demo's sign-in: every login's password is "demo" (README, "Try the demo").
DEMO_PASSWORD = "demo"
# job title -> roles of the demo's IT staff
DEMO_ROLES = {
    "Head of IT": ("administrator", "change_manager", "cab_member"),
    "Service desk lead": ("team_lead", "agent"),
    "Service desk analyst": ("agent",),
    "IT technician": ("agent",),
    "Network lead": ("team_lead", "agent", "cab_member", "cmdb_owner"),
    "Network engineer": ("agent", "cmdb_owner"),
    "Infrastructure lead": ("team_lead", "agent", "cab_member", "cmdb_owner", "release_manager"),
    "Systems engineer": ("agent", "cmdb_owner"),
    "Database administrator": ("agent", "cmdb_owner"),
    "Application lead": ("team_lead", "agent", "cab_member", "problem_manager",
                         "release_manager"),
    "Application specialist": ("agent",),
}
_demo_hash: list[str] = []


def demo_password_hash() -> str:
    """The argon2 hash of the demo password, made once per process (a hash costs ~0.1 s)."""
    if not _demo_hash:
        from itsmdesk.services.accounts import hash_password

        _demo_hash.append(hash_password(DEMO_PASSWORD))
    return _demo_hash[0]


def demo_login(name: str) -> str:
    """'Åsa Lindqvist' -> 'asa.lindqvist'."""
    import unicodedata

    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return ".".join(part for part in "".join(c if c.isalnum() else " " for c in text).split())


def anchor() -> dt.datetime:
    from itsmdesk import config

    fixed = config.value(config.DEMO_ANCHOR)
    if fixed:
        return dt.datetime.fromisoformat(fixed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def generate(size: str = "small", seed: int = 42, progress: Progress = None) -> None:
    if size == "large":
        from itsmdesk.demo.large import generate_large

        generate_large(seed, progress)
        return
    SmallDemo(seed, progress).run()


def local_time(utc: dt.datetime) -> dt.datetime:
    """Naive UTC -> naive Stockholm time."""
    return utc.replace(tzinfo=dt.UTC).astimezone(LOCAL).replace(tzinfo=None)


def day_text(utc: dt.datetime) -> str:
    """'Sunday 14 June' for a UTC time, as people in Stockholm read it."""
    t = local_time(utc)
    return f"{WEEKDAYS[t.weekday()]} {t.day} {MONTHS[t.month - 1]}"


@dataclass
class Story:
    """One change and how it went: the events follow from its type and these fields."""

    key: str
    title: str
    type: str
    category: str
    cis: list[str]
    team: str
    start: dt.datetime  # planned window (UTC)
    hours: float
    prepared: dt.datetime  # drafted; submitted and assessed before ``ready``
    ready: dt.datetime  # awaiting the CAB (or pre-approved) by then
    reason: str
    plan: str
    backout: str
    test: str
    outage_minutes: int = 0
    cab: str = "approve"  # approve | reject | defer | approve-with-doubts
    conditions: str | None = None
    decision_reason: str | None = None
    result: str = "implemented"  # implemented | backed_out
    pir: tuple[str, str] | None = None
    problem: str | None = None
    known_error: str | None = None
    template: str | None = None
    stop: str | None = None  # a last status before the CAB: draft | submitted | assessed
    requester: str | None = None  # a job title among the employees, else the assignee
    then: Callable[[], None] | None = None  # after it was rejected / deferred / implemented
    change: object = None
    extra: dict = field(default_factory=dict)


class SmallDemo:
    def __init__(self, seed: int, progress: Progress = None) -> None:
        self.rng = random.Random(seed)
        self.now = anchor()
        self.today = local_time(self.now).date()
        self.say = progress or (lambda _m: None)
        self.people: list = []
        self.agents: dict[str, list] = {}
        self.teams: dict[str, Team] = {}
        self.sites: dict[str, object] = {}
        self.services: dict[str, CI] = {}
        self.apps: dict[str, list[CI]] = {}
        self.cis_by_site: dict[str, list[CI]] = {}
        self.categories: dict[str, object] = {}
        self.service_of: dict = {}  # CI id -> its business service
        self.tagged: dict[str, list] = {}
        self.actors: dict = {}
        self.events: list = []
        self.seq = 0
        # the weekly CAB: the next meeting is the first Tuesday 10:00 after now; four were held
        ahead = (CAB_WEEKDAY - self.today.weekday()) % 7
        self.next_cab = self.when(self.today + dt.timedelta(days=ahead), CAB_HOUR)
        if self.next_cab <= self.now:
            self.next_cab = self.when(self.today + dt.timedelta(days=ahead + 7), CAB_HOUR)
        self.cab_days = [local_time(self.next_cab).date() - dt.timedelta(days=7 * k)
                         for k in (4, 3, 2, 1, 0)]
        self.route_start = self.cab_at(1, 3, 20)  # the Friday after CAB 2

    # -- time ---------------------------------------------------------------------------------
    def when(self, day: dt.date, hour: float, minute: int = 0) -> dt.datetime:
        """UTC of a local (Stockholm) day and time."""
        naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hour, minutes=minute)
        return naive.replace(tzinfo=LOCAL).astimezone(dt.UTC).replace(tzinfo=None)

    def cab_at(self, k: int, days: int = 0, hour: float = CAB_HOUR, minute: int = 0) -> dt.datetime:
        """UTC of ``days`` after the k-th weekly CAB (0..3 held, 4 the planned one)."""
        return self.when(self.cab_days[k] + dt.timedelta(days=days), hour, minute)

    def day(self, days_ago: int, hour: float, minute: int = 0, weekday: bool = False) -> dt.datetime:
        d = self.today - dt.timedelta(days=days_ago)
        while weekday and (d.weekday() >= 5 or d in self.holidays):
            d -= dt.timedelta(days=1)
        return self.when(d, hour, minute)

    def workday_after(self, t: dt.datetime, days: int, hour: float, minute: int = 0) -> dt.datetime:
        """``days`` after ``t``'s local day (on to the next working day) at ``hour``."""
        d = local_time(t).date() + dt.timedelta(days=days)
        while d.weekday() >= 5 or d in self.holidays:
            d += dt.timedelta(days=1)
        return self.when(d, hour, minute)

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def act(self, person) -> Actor:  # noqa: ANN001
        """The actor the story writes as.  The demo replays a month that happened: its people
        act with every role (as SYSTEM does), their own roles apply once they sign in."""
        if person.id not in self.actors:
            self.actors[person.id] = Actor.for_person(person, roles=ALL_ROLES)
        return self.actors[person.id]

    def later(self, at: dt.datetime, fn: Callable[[], None]) -> None:
        """Something that happens at ``at`` (skipped when that is after now)."""
        heapq.heappush(self.events, (at, self.seq, fn))
        self.seq += 1

    def play(self) -> None:
        while self.events:
            at, _seq, fn = heapq.heappop(self.events)
            if at > self.now:
                break
            self.clock.set(at)
            fn()
        self.events = []

    # -- the build ----------------------------------------------------------------------------
    def run(self) -> None:
        from itsmdesk.models.base import deterministic_ids
        from itsmdesk.models.write_lock import write_transaction

        setup = self.now - dt.timedelta(days=400)
        with write_transaction(db.obj), deterministic_ids(random.Random(self.rng.random())), \
                story_clock(setup) as clock:
            self.clock = clock
            self.organisation()
            self.say("people and teams done")
            self.servicedesk_setup()
            self.cmdb()
            self.say(f"CMDB done: {CI.select().count()} CIs")
            self.change_setup()
            self.articles()
            self.tickets()
            self.say("incidents and requests done")
            self.story()
            self.say("problems, changes and CAB done")
            clock.set(self.now - dt.timedelta(hours=2))
            self.releases()
            from itsmdesk.demo.releases import demo_release

            demo_release(self.rng, self.act(self.agents["Application Support"][0]),
                         payroll_changes=self.payroll_changes)
            self.announcements()
            # SLA states as the app's minute tick would leave them (flagged and breached)
            from itsmdesk.services.servicedesk import escalation

            clock.set(self.now)
            escalation.tick(self.now)
        self.say("demo complete")

    # -- people -------------------------------------------------------------------------------
    def organisation(self) -> None:
        org = people.create_organisation({"id": self.uid(), "name": "Nordvik Logistics AB",
                                          "code": "NVL"})
        for name, code, tz in SITES:
            self.sites[code] = people.create_site({"id": self.uid(), "name": name, "code": code,
                                                   "timezone": tz, "organisation": org})
        used: set[str] = set()

        def person(agent: bool, title: str, site_code: str):  # noqa: ANN202
            while True:
                first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
                if f"{first} {last}" not in used:
                    break
            used.add(f"{first} {last}")
            email = f"{first}.{last}@nordvik.example".lower()
            for a, b in (("å", "a"), ("ä", "a"), ("ö", "o"), ("ü", "u"), ("á", "a")):
                email = email.replace(a, b)
            return people.create_person({
                "id": self.uid(), "name": f"{first} {last}", "email": email,
                "phone": f"+46 8 {self.rng.randrange(100000, 999999)}",
                "site": self.sites[site_code], "organisation": org, "is_agent": agent,
                "job_title": title})

        self.head = person(True, *HEAD_OF_IT)
        for team_name, roles in IT_TEAMS.items():
            members = [person(True, title, site) for title, site in roles]
            lead = members[0]
            for m in members[1:]:
                people.update_person(m.id, m.version, {"manager": lead.id})
            people.update_person(lead.id, lead.version, {"manager": self.head.id})
            slug = team_name.lower().replace(" & ", "-").replace(" ", "-")
            self.teams[team_name] = people.create_team({
                "id": self.uid(), "name": team_name, "lead": lead,
                "email": f"{slug}@nordvik.example"}, members)
            self.agents[team_name] = members
        titles = [t for t, _w in EMPLOYEE_TITLES]
        weights = [w for _t, w in EMPLOYEE_TITLES]
        site_weights = {"STO": 4, "GOT": 4, "MMO": 4, "OSL": 1, "KRN": 2}
        self.people = []
        for _ in range(80):
            title = self.rng.choices(titles, weights)[0]
            site = self.rng.choices(list(site_weights), list(site_weights.values()))[0]
            if title.startswith(("Controller", "Payroll", "HR", "Buyer")):
                site = "STO"
            self.people.append(person(False, title, site))
        self.by_title: dict[str, list] = {}
        for p in self.people:
            self.by_title.setdefault(p.job_title, []).append(p)
        self.accounts()
        self.desk = self.act(self.agents["Service Desk"][0])
        self.actor = self.desk
        self.cm = self.act(self.head)

    def accounts(self) -> None:
        """Logins (first.last, ASCII) for the IT staff and three employees, all with the
        password ``demo`` (hashed once per process), and the roles of their jobs."""
        from itsmdesk.services import accounts

        staff = [(self.head, DEMO_ROLES[HEAD_OF_IT[0]])]
        for members in self.agents.values():
            staff += [(m, DEMO_ROLES.get(m.job_title, ("agent",))) for m in members]
        staff += [(p, ("requester",)) for p in self.people[:3]]
        for p, roles in staff:
            accounts.create_account(demo_login(p.name), p.name, None, roles, SYSTEM,
                                    person_id=p.id, password_hash=demo_password_hash())

    def employee(self, title: str | None = None, site: str | None = None):  # noqa: ANN201
        pool = self.by_title.get(title, self.people) if title else self.people
        if site:
            pool = [p for p in pool if p.site_id == self.sites[site].id] or pool
        return self.rng.choice(pool)

    def servicedesk_setup(self) -> None:
        from itsmdesk.models import BusinessCalendar, Category, Holiday, SLADefinition

        cal = records.create(BusinessCalendar, {
            "id": self.uid(), "name": "Office hours (Sweden)", "timezone": "Europe/Stockholm",
            "working_hours": {str(d): [["08:00", "17:00"]] for d in range(5)}}, self.actor)
        records.create(BusinessCalendar, {"id": self.uid(), "name": "24x7", "timezone": "UTC",
                                          "working_hours": {str(d): [["00:00", "24:00"]]
                                                            for d in range(7)}}, self.actor)
        year = self.now.year
        self.holidays = set()
        for month, day, name in ((1, 1, "New Year's Day"), (1, 6, "Epiphany"), (5, 1, "May Day"),
                                 (6, 6, "National Day"), (12, 24, "Christmas Eve"),
                                 (12, 25, "Christmas Day"), (12, 26, "Boxing Day"),
                                 (12, 31, "New Year's Eve")):
            days = [dt.date(y, month, day) for y in (year - 1, year, year + 1)]
            self.holidays.update(days)
            records.add_children(Holiday, [{"calendar": cal.id, "day": d, "name": name}
                                           for d in days], self.actor)
        for kind, rows in (("incident", [(1, 15, 240), (2, 30, 480), (3, 120, 1440),
                                         (4, 480, 4320), (5, 1440, 10080)]),
                           ("request", [(1, 60, 480), (2, 120, 960), (3, 240, 2400),
                                        (4, 480, 4800), (5, 960, 9600)])):
            for prio, resp, resol in rows:
                records.create(SLADefinition, {"id": self.uid(), "name": f"{kind} P{prio}",
                                               "ticket_kind": kind, "priority": prio,
                                               "response_minutes": resp,
                                               "resolution_minutes": resol,
                                               "calendar": cal if prio > 2 else None}, self.actor)
        scripts = {
            "Network": [{"question": "Is more than one user affected?",
                         "answers": [{"label": "Yes, the whole site",
                                      "route_team": "Network Operations"},
                                     {"label": "Only this caller"}]},
                        {"question": "Is the device's network cable/Wi-Fi connected?",
                         "answers": [{"label": "Yes"}, {"label": "No - reconnected, solved"}]}],
            "Workstation": [{"question": "Has the caller restarted the device?",
                             "answers": [{"label": "Yes"}, {"label": "No"}]},
                            {"question": "Does the problem follow the user to another device?",
                             "answers": [{"label": "Yes", "route_team": "Application Support"},
                                         {"label": "No"}]}],
            "Security": [{"question": "Did the caller click a link or enter a password?",
                          "answers": [{"label": "Yes", "route_team": "Network Operations"},
                                      {"label": "No"}]}],
        }
        for steps in scripts.values():  # routes are stored as team ids
            for step in steps:
                for answer in step["answers"]:
                    if "route_team" in answer:
                        answer["route_team"] = str(self.teams[answer["route_team"]].id)
        for name, team in SMALL_CATEGORY_TEAMS.items():
            self.categories[name] = records.create(Category, {
                "id": self.uid(), "name": name, "kind": "incident",
                "default_team": self.teams[team], "diagnostic_script": scripts.get(name)}, self.actor)
        for name in REQUEST_CATEGORIES:
            self.categories[name] = records.create(Category, {
                "id": self.uid(), "name": name, "kind": "request",
                "default_team": self.teams[SMALL_REQUEST_TEAMS[name]]}, self.actor)

    # -- CMDB ---------------------------------------------------------------------------------
    def ci(self, name: str, cls: str, site: str | None = None, crit: str = "medium",
           team: str | None = None, **extra) -> CI:
        values = {"id": self.uid(), "name": name, "ci_class": cls, "criticality": crit,
                  "status": extra.pop("status", "in_production"),
                  "site": self.sites[site] if site else None,
                  "owner_team": self.teams[team] if team else None}
        values.update(extra)
        ci = cmdb.create_ci(values, self.actor)
        self.cis_by_site.setdefault(site or "", []).append(ci)
        self.by_name[name] = ci
        return ci

    def cmdb(self) -> None:
        rel = cmdb.create_relation
        self.by_name: dict[str, CI] = {}
        net, infra, apps_team = "Network Operations", "Server & Storage", "Application Support"
        routers = [self.ci(f"core-rtr-0{i}", "network_device", "STO", "critical", net,
                           vendor="Cisco", ci_version="IOS-XE 17.9", attributes={"ports": 48})
                   for i in (1, 2)]
        switches: dict[str, list[CI]] = {}
        self.firewalls: list[CI] = []
        for _name, code, _tz in SITES:
            switches[code] = []
            for i in (1, 2):
                sw = self.ci(f"{code.lower()}-sw-0{i}", "network_device", code, "high", net,
                             vendor="Aruba", ci_version="10.12", min_members_up=1)
                for r in routers:
                    rel(sw, "connected_to", r, self.actor, redundant=True)
                switches[code].append(sw)
            fw = self.ci(f"{code.lower()}-fw-01", "network_device", code, "high", net,
                         vendor="Fortinet", ci_version="7.4.3")
            rel(fw, "connected_to", switches[code][0], self.actor)
            self.firewalls.append(fw)
        storage = self.ci("san-got-01", "storage", "GOT", "critical", infra,
                          attributes={"capacity_tb": 480.0})
        hosts = []
        for i in range(1, 7):
            site = "GOT" if i <= 4 else "STO"
            host = self.ci(f"esx-{site.lower()}-0{i}", "server", site, "high", infra,
                           vendor="Dell", serial=f"SN{self.rng.randrange(10**7, 10**8)}",
                           ci_version="ESXi 8.0U2", attributes={"cpu_cores": 64, "ram_gb": 1024})
            rel(host, "connected_to", switches[site][0], self.actor)
            rel(host, "uses", storage, self.actor)
            hosts.append(host)
        vm_no = 0
        self.vms: list[CI] = []
        self.dbs: list[CI] = []
        db_engines = {"Oracle": "19c", "PostgreSQL": "16.4", "SQL Server": "2022"}
        for service_name, (crit, apps) in SERVICES.items():
            slug = SLUGS[service_name]
            service = self.ci(service_name, "business_service", None, crit, apps_team,
                              attributes={"service_owner": self.rng.choice(self.people).name,
                                          "service_hours": "24x7" if crit == "critical" else "Office hours"})
            self.services[service_name] = service
            self.apps[service_name] = []
            for app_name, engine in apps:
                app = self.ci(app_name, "application", None, crit, apps_team,
                              ci_version=f"{self.rng.randrange(1, 12)}.{self.rng.randrange(0, 10)}",
                              attributes={"url": f"https://{slug}.nordvik.example"})
                rel(service, "depends_on", app, self.actor)
                self.apps[service_name].append(app)
                self.service_of[app.id] = service
                n_vms = 2 if crit in ("critical", "high") else 1
                if n_vms > 1:
                    cmdb.update_ci(app.id, app.version, {"min_members_up": 1}, self.actor)
                for _ in range(n_vms):
                    vm_no += 1
                    vm = self.ci(f"vm-{slug}-{vm_no:03d}", "virtual_machine",
                                 self.rng.choice(["GOT", "STO"]), crit, infra,
                                 ci_version="RHEL 9.4", attributes={"vcpus": 8, "ram_gb": 32,
                                                                    "os": "RHEL 9"})
                    rel(app, "runs_on", vm, self.actor, redundant=n_vms > 1)
                    rel(vm, "hosted_on", self.rng.choice(hosts), self.actor)
                    self.service_of[vm.id] = service
                    self.vms.append(vm)
                if engine:
                    dbci = self.ci(f"db-{slug}-{engine.lower().replace(' ', '')}", "database", "GOT",
                                   crit, infra, ci_version=db_engines[engine],
                                   attributes={"engine": engine, "size_gb": float(self.rng.randrange(50, 4000))})
                    rel(app, "depends_on", dbci, self.actor)
                    self.service_of[dbci.id] = service
                    self.dbs.append(dbci)
                    vm_no += 1
                    dbvm = self.ci(f"vm-db-{vm_no:03d}", "virtual_machine", "GOT", crit,
                                   infra, attributes={"vcpus": 16, "ram_gb": 128})
                    rel(dbci, "runs_on", dbvm, self.actor)
                    rel(dbvm, "hosted_on", self.rng.choice(hosts[:4]), self.actor)
        rel(self.services["Web Shop"], "uses", self.services["Identity and Access"], self.actor)
        rel(self.services["ERP"], "uses", self.services["Identity and Access"], self.actor)
        rel(self.services["Warehouse Management"], "depends_on", self.services["ERP"], self.actor)
        self.workstations: dict[str, list[CI]] = {}
        for _name, code, _tz in SITES:
            self.workstations[code] = []
            for i in range(1, 4):
                ws = self.ci(f"{code.lower()}-ws-{i:03d}", "workstation", code, "low",
                             "Service Desk", attributes={"os": "Windows 11"})
                rel(ws, "connected_to", switches[code][i % 2], self.actor)
                self.workstations[code].append(ws)
        self.switches = switches
        self.hosts = hosts
        self.business_apps = [app for name in ("ERP", "Warehouse Management", "Web Shop",
                                               "Transport Planning", "HR Portal", "Payroll",
                                               "Business Intelligence",
                                               "Customer Support Telephony")
                              for app in self.apps[name]]
        for apps in self.apps.values():
            for app in apps:
                self.cis_by_site.setdefault("apps", []).append(app)

    def named(self, name: str) -> CI:
        if name in self.by_name:
            return self.by_name[name]
        return next(ci for n, ci in sorted(self.by_name.items()) if n.startswith(name))

    # -- change management set-up --------------------------------------------------------------
    def change_setup(self) -> None:
        cm = self.cm
        self.templates = {}
        for name, plan, minutes in (
                ("Patch Linux VMs (monthly)", "1. Snapshot each VM.\n2. dnf update.\n3. Reboot one "
                 "node of a pair at a time.\n4. Check the services and the monitoring.", 180),
                ("Add firewall rule (standard)", "1. Add the rule from the approved request.\n"
                 "2. Test the flow with the requester.", 30),
                ("Renew TLS certificate", "1. Install the new certificate.\n2. Reload the service.\n"
                 "3. Verify the chain from outside.", 30),
                ("Increase VM disk", "1. Extend the virtual disk.\n2. Grow the filesystem online.", 30)):
            self.templates[name] = change_svc.create_template({
                "id": self.uid(), "name": name, "category": "Infrastructure",
                "description": name, "implementation_plan": plan,
                "backout_plan": "Revert the snapshot / previous configuration.",
                "test_plan": "Service owner smoke test.", "default_duration_minutes": minutes}, cm)
        # the weekly window: Sunday 00:00-04:00 UTC (01:00-05:00 in winter, 02:00-06:00 in summer)
        sunday = self.today - dt.timedelta(days=(self.today.weekday() + 1) % 7 + 7 * 40)
        start = dt.datetime.combine(sunday, dt.time(0, 0))
        change_svc.create_window({"id": self.uid(), "name": "Weekly maintenance window (Sunday)",
                                  "kind": "maintenance", "starts_at": start,
                                  "ends_at": start + dt.timedelta(hours=4),
                                  "rrule": "FREQ=WEEKLY;BYDAY=SU",
                                  "description": "Early Sunday morning: the standard window for "
                                                 "infrastructure work."}, cm)
        # freezes on the finance databases: ERP month-end closing, the payroll run
        first = (self.today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        first = (first - dt.timedelta(days=1)).replace(day=1)
        start = dt.datetime.combine(self._month_end(first) - dt.timedelta(days=1), dt.time())
        change_svc.create_window({"id": self.uid(), "name": "Month-end closing freeze (ERP)",
                                  "kind": "blackout", "starts_at": start,
                                  "ends_at": start + dt.timedelta(days=4),
                                  "rrule": "FREQ=MONTHLY;BYMONTHDAY=-2",
                                  "ci": self.named("db-erp-oracle"),
                                  "description": "Finance closes the books: no ERP changes from "
                                                 "the second-to-last day of the month to the 2nd."},
                                 cm)
        start = dt.datetime.combine(first.replace(day=23), dt.time())
        change_svc.create_window({"id": self.uid(), "name": "Payroll run freeze",
                                  "kind": "blackout", "starts_at": start,
                                  "ends_at": start + dt.timedelta(days=3),
                                  "rrule": "FREQ=MONTHLY;BYMONTHDAY=23",
                                  "ci": self.named("db-payroll-sqlserver"),
                                  "description": "Salaries are paid on the 25th: no changes to the "
                                                 "payroll database from the 23rd to the 25th."}, cm)
        self.cab_members = [self.head] + [self.agents[t][0] for t in IT_TEAMS]
        for m in self.cab_members:
            records.create(CABMember, {"id": self.uid(), "person": m.id, "category": None,
                                       "emergency": m is not self.agents["Service Desk"][0]}, cm)

    @staticmethod
    def _month_end(day: dt.date) -> dt.date:
        nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return nxt - dt.timedelta(days=1)

    FROZEN = {"db-erp-oracle": "erp", "db-payroll-sqlserver": "payroll"}

    def in_freeze(self, start: dt.datetime, end: dt.datetime, which: str = "erp") -> bool:
        """Whether [start, end) touches the ERP month-end or the payroll run freeze (UTC days,
        as the windows are stored)."""
        d, last = start.date(), (end - dt.timedelta(minutes=1)).date()
        while d <= last:
            if which == "erp" and (d.day <= 2 or d >= self._month_end(d) - dt.timedelta(days=1)):
                return True
            if which == "payroll" and 23 <= d.day <= 25:
                return True
            d += dt.timedelta(days=1)
        return False

    def outside_freeze(self, start: dt.datetime, hours: float, which: str = "erp") -> dt.datetime:
        """``start``, or the same weekday a week later, until the window misses the freeze."""
        while self.in_freeze(start, start + dt.timedelta(hours=hours), which):
            start += dt.timedelta(days=7)
        return start

    # -- tickets ------------------------------------------------------------------------------
    def _sla(self, kind: str, prio: int):  # noqa: ANN202
        key = (kind, prio)
        if key not in self._sla_cache:
            t = sla.target(kind, prio)
            self._sla_cache[key] = (t, sla.hours_for(t))
        return self._sla_cache[key]

    def poisson(self, mean: float) -> int:
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def office_time(self, day: dt.date, off: bool, channel: str) -> dt.datetime:
        if channel == "monitoring":
            hour = self.rng.randrange(24)
        elif off:
            hour = self.rng.randrange(8, 20)
        else:
            hours = list(OFFICE_HOURS)
            hour = self.rng.choices(hours, [OFFICE_HOURS[h] for h in hours])[0]
        return self.when(day, hour, self.rng.randrange(60))

    def timing(self, kind: str, prio: int, opened: dt.datetime, breach: float = 0.05,
               speed: float = 1.0) -> dict:
        """Response and resolution against the SLA: mostly inside, a few late."""
        target, hours = self._sla(kind, prio)
        resp_due = calendars.add_business_minutes(hours, opened, target.response_minutes)
        res_due = calendars.add_business_minutes(hours, opened, target.resolution_minutes)
        share = self.rng.betavariate(1.5, 4)
        if self.rng.random() < 0.03:
            share = self.rng.uniform(1.1, 2.0)
        responded = calendars.add_business_minutes(hours, opened,
                                                   max(2.0, share * target.response_minutes))
        share = self.rng.betavariate(1.3, 5) * speed
        if self.rng.random() < breach:
            share = self.rng.uniform(1.05, 1.8)
        resolved = calendars.add_business_minutes(hours, opened,
                                                  max(12.0, share * target.resolution_minutes))
        if resolved <= responded:
            resolved = responded + dt.timedelta(minutes=self.rng.randrange(10, 60))
        return {"response_due": resp_due, "resolution_due": res_due, "responded_at": responded,
                "resolved_at": resolved}

    def ticket(self, *, kind: str = "incident", title: str, category: str, opened: dt.datetime,
               caller, impact: int, urgency: int, ci: CI | None = None, service: CI | None = None,  # noqa: ANN001
               channel: str = "phone", description: str = "", solution: str = "",
               code: str = "solved_workaround", team: str | None = None, assignee=None,  # noqa: ANN001
               tag: str | None = None, breach: float = 0.05, speed: float = 1.0,
               notes: list | None = None, times: dict | None = None, **extra) -> dict:
        from itsmdesk.services.servicedesk.priority import priority_for

        prio = priority_for(impact, urgency)
        team = team or (SMALL_CATEGORY_TEAMS.get(category) if kind == "incident"
                        else SMALL_REQUEST_TEAMS[category])
        t = times or self.timing(kind, prio, opened, breach, speed)
        assignee = assignee or self.rng.choice(self.agents[team])
        if service is None and ci is not None:
            service = self.service_of.get(ci.id)
        values = {"kind": kind, "title": title[:300], "description": description,
                  "caller": caller, "channel": channel, "category": self.categories[category],
                  "ci": ci, "service": service, "impact": impact, "urgency": urgency,
                  "team": self.teams[team], "opened_at": opened,
                  "response_due": t["response_due"], "resolution_due": t["resolution_due"]}
        values.update(extra)
        return {"values": values, "t": t, "assignee": assignee, "solution": solution,
                "code": code, "tag": tag, "notes": notes, "category": category}

    def everyday_incident(self, day: dt.date, off: bool) -> dict:
        rng = self.rng
        cats = list(CATEGORY_WEIGHTS)
        category = rng.choices(cats, [CATEGORY_WEIGHTS[c] for c in cats])[0]
        options = SYMPTOMS[category]
        weight, title, where, channels, solution, code = rng.choices(
            options, [o[0] for o in options])[0]
        del weight
        caller = self.employee()
        site_code = next(code_ for _n, code_, _tz in SITES if self.sites[code_].id == caller.site_id)
        channel = rng.choice(channels.split())
        opened = self.office_time(day, off, channel)
        ci = service = None
        if where == "ws":
            ci = rng.choice(self.workstations[site_code])
        elif where == "switch":
            ci = self.switches[site_code][0]
        elif where == "anyswitch":
            ci = rng.choice([sw for pair in self.switches.values() for sw in pair])
        elif where == "app":
            ci = rng.choice(self.business_apps)
        elif where == "vm":
            ci = rng.choice(self.vms)
        elif where == "db":
            ci = rng.choice(self.dbs)
        if ci is not None:
            service = self.service_of.get(ci.id)
        if "{service}" in title and service is None:
            service = self.services[rng.choice(["ERP", "Warehouse Management", "Web Shop",
                                                "Transport Planning", "E-mail and Calendar"])]
        text = title.format(site=self.sites[site_code].name,
                            service=service.name if service else "", ci=ci.name if ci else "")
        impact, urgency = rng.choices([(3, 3), (3, 2), (2, 3), (2, 2), (2, 1), (1, 2)],
                                      [30, 25, 14, 20, 7, 4])[0]
        if channel == "monitoring":
            description = "Alert from monitoring."
        else:
            description = rng.choice(["It worked yesterday.", "The caller has tried a restart.",
                                      "Started this morning.", "Several colleagues see it too."]
                                     if impact < 3 else ["Reported by the caller.",
                                                         "Started this morning.",
                                                         "The caller has tried a restart."])
            description += f" Caller: {caller.name}."
        return self.ticket(title=text, category=category, opened=opened, caller=caller,
                           impact=impact, urgency=urgency, ci=ci, service=service,
                           channel=channel, description=description, solution=solution,
                           code=code)

    def request(self, day: dt.date, off: bool) -> dict:
        rng = self.rng
        category = rng.choices(list(REQUEST_CATEGORIES), [3, 3, 4, 1, 2])[0]
        caller = self.employee()
        opened = self.office_time(day, off, "portal")
        text = {"New user account": "New starter on Monday: account, mailbox and access.",
                "Software installation": "Please install the software my role needs.",
                "Access to shared folder": "I need write access to my department's folder.",
                "New laptop": "My laptop is five years old and very slow.",
                "VPN access": "I will work from home two days a week."}[category]
        done = {"New user account": "Account, mailbox and groups created; sent to the manager.",
                "Software installation": "Installed from the software centre.",
                "Access to shared folder": "Added to the folder's group after the owner approved.",
                "New laptop": "Laptop prepared and handed over; old one wiped.",
                "VPN access": "Added to the VPN group; the user signed in with MFA."}[category]
        return self.ticket(kind="request", title=f"{category} for {caller.name}",
                           category=category, opened=opened, caller=caller, impact=3,
                           urgency=rng.choice([2, 3]), channel="portal", description=text,
                           solution=done, code="solved_permanently", breach=0.03)

    def story_incidents(self) -> list[dict]:
        """Incidents that belong to a problem, the major incident, a change, or a cluster not yet
        seen as a problem (the problem candidates)."""
        rng = self.rng
        out: list[dict] = []
        shop, gw = self.services["Web Shop"], self.named("Payment Gateway")
        for days in (40, 35, 30, 26, 19, 12, 5):
            out.append(self.ticket(
                title="Web Shop: checkout fails with error 500", category="Application",
                opened=self.day(days, rng.choice([10, 14, 15, 19]), rng.randrange(60)),
                caller=self.employee("Customer service agent"), impact=2, urgency=1, ci=gw,
                service=shop, channel=rng.choice(["phone", "email"]),
                description="Customers report error 500 when paying; retrying a minute later works.",
                solution="Restarted the payment adapter; payments go through again.",
                tag="prb:shop"))
        erp = self.named("db-erp-oracle")
        for days in (41, 39, 38, 36, 35):
            out.append(self.ticket(
                title="ERP very slow in the morning until about 09:00", category="Database",
                opened=self.day(days, 7, rng.randrange(20, 55), weekday=True),
                caller=self.employee("Buyer"), impact=2, urgency=2, ci=erp,
                service=self.services["ERP"], channel="phone",
                description="Order entry takes minutes per line. The nightly batch is still running.",
                solution="Waited for the batch to finish; ERP normal again.", tag="prb:erp"))
        vpn = self.named("VPN Concentrator Service")
        for days in (30, 27, 23, 20, 16, 13, 9, 6, 1):
            out.append(self.ticket(
                title="VPN disconnects every few minutes", category="Network",
                opened=self.day(days, rng.choice([8, 9, 17, 19]), rng.randrange(60)),
                caller=self.employee(rng.choice(["Sales manager", "Key account manager",
                                                 "Transport planner"])),
                impact=3, urgency=2, ci=vpn, service=self.services["Remote Access VPN"],
                channel="phone", description="Working from home; the VPN drops and reconnects "
                                             "every few minutes.",
                solution="Set the client MTU to 1380; the connection stays up.", tag="prb:vpn"))
        for days in (18, 17, 17, 16, 14):
            caller = self.employee()
            site = next(c for _n, c, _tz in SITES if self.sites[c].id == caller.site_id)
            out.append(self.ticket(
                title="Outlook crashes after the Office update", category="Workstation",
                opened=self.day(days, rng.choice([8, 9, 10]), rng.randrange(60), weekday=True),
                caller=caller, impact=3, urgency=2, ci=rng.choice(self.workstations[site]),
                service=self.services["E-mail and Calendar"], channel="phone",
                description="Outlook closes a few seconds after it starts, since this week's update.",
                solution="Disabled the CRM add-in; Outlook starts.", tag="prb:outlook"))
        files = self.named("File Server Cluster")
        for days in (8, 6, 4):
            out.append(self.ticket(
                title="Mapped drives disappear after VPN reconnect", category="Workstation",
                opened=self.day(days, rng.choice([9, 13]), rng.randrange(60), weekday=True),
                caller=self.employee("Transport planner"), impact=3, urgency=2, ci=files,
                service=self.services["File Sharing"], channel="chat",
                description="After the VPN reconnects the H: and S: drives are gone.",
                solution="Re-mapped the drives with the logon script.", tag="prb:drives"))
        out.extend(self.major_incident())
        # the failed change's incident (Route Optimiser upgrade, the Saturday after CAB 2)
        when = self.route_start + dt.timedelta(hours=11, minutes=20)
        out.append(self.ticket(
            title="Route Optimiser: carrier export fails after the upgrade", category="Application",
            opened=when, caller=self.employee("Transport planner"), impact=2, urgency=1,
            ci=self.named("Route Optimiser"), channel="phone",
            description="No routes reach the carriers since this morning's first export.",
            solution="The upgrade was rolled back to 5.1; exports go out again.",
            code="solved_by_change", tag="chg-fail",
            times={"response_due": when + dt.timedelta(minutes=30),
                   "resolution_due": when + dt.timedelta(hours=8),
                   "responded_at": when + dt.timedelta(minutes=9),
                   "resolved_at": when + dt.timedelta(hours=1, minutes=35)}))
        # recurring, not yet seen as a problem: the candidates of the last 30 days (and one older)
        bi = next(v for v in self.vms if v.name.startswith("vm-bi-"))
        for days in (25, 20, 15, 10, 4):
            out.append(self.ticket(
                title=f"Disk almost full on {bi.name}", category="Server",
                opened=self.day(days, rng.choice([2, 3, 4]), rng.randrange(60)),
                caller=None, impact=3, urgency=2, ci=bi, channel="monitoring",
                description="Alert from monitoring: /var/lib/reports above 90 %.",
                solution="Rotated and compressed old report exports.", breach=0))
        kiruna = self.switches["KRN"][0]
        for days in (16, 12, 9, 5, 2):
            out.append(self.ticket(
                title="Wi-Fi drops in Kiruna Depot", category="Network",
                opened=self.day(days, rng.choice([7, 8, 13]), rng.randrange(60), weekday=True),
                caller=self.employee(site="KRN"), impact=2, urgency=2, ci=kiruna, channel="phone",
                description="Handhelds and laptops lose Wi-Fi in the loading bay.",
                solution="Rebooted the access points in the loading bay.", breach=0))
        phones = self.named("Contact Centre")
        for days in (11, 8, 6):
            out.append(self.ticket(
                title="Contact Centre: calls drop when transferred to a queue", category="Application",
                opened=self.day(days, rng.choice([10, 14]), rng.randrange(60), weekday=True),
                caller=self.employee("Customer service agent"), impact=2, urgency=2, ci=phones,
                channel="phone", description="Customers are cut off when the agent transfers them.",
                solution="Restarted the queue service.", breach=0))
        payroll = self.named("Payroll Engine")
        for days in (40, 38, 36):
            out.append(self.ticket(
                title="Payroll Engine: payslip export very slow", category="Application",
                opened=self.day(days, 9, rng.randrange(60), weekday=True),
                caller=self.employee("Payroll specialist"), impact=3, urgency=2, ci=payroll,
                channel="email", description="Exporting the payslips takes over an hour.",
                solution="Cleared the export queue; next run finished in 10 minutes.", breach=0))
        return out

    def major_incident(self) -> list[dict]:
        """Thursday after CAB 3: the scanners at every warehouse lose their sessions."""
        gw = self.named("Handheld Scanner Gateway")
        wms = self.services["Warehouse Management"]
        app_lead = self.agents["Application Support"][0]
        day = self.cab_days[2] + dt.timedelta(days=2)
        self.mi_day = day
        start = self.when(day, 6, 31)
        opened = self.when(day, 6, 42)
        resolved = self.when(day, 9, 18)
        notes = [(self.when(day, 6, 55), "Major incident declared; bridge opened with the "
                  "warehouse site managers.", True),
                 (self.when(day, 7, 30), "Gateway log: every session dropped at 06:31 when the "
                  "certificate store reloaded.", False),
                 (self.when(day, 8, 50), "Workaround: restarted the gateway service; scanners "
                  "reconnect within two minutes.", False),
                 (self.when(day, 9, 18), "All sites confirm scanning works. Problem record "
                  "opened for the root cause.", True)]
        out = [self.ticket(
            title="Handheld scanners cannot connect at any warehouse", category="Application",
            opened=opened, caller=self.employee("Warehouse supervisor", "MMO"), impact=1,
            urgency=1, ci=gw, service=wms, channel="phone", major=True,
            description="From 06:30 no handheld scanner can confirm picks at any warehouse; "
                        "the morning shift is picking on paper.",
            solution="Restarted the scanner gateway service; all scanners reconnected.",
            assignee=app_lead, tag="mi", notes=notes, outage_start=start,
            outage_end=self.when(day, 9, 5),
            times={"response_due": opened + dt.timedelta(minutes=15),
                   "resolution_due": opened + dt.timedelta(minutes=240),
                   "responded_at": opened + dt.timedelta(minutes=8), "resolved_at": resolved})]
        for minute, site in ((46, "GOT"), (51, "KRN"), (58, "STO"), (63, "MMO"), (75, "OSL")):
            t = self.when(day, 6, minute)
            out.append(self.ticket(
                title=f"Scanners offline in {self.sites[site].name}", category="Application",
                opened=t, caller=self.employee(site=site), impact=2, urgency=1, ci=gw, service=wms,
                channel=self.rng.choice(["phone", "chat"]),
                description="No scanner can confirm picks.",
                solution="Resolved with the major incident: gateway restarted.",
                assignee=app_lead, tag="mi-child",
                times={"response_due": t + dt.timedelta(minutes=30),
                       "resolution_due": t + dt.timedelta(minutes=480),
                       "responded_at": t + dt.timedelta(minutes=4), "resolved_at": resolved}))
        again = self.when(day + dt.timedelta(days=1), 6, 35)
        out.append(self.ticket(
            title="Scanners disconnect again in Göteborg DC", category="Application",
            opened=again, caller=self.employee("Warehouse supervisor", "GOT"), impact=2,
            urgency=1, ci=gw, service=wms, channel="phone",
            description="Same as yesterday, only Göteborg so far.",
            solution="Restarted the gateway service, as yesterday.",
            assignee=app_lead, tag="mi-again",
            times={"response_due": again + dt.timedelta(minutes=30),
                   "resolution_due": again + dt.timedelta(minutes=480),
                   "responded_at": again + dt.timedelta(minutes=5),
                   "resolved_at": again + dt.timedelta(minutes=23)}))
        return out

    def tickets(self) -> None:
        self._sla_cache: dict = {}
        specs: list[dict] = []
        for days_ago in range(HISTORY_DAYS, 0, -1):
            day = self.today - dt.timedelta(days=days_ago)
            off = day.weekday() >= 5 or day in self.holidays
            wd = 6 if day in self.holidays else day.weekday()
            specs.extend(self.everyday_incident(day, off)
                         for _ in range(self.poisson(WEEKDAY_INCIDENTS[wd])))
            specs.extend(self.request(day, off) for _ in range(self.poisson(WEEKDAY_REQUESTS[wd])))
        specs.extend(self.story_incidents())
        specs.sort(key=lambda s: s["values"]["opened_at"])
        self.tickets_made = []
        for spec in specs:
            inc = self.make_ticket(spec)
            if spec["tag"]:
                self.tagged.setdefault(spec["tag"], []).append(inc)
            if spec["tag"] == "mi-child":
                self.clock.set(spec["values"]["opened_at"] + dt.timedelta(minutes=3))
                incidents.link_child(self.tagged["mi"][0].id, inc.id, self.desk)

    def make_ticket(self, spec: dict):  # noqa: ANN201
        rng = self.rng
        v, t = spec["values"], spec["t"]
        kind = v["kind"]
        assignee = spec["assignee"]
        opened = v["opened_at"]
        resolved, responded = t["resolved_at"], t["responded_at"]
        notes = spec["notes"]
        if resolved <= self.now:
            closed = resolved + dt.timedelta(days=3 if kind == "incident" else 2)
            breached = resolved > v["resolution_due"]
            v.update(assignee=assignee, responded_at=responded, resolved_at=resolved,
                     status=("closed" if closed <= self.now
                             else "resolved" if kind == "incident" else "fulfilled"),
                     closed_at=closed if closed <= self.now else None,
                     sla_state="breached" if breached else "met",
                     escalation_level=2 if breached else 0)
            if kind == "incident":
                v.update(resolution_code=spec["code"], solution=spec["solution"])
                if "outage_start" not in v and v["impact"] <= 2 and v.get("service") \
                        and spec["category"] in ("Network", "Server", "Application", "Database") \
                        and rng.random() < 0.5:
                    v.update(outage_start=opened, outage_end=resolved)
            else:
                v.update(solution=spec["solution"])
            if notes is None:
                notes = [(responded + (resolved - responded) * f, None, rng.random() < 0.3)
                         for f in sorted(rng.random() for _ in range(rng.choice([0, 1, 1, 2])))]
        elif responded > self.now:
            v["status"] = "new"
            notes = []
        else:
            state = rng.choices(["in_progress", "assigned", "pending"], [6, 2, 2])[0]
            v.update(assignee=assignee, responded_at=responded, status=state)
            if state == "pending":
                paused = responded + (self.now - responded) * rng.uniform(0.3, 0.9)
                v.update(pending_reason=rng.choice(["Waiting for the caller", "Waiting for the vendor",
                                                    "Waiting for a spare part"]),
                         paused_since=paused, sla_state="paused")
            notes = notes or [(responded + (self.now - responded) * rng.uniform(0.1, 0.5), None,
                               False)]
        self.clock.set(opened)
        inc = incidents.create_incident({"id": self.uid(), **v}, self.desk)
        rows = []
        for when, text, public in notes:
            if when <= self.now:
                rows.append({"id": self.uid(), "incident": inc.id, "author": assignee.id,
                             "public": public, "created_at": when.replace(microsecond=0),
                             "time_spent_minutes": rng.choice([5, 10, 15, 20, 30]),
                             "text": text or rng.choice(WORK_NOTES["request" if kind == "request"
                                                                   else spec["category"]])})
        if rows:
            self.clock.set(rows[-1]["created_at"])
            records.add_children(WorkLog, rows, self.act(assignee))
        return inc

    # -- problems, known errors, changes and the CAB, in the order they happened --------------
    def story(self) -> None:
        self.problems_story()
        self.change_stories()
        for k in range(4):
            self.weekly_cab(k)
        self.planned_cab()
        self.play()

    def link(self, problem, tag: str, ke=None, before: dt.datetime | None = None) -> None:  # noqa: ANN001
        """Link the tagged incidents opened so far; later ones when they are opened."""
        now = before or self.clock_now
        first = [i.id for i in self.tagged.get(tag, []) if i.opened_at <= now]
        if first:
            problems.link_incidents(problem.id, first, self.cm)
        for inc in self.tagged.get(tag, []):
            if inc.opened_at > now:
                self.later(inc.opened_at + dt.timedelta(minutes=12),
                           lambda i=inc, p=problem, k=ke: self.link_one(i, p, k))

    def link_one(self, inc, problem, ke) -> None:  # noqa: ANN001
        values = {"problem": problem.id}
        if ke is not None:
            values["known_error"] = ke.id
        records.update(type(inc), inc.id, None, values, self.desk)

    @property
    def clock_now(self) -> dt.datetime:
        from itsmdesk.models.base import utcnow

        return utcnow()

    def problems_story(self) -> None:
        lead_app = self.agents["Application Support"][0]
        lead_net = self.agents["Network Operations"][0]
        lead_srv = self.agents["Server & Storage"][0]
        desk_lead = self.agents["Service Desk"][0]
        self.problem_of: dict[str, object] = {}
        self.ke_of: dict[str, object] = {}

        def problem(key: str, at: dt.datetime, values: dict, ci: str | None,
                    service: str, team: str, assignee) -> None:  # noqa: ANN001
            def go() -> None:
                ci_row = self.named(ci) if ci else None
                prb = problems.create_problem({
                    "id": self.uid(), "status": "new", "service": self.services[service],
                    "ci": ci_row, "team": self.teams[team], "assignee": assignee,
                    "category": values.pop("category", None), **values},
                    self.cm, cis=[ci_row] if ci_row else [])
                self.problem_of[key] = prb
                self.link(prb, "prb:" + key if key != "scanner" else "mi")
            self.later(at, go)

        def step(key: str, at: dt.datetime, target: str, changes: dict | None = None) -> None:
            def go() -> None:
                prb = self.problem_of[key]
                self.problem_of[key] = problem_lifecycle.transition(prb.id, None, target, self.cm,
                                                                   changes or {})
            self.later(at, go)

        def known_error(key: str, at: dt.datetime, values: dict, ci: str) -> None:
            def go() -> None:
                prb = self.problem_of[key]
                ke = problems.create_known_error({
                    "id": self.uid(), "problem": prb, "title": prb.title, "symptom": prb.title,
                    "root_cause": prb.root_cause, "workaround": prb.workaround, **values},
                    self.cm, cis=[self.named(ci)])
                self.ke_of[key] = ke
                for inc in self.tagged.get("prb:" + key, []):
                    if inc.opened_at > at:
                        self.later(inc.opened_at + dt.timedelta(minutes=13),
                                   lambda i=inc, k=ke: records.update(type(i), i.id, None,
                                                                      {"known_error": k.id},
                                                                      self.desk))
            self.later(at, go)

        # the nightly ERP batch (fixed by an index at CAB 1's weekend)
        t = self.day(35, 11, weekday=True)
        problem("erp", t, {
            "title": "Nightly batch overruns and slows ERP in the morning",
            "description": "Several mornings a week the goods movement batch is still running at "
                           "07:00 and order entry crawls until it ends.",
            "priority": 2, "category": "Database"}, "db-erp-oracle", "ERP", "Server & Storage",
            lead_srv)
        step("erp", t + dt.timedelta(hours=1), "investigating")
        t = self.workday_after(t, 3, 15)
        step("erp", t, "root_cause_known", {
            "root_cause": "The goods movement table has no index on (plant, posting date); the "
                          "batch scans 80 million rows.",
            "workaround": "Start the batch at 22:00 instead of 01:00."})
        known_error("erp", t + dt.timedelta(minutes=20), {
            "error_code": "ERP-BATCH-3", "solution_status": "fix_planned"}, "db-erp-oracle")
        # Web Shop token expiry: root cause known, the fix is on the next CAB's agenda
        t = self.workday_after(self.day(30, 0), 1, 10)
        problem("shop", t, {
            "title": "Checkout fails with error 500 when the payment token expires",
            "description": "Recurring: the first payments after a quiet hour fail with error 500.",
            "priority": 2, "category": "Application"}, "Payment Gateway", "Web Shop",
            "Application Support", lead_app)
        step("shop", t + dt.timedelta(hours=2), "investigating")
        t = self.workday_after(t, 6, 16)
        step("shop", t, "root_cause_known", {
            "root_cause": "The payment gateway adapter caches the provider's token past its "
                          "24-hour expiry; the first payment after expiry fails.",
            "workaround": "Restart the payment adapter (two minutes, no lost orders)."})
        known_error("shop", t + dt.timedelta(minutes=20), {
            "error_code": "PAY-500", "solution_status": "fix_planned"}, "Payment Gateway")
        # VPN drops for home users since the ISP change
        t = self.workday_after(self.day(20, 0), 1, 11)
        problem("vpn", t, {
            "title": "VPN disconnects every few minutes for home users",
            "description": "Since the ISP change home users on some broadband providers lose the "
                           "tunnel every few minutes.", "priority": 3, "category": "Network"},
            "VPN Concentrator Service", "Remote Access VPN", "Network Operations", lead_net)
        step("vpn", self.workday_after(t, 1, 9), "investigating")
        t = self.vpn_known = self.workday_after(self.day(11, 0), 1, 14)
        step("vpn", t, "root_cause_known", {
            "root_cause": "The new ISP link has a smaller MTU; large packets are dropped and the "
                          "tunnel times out.",
            "workaround": "Set the client MTU to 1380."})
        known_error("vpn", t + dt.timedelta(minutes=20), {
            "error_code": "VPN-MTU", "solution_status": "fix_in_progress"},
            "VPN Concentrator Service")
        # Outlook and the CRM add-in: a workaround, the cause still open
        t = self.day(16, 11, weekday=True)
        problem("outlook", t, {
            "title": "Outlook crashes after the monthly Office update",
            "description": "Outlook closes at start on laptops that got this month's Office update.",
            "priority": 3, "workaround": "Disable the CRM add-in.", "category": "Workstation"},
            None, "E-mail and Calendar", "Service Desk", desk_lead)
        t = self.workday_after(t, 1, 9)
        step("outlook", t, "investigating")
        known_error("outlook", t + dt.timedelta(hours=1), {
            "error_code": "OL-ADDIN-22", "solution_status": "workaround_only"},
            "Exchange Online Connector")
        # mapped drives: new, nobody has looked yet
        problem("drives", self.day(3, 15, weekday=True), {
            "title": "Mapped drives disappear after VPN reconnect",
            "description": "Three calls this week: H: and S: are gone after the VPN reconnects.",
            "priority": 4, "workaround": "Re-map with the logon script.",
            "category": "Workstation"}, "File Server Cluster", "File Sharing", "Service Desk",
            desk_lead)
        # the scanner gateway: the major incident's problem
        day = self.mi_day
        problem("scanner", self.when(day, 11, 0), {
            "title": "Handheld Scanner Gateway drops every session when its certificate store "
                     "reloads",
            "description": "Major incident this morning: every scanner at every warehouse lost "
                           "its session at 06:31.", "priority": 1, "category": "Application"},
            "Handheld Scanner Gateway", "Warehouse Management", "Application Support", lead_app)
        step("scanner", self.when(day, 11, 5), "investigating")
        step("scanner", self.when(day + dt.timedelta(days=1), 8, 0), "root_cause_known", {
            "root_cause": "A bug in gateway 3.4.1: reloading the certificate store closes every "
                          "session (vendor case 2291-77, fixed in 3.4.2).",
            "workaround": "Restart the gateway service; scanners reconnect within two minutes."})
        known_error("scanner", self.when(day + dt.timedelta(days=1), 8, 15), {
            "error_code": "HSG-3.4.1-CERT", "solution_status": "fix_in_progress"},
            "Handheld Scanner Gateway")
        self.later(self.when(day + dt.timedelta(days=1), 6, 45), lambda: problems.link_incidents(
            self.problem_of["scanner"].id, [i.id for i in self.tagged["mi-again"]], self.desk))

    # -- changes ------------------------------------------------------------------------------
    def prep_window(self, k: int) -> tuple[dt.datetime, dt.datetime]:
        """When changes for CAB k are drafted and made ready: after CAB k-1, before k's agenda."""
        if k == 4:
            start, end = self.cab_at(3, 0, 12), self.now - dt.timedelta(hours=2)
        else:
            start = self.cab_at(k, -6, 9) if k == 0 else self.cab_at(k - 1, 0, 13)
            end = self.cab_at(k, -1, 15)
        return start, end

    def story_for(self, k: int, share: float, **kw) -> Story:
        frozen = {self.FROZEN[n] for n in kw["cis"] if n in self.FROZEN}
        if frozen and kw["key"] != "payroll-db":  # nothing in the freezes (but one attempt)
            kw["start"] = self.outside_freeze(kw["start"], kw["hours"], frozen.pop())
        start, end = self.prep_window(k)
        prepared = start + (end - start) * share * 0.5
        return Story(prepared=prepared, ready=end - (end - start) * 0.05, **kw)

    def change_stories(self) -> None:
        rng = self.rng
        c = self.cab_at
        sunday = lambda k, h=2.0: self.cab_at(k, 5, h)  # noqa: E731 - the Sunday after CAB k
        std = "Revert the snapshot / previous configuration."
        stories = [
            # -- CAB 1 (the oldest held meeting) --------------------------------------------
            self.story_for(0, 0.1, key="router", title="Upgrade core-rtr-01 to IOS-XE 17.9.5",
                           type="normal", category="Network", cis=["core-rtr-01"],
                           team="Network Operations", start=sunday(0), hours=2,
                           reason="Cisco security advisory for 17.9.4; core-rtr-02 carries the "
                                  "traffic meanwhile.",
                           plan="1. Shift traffic to core-rtr-02.\n2. Install 17.9.5 and reload.\n"
                                "3. Check routing tables and BFD.\n4. Shift traffic back.",
                           backout="Boot the previous image (kept on flash); 15 minutes.",
                           test="Ping and traceroute from every site; check the BGP sessions.",
                           pir=("successful", "")),
            self.story_for(0, 0.3, key="erp-index", title="Add index to the goods movement table",
                           type="normal", category="Database", cis=["db-erp-oracle"],
                           team="Server & Storage", start=sunday(0, 2.5), hours=1.5,
                           problem="erp", known_error="erp",
                           reason="Fix for the nightly batch overrun (problem record).",
                           plan="1. Create the index online.\n2. Gather statistics.\n"
                                "3. Run the batch in test mode.",
                           backout="Drop the index; the batch runs as before.",
                           test="The batch finishes before 04:00; order entry response time.",
                           pir=("successful", "Batch now ends at 02:40."),
                           then=lambda: self.erp_fixed()),
            self.story_for(0, 0.5, key="san", title="Replace failing disk shelf in san-got-01",
                           type="normal", category="Infrastructure", cis=["san-got-01"],
                           team="Server & Storage", start=c(0, 4, 8), hours=3,
                           reason="Shelf 3 reports predictive failures on two disks.",
                           plan="1. Verify last night's backup.\n2. Evacuate shelf 3.\n"
                                "3. Swap the shelf with the vendor engineer.\n4. Rebalance.",
                           backout="Keep data on the remaining shelves; the vendor takes the "
                                   "new shelf back.",
                           test="Array health green; latency on the ERP database unchanged.",
                           conditions="Only after last night's backup has been verified.",
                           pir=("successful", "")),
            self.story_for(0, 0.7, key="mfa", title="Enable MFA for VPN sign-in",
                           type="normal", category="Security", cis=["VPN Concentrator Service"],
                           team="Network Operations", start=c(0, 2, 19), hours=2,
                           reason="Audit finding: VPN accepts a password alone.",
                           plan="1. Enable the MFA policy for the VPN group.\n2. Send the "
                                "enrolment guide.\n3. Service desk on standby.",
                           backout="Disable the MFA policy.",
                           test="Sign in from home with three test users.",
                           pir=("partially", "Two field users needed help to enrol; send the "
                                             "guide a week earlier next time.")),
            self.story_for(0, 0.2, key="fw-rule", title="Add firewall rule for the new carrier "
                           "portal", type="standard", category="Infrastructure",
                           cis=["sto-fw-01"], team="Network Operations", start=c(0, 1, 14),
                           hours=0.5, template="Add firewall rule (standard)",
                           reason="Request from Transport Planning.", plan="", backout=std,
                           test="", pir=("successful", "")),
            # -- CAB 2 --------------------------------------------------------------------------
            self.story_for(1, 0.1, key="fiori", title="Apply the support pack to the SAP Fiori "
                           "Portal", type="normal", category="Application",
                           cis=["SAP Fiori Portal"], team="Application Support",
                           start=c(1, 2, 18), hours=2, outage_minutes=30,
                           reason="SAP support pack with fixes for the purchase approval app.",
                           plan="1. Announce.\n2. Import the support pack.\n3. Clear the caches.\n"
                                "4. Buyers test the approval app.",
                           backout="Restore the portal from the snapshot taken before.",
                           test="Approve a test purchase order on a phone and a laptop.",
                           pir=("successful", "")),

            self.story_for(1, 0.3, key="route", title="Upgrade Route Optimiser to 5.2",
                           type="normal", category="Application", cis=["Route Optimiser"],
                           team="Application Support", start=self.route_start, hours=2,
                           outage_minutes=30, requester="Transport planner",
                           reason="5.2 plans multi-drop routes; the planners asked for it.",
                           plan="1. Stop the planner service.\n2. Upgrade application and "
                                "database schema.\n3. Start and plan tomorrow's routes.",
                           backout="Restore the database and reinstall 5.1 (45 minutes).",
                           test="Plan tomorrow's routes for one depot; compare with 5.1.",
                           result="backed_out",
                           pir=("failed", "The carrier mapping table was not migrated; the test "
                                          "plan now exports to every carrier."),
                           then=lambda: self.route_failed()),
            self.story_for(1, 0.5, key="rdp", title="Open RDP from the Internet to the route "
                           "planner for the vendor", type="normal", category="Security", cis=["sto-fw-01"],
                           team="Network Operations", start=c(1, 2, 15), hours=1, cab="reject",
                           reason="The Route Optimiser vendor wants direct access for support.",
                           plan="1. NAT rule to the planner VM.\n2. Restrict to the vendor's IP.",
                           backout="Remove the rule.", test="Vendor connects.",
                           then=lambda: self.rdp_rejected()),
            self.story_for(1, 0.2, key="tls", title="Renew the Shop API TLS certificate",
                           type="standard", category="Infrastructure", cis=["Shop API"],
                           team="Application Support", start=c(1, 1, 21), hours=0.5,
                           template="Renew TLS certificate", reason="Expires in 14 days.",
                           plan="", backout=std, test="", pir=("successful", "")),
            self.story_for(1, 0.6, key="patch", title="Patch Linux VMs (monthly): HR Portal and BI",
                           type="standard", category="Infrastructure",
                           cis=[v.name for v in self.vms if v.name.startswith(("vm-hr-", "vm-bi-"))],
                           team="Server & Storage", start=sunday(1, 2), hours=2,
                           template="Patch Linux VMs (monthly)", reason="Monthly patching.",
                           plan="", backout=std, test="", pir=("successful", "")),
            # -- CAB 3 --------------------------------------------------------------------------
            self.story_for(2, 0.2, key="payroll-db", title="Move the Payroll database to the new "
                           "SQL Server cluster", type="normal", category="Database",
                           cis=["db-payroll-sqlserver"], team="Server & Storage",
                           start=self.in_next_freeze(self.cab_at(2)), hours=5,
                           outage_minutes=180, cab="reject", requester="Payroll specialist",
                           reason="The old cluster's hardware leaves support.",
                           plan="1. Stop Payroll.\n2. Back up and restore on the new cluster.\n"
                                "3. Repoint the Payroll Engine.\n4. Start and test.",
                           backout="Repoint to the old cluster (kept read-only for a week).",
                           test="Payroll specialist runs a test payslip.",
                           then=lambda: self.payroll_db_rework()),
            self.story_for(2, 0.4, key="payroll-tax", title=f"Payroll 5.1: tax tables "
                           f"{self.now.year + 1}", type="normal", category="Application",
                           cis=["Payroll Engine"], team="Application Support",
                           start=self.when(self.today - dt.timedelta(days=6), 8), hours=240,
                           requester="Payroll specialist",
                           reason="New tax tables from the tax agency.",
                           plan="Rolled out with release Payroll 5.1, site by site.",
                           backout="Reinstall Payroll client 5.0.2 from the DML.",
                           test="Acceptance test by Payroll.", conditions="Only after the "
                           "acceptance test is signed off.", extra={"until": "release"}),
            self.story_for(2, 0.5, key="payroll-layout", title="Payroll 5.1: new payslip layout",
                           type="normal", category="Application", cis=["Payroll Engine"],
                           team="Application Support",
                           start=self.when(self.today - dt.timedelta(days=6), 8), hours=240,
                           requester="HR partner", reason="HR wants the new layout.",
                           plan="Rolled out with release Payroll 5.1, site by site.",
                           backout="Reinstall Payroll client 5.0.2 from the DML.",
                           test="Acceptance test by Payroll.", extra={"until": "release"}),
            self.story_for(2, 0.7, key="hr", title="Upgrade HR Portal Web to 3.2",
                           type="normal", category="Application", cis=["HR Portal Web"],
                           team="Application Support", start=c(2, 2, 18), hours=2,
                           outage_minutes=60, requester="HR partner",
                           reason="3.2 adds the new absence forms.",
                           plan="1. Announce.\n2. Upgrade.\n3. HR tests the absence form.",
                           backout="Restore the VM snapshot.", test="HR runs the test list.",
                           pir=("successful", "")),
            # the emergency change (major incident on the Thursday after CAB 3)
            Story(key="scanner-fix", title="Upgrade Handheld Scanner Gateway to 3.4.2",
                  type="emergency", category="Application", cis=["Handheld Scanner Gateway"],
                  team="Application Support",
                  start=self.when(self.mi_day + dt.timedelta(days=1), 20), hours=1,
                  prepared=self.when(self.mi_day + dt.timedelta(days=1), 8, 40),
                  ready=self.when(self.mi_day + dt.timedelta(days=1), 9, 30),
                  problem="scanner", known_error="scanner",
                  reason="The scanners dropped again this morning; 3.4.2 fixes the certificate "
                         "reload bug (vendor case 2291-77).",
                  plan="1. Stop the gateway at 20:00 (evening shift on paper for 15 minutes).\n"
                       "2. Install 3.4.2.\n3. Start; reconnect one scanner per site.",
                  backout="Reinstall 3.4.1 (10 minutes) and restart.",
                  test="Reload the certificate store with scanners connected; no session drops.",
                  outage_minutes=15, pir=("successful", "No session drops at the next three shift "
                                                        "changes; vendor fix confirmed."),
                  then=lambda: self.scanner_fixed()),
            self.story_for(2, 0.3, key="hr-tls", title="Renew the HR Portal TLS certificate",
                           type="standard", category="Infrastructure", cis=["HR Portal Web"],
                           team="Application Support", start=c(2, 1, 12), hours=0.5,
                           template="Renew TLS certificate", reason="Expires in 10 days.",
                           plan="", backout=std, test="", pir=("successful", "")),
            # -- CAB 4 (a week before the next one) --------------------------------------------
            self.story_for(3, 0.2, key="esxi", title="Upgrade ESXi hosts in Göteborg to 8.0 U3",
                           type="normal", category="Infrastructure",
                           cis=["esx-got-01", "esx-got-02", "esx-got-03", "esx-got-04"],
                           team="Server & Storage", start=sunday(3, 1), hours=4, cab="defer",
                           decision_reason="The vendor has a known vMotion issue in this build; "
                                           "wait for the patch note and bring it back next week.",
                           reason="8.0 U2 leaves support this quarter.",
                           plan="1. Put one host at a time in maintenance mode.\n2. Upgrade and "
                                "reboot.\n3. Exit maintenance mode; next host.",
                           backout="Reinstall 8.0 U2 from the host profile.",
                           test="vMotion a test VM across every host.",
                           pir=("successful", ""), then=lambda: self.esxi_deferred()),
            self.story_for(3, 0.1, key="erp-patch", title="Patch the ERP database to the latest "
                           "release update", type="normal", category="Database",
                           cis=["db-erp-oracle"], team="Server & Storage",
                           start=sunday(3, 1.5), hours=4,
                           outage_minutes=60,
                           reason="Quarterly Oracle release update with security fixes.",
                           plan="1. Stop ERP at 02:00.\n2. Apply the RU with datapatch.\n"
                                "3. Start ERP; key users test.",
                           backout="Roll back the RU with opatch (40 minutes).",
                           test="Key users post a goods receipt and an invoice.",
                           conditions="Service desk to tell the warehouse sites the day before.",
                           pir=("successful", "")),
            self.story_for(3, 0.3, key="wms", title="Scale out WMS Core with two more VMs",
                           type="normal", category="Infrastructure", cis=["WMS Core"],
                           team="Server & Storage",
                           start=self.cab_at(4, 2, 20), hours=2,
                           reason="Peak season: WMS Core runs at 80 % CPU at shift change.",
                           plan="1. Deploy two VMs from the template.\n2. Add them to the pool.",
                           backout="Remove them from the pool.", test="Load balancer health.",
                           pir=("successful", "")),
            self.story_for(3, 0.5, key="fw-fw", title="Upgrade site firewalls to FortiOS 7.4.4",
                           type="normal", category="Security",
                           cis=[fw.name for fw in self.firewalls], team="Network Operations",
                           start=c(3, 2, 22), hours=3, outage_minutes=5,
                           reason="Vendor advisory: SSL-VPN vulnerability fixed in 7.4.4.",
                           plan="1. Upgrade the HA secondary.\n2. Fail over.\n3. Upgrade the "
                                "primary.\n4. Fail back.",
                           backout="Boot the previous partition.", test="Traffic from every site.",
                           pir=("successful", "")),
            # -- for the next CAB (the planned meeting) ----------------------------------------
            self.story_for(4, 0.1, key="shop-fix", title="Fix the payment token expiry in the "
                           "Payment Gateway adapter", type="normal", category="Application",
                           cis=["Payment Gateway"], team="Application Support",
                           start=self.cab_at(4, 2, 21), hours=1,
                           problem="shop", known_error="shop",
                           reason="Permanent fix for the checkout error 500 (problem record and "
                                  "known error PAY-500).",
                           plan="1. Deploy adapter 2.8.1 (refreshes the token an hour before "
                                "expiry).\n2. Watch the first payments.",
                           backout="Redeploy adapter 2.8.0.",
                           test="Force a token expiry in test; pay with a test card."),
            self.story_for(4, 0.3, key="shop", title="Deploy Web Shop 4.2 to production",
                           type="normal", category="Application",
                           cis=["Shop Frontend", "Shop API"], team="Application Support",
                           start=self.cab_at(4, 5, 1, 30), hours=2.5,
                           outage_minutes=60, requester="Sales manager",
                           reason="Release Web Shop 4.2: new checkout and delivery slot booking.",
                           plan="1. Maintenance page on.\n2. Deploy frontend and API.\n3. Run the "
                                "database migration.\n4. Smoke test; maintenance page off.",
                           backout="Redeploy 4.1.3 and restore the database snapshot (40 min).",
                           test="Place test orders with each payment method."),
            self.story_for(4, 0.5, key="route-again", title="Upgrade Route Optimiser to 5.2 "
                           "(second attempt)", type="normal", category="Application",
                           cis=["Route Optimiser"], team="Application Support",
                           start=self.cab_at(4, 3, 20), hours=2,
                           outage_minutes=30, requester="Transport planner",
                           reason="Repeat of the backed-out upgrade with the carrier mapping "
                                  "migration added.",
                           plan="1. Stop the planner service.\n2. Upgrade, including the carrier "
                                "mapping migration.\n3. Export to every carrier.",
                           backout="Restore the database and reinstall 5.1 (45 minutes).",
                           test="Export tomorrow's routes to every carrier in test first."),
            self.story_for(4, 0.6, key="vpn-mtu", title="Set MTU 1380 in the VPN client profile",
                           type="normal", category="Network", cis=["VPN Concentrator Service"],
                           team="Network Operations",
                           start=self.cab_at(4, 2, 19), hours=1,
                           problem="vpn", known_error="vpn",
                           reason="Permanent fix for the VPN drops (problem record, known error "
                                  "VPN-MTU).",
                           plan="1. Publish the new client profile.\n2. Clients pick it up at "
                                "the next connect.",
                           backout="Publish the previous profile.",
                           test="Three home users on the affected ISPs for a day."),
            self.story_for(4, 0.2, key="disk", title="Increase disk on the BI report server",
                           type="standard", category="Infrastructure",
                           cis=[next(v.name for v in self.vms if v.name.startswith("vm-bi-"))],
                           team="Server & Storage", start=self.cab_at(4, 1, 12), hours=0.5,
                           template="Increase VM disk", reason="Disk-full alerts every few days.",
                           plan="", backout=std, test=""),
            self.story_for(4, 0.7, key="exchange", title="Upgrade the Exchange Online connector",
                           type="normal", category="Application",
                           cis=["Exchange Online Connector"], team="Application Support",
                           start=self.cab_at(4, 9, 19), hours=1,
                           stop="draft", reason="Connector 2.x is deprecated by the vendor.",
                           plan="1. Install the new connector.\n2. Move the mail flow.",
                           backout="Move the mail flow back.", test="Send and receive."),
            self.story_for(4, 0.8, key="files", title="Move the file server cluster to new "
                           "storage", type="normal", category="Infrastructure",
                           cis=["File Server Cluster"], team="Server & Storage",
                           start=self.cab_at(4, 12, 1), hours=5,
                           stop="submitted", outage_minutes=120,
                           reason="The old LUNs are on the shelf being retired.",
                           plan="1. Storage vMotion.\n2. Re-point the shares.",
                           backout="Move back.", test="Open files from every site."),
            self.story_for(4, 0.4, key="scanner-fw", title="Roll out handheld scanner firmware "
                           "2.7.1", type="normal", category="Application",
                           cis=["Handheld Scanner Gateway"], team="Application Support",
                           start=self.cab_at(4, 15, 7), hours=8,
                           stop="assessed",
                           reason="Battery management fix; scanners last a full shift again.",
                           plan="Release 'Handheld scanner firmware 2.7': pilot in Malmö, then "
                                "site by site.",
                           backout="Reflash 2.6.4 from the DML.",
                           test="Pilot shift in Malmö."),
        ]
        self.stories = {s.key: s for s in stories}
        for s in stories:
            self.later(s.prepared, lambda s=s: self.draft(s))
        del rng

    def in_next_freeze(self, after: dt.datetime) -> dt.datetime:
        """An evening start inside the first payroll run freeze after ``after``."""
        day = local_time(after).date() + dt.timedelta(days=1)
        while not self.in_freeze(self.when(day, 20), self.when(day, 21), "payroll"):
            day += dt.timedelta(days=1)
        return self.when(day, 20)

    def people_for(self, s: Story):  # noqa: ANN201
        team = self.agents[s.team]
        assignee = team[1] if len(team) > 1 and s.type != "emergency" else team[0]
        if s.key in ("erp-patch", "payroll-db"):
            assignee = team[2]  # the database administrator
        requester = self.employee(s.requester) if s.requester else assignee
        return assignee, requester

    def draft(self, s: Story) -> None:
        assignee, requester = self.people_for(s)
        end = s.start + dt.timedelta(hours=s.hours)
        values = {"id": self.uid(), "title": s.title, "type": s.type, "category": s.category,
                  "status": "draft", "reason": s.reason, "requester": requester,
                  "team": self.teams[s.team], "assignee": assignee, "planned_start": s.start,
                  "planned_end": end, "outage": bool(s.outage_minutes)}
        if s.outage_minutes:
            down = s.start + dt.timedelta(minutes=10)
            values.update(downtime_start=down,
                          downtime_end=down + dt.timedelta(minutes=s.outage_minutes))
        if s.problem:
            values["problem"] = self.problem_of[s.problem]
        if s.known_error and s.known_error in self.ke_of:
            values["known_error"] = self.ke_of[s.known_error]
        cis = [self.named(n) for n in s.cis]
        if s.template:
            values.pop("status")
            values["description"] = f"{s.title}. {s.reason}"
            s.change = change_svc.create_from_template(self.templates[s.template].id, values,
                                                       self.act(assignee), cis=cis)
            risk.assess(s.change.id, self.cm)  # a standard change's risk: low, from its template
        else:
            values.update(description=f"{s.title}. Affects {', '.join(s.cis[:4])}"
                                      f"{' and more' if len(s.cis) > 4 else ''}.",
                          implementation_plan=s.plan, backout_plan=s.backout, test_plan=s.test)
            s.change = change_svc.create_change(values, self.act(assignee), cis=cis)
        if s.stop == "draft":
            return
        span = s.ready - s.prepared
        self.later(s.prepared + span * 0.2, lambda: self.move(s, "submitted", assignee))
        if s.type == "standard":
            self.later(s.prepared + span * 0.4, lambda: self.move(s, "approved", self.head))
            self.later(s.prepared + span * 0.45, lambda: self.move(s, "scheduled", assignee))
            self.implement(s)
        elif s.type == "emergency":
            self.later(s.prepared + span * 0.5, lambda: self.move(s, "awaiting_cab", self.head))
            self.later(s.ready + dt.timedelta(hours=4, minutes=30), lambda: self.ecab(s))
        elif s.stop != "submitted":
            self.later(s.prepared + span * 0.7, lambda: self.move(s, "assessed", self.head))
            if s.stop != "assessed":
                self.later(s.prepared + span * 0.75, lambda: self.move(s, "awaiting_cab",
                                                                       self.head))

    def move(self, s: Story, target: str, who, role: str | None = None,  # noqa: ANN001
             reason: str | None = None) -> None:
        s.change = change_svc.transition(s.change.id, None, target, self.act(who), role=role,
                                         reason=reason)

    def implement(self, s: Story) -> None:
        """The approved change's window: scheduled, implemented (or backed out), reviewed."""
        assignee, _requester = self.people_for(s)
        end = s.start + dt.timedelta(hours=s.hours)
        if s.type != "standard":
            self.later(self.clock_now + dt.timedelta(hours=3),
                       lambda: self.move(s, "scheduled", assignee))
        if s.extra.get("until") == "release":  # implemented with the release's pilot wave
            self.later(s.start + dt.timedelta(days=4, hours=1),
                       lambda: self.move(s, "implementing", assignee))
            return
        self.later(s.start + dt.timedelta(minutes=2), lambda: self.move(s, "implementing", assignee))
        if s.result == "backed_out":
            self.later(s.start + dt.timedelta(hours=12, minutes=50),
                       lambda: self.move(s, "backed_out", assignee))
            review = s.start + dt.timedelta(days=3)
        else:
            self.later(end - dt.timedelta(minutes=self.rng.randrange(5, 25)),
                       lambda: self.move(s, "implemented", assignee))
            review = end + dt.timedelta(days=1, hours=8)
        local = local_time(review)
        if local.weekday() >= 5:
            review += dt.timedelta(days=7 - local.weekday())
        review = self.when(local_time(review).date(), 10)

        def reviewed() -> None:
            if s.type == "emergency" or s.result == "backed_out":
                self.move(s, "in_review", self.head)
            if s.pir:
                caused = [i.id for i in self.tagged.get("chg-fail", [])] \
                    if s.result == "backed_out" else None
                s.change = change_svc.record_pir(s.change.id, None, s.pir[0], s.pir[1], caused,
                                                 self.cm)
                self.later(review + dt.timedelta(hours=1), lambda: self.move(s, "closed",
                                                                             self.head))
            if s.then:
                s.then()
        self.later(review, reviewed)

    # -- the CAB ------------------------------------------------------------------------------
    VOTE_COMMENTS = {"approve": ["Backout plan is adequate.", "Fine inside the window.",
                                 "OK; tell the warehouse sites the day before.", "", ""],
                     "abstain": ["Not my area."]}

    def weekly_cab(self, k: int) -> None:
        """A held weekly CAB: agenda built the day before, votes, decisions, actions."""
        start = self.cab_at(k)
        state: dict = {}

        def plan() -> None:
            state["meeting"] = change_svc.create_meeting({
                "id": self.uid(), "title": "Weekly CAB", "starts_at": start,
                "ends_at": start + dt.timedelta(hours=1), "location": CAB_LOCATION,
                "emergency": False, "status": "planned", "chair": self.head, "quorum": 3},
                self.cm, attendees=self.cab_members)

        def agenda() -> None:
            cab.build_agenda(state["meeting"].id, self.cm)

        def hold() -> None:
            meeting = state["meeting"]
            absent = self.agents["Service Desk"][0] if k == 1 else None
            if absent is not None:
                cab.set_attendees(meeting.id, {m.id: m is not absent for m in self.cab_members},
                                  self.cm)
            present = [m for m in self.cab_members if m is not absent]
            items = cab.agenda(meeting.id)
            for n, item in enumerate(items):
                s = next(st for st in self.stories.values()
                         if st.change is not None and st.change.id == item.change_id)
                self.clock.set(start + dt.timedelta(minutes=5 + 10 * n))
                self.decide(meeting, s, present)
            self.clock.set(start + dt.timedelta(minutes=55))
            for text, owner, due, done, change_key in self.actions_for(k):
                change = self.stories[change_key].change if change_key else None
                action = cab.add_action(meeting.id, text, owner.id, due.date(),
                                        change.id if change else None, self.cm)
                if done and done <= self.now:
                    self.later(done, lambda a=action: cab.set_action_done(a.id, True, self.cm))
            decided = len(items)
            notes = {0: "Forward schedule for the next four weeks reviewed; no conflicts.",
                     1: "Vendor remote access: the board asks for a procedure using the VPN "
                        "with MFA instead of opening RDP.",
                     2: "Payroll run freeze reminded: no changes to the payroll database from "
                        "the 23rd to the 25th.",
                     3: "Route Optimiser PIR reviewed: the second attempt comes with the carrier "
                        "mapping migration tested. ESXi upgrade deferred until the vendor's "
                        "patch note."}[k]
            cab.update_meeting(meeting.id, None, {"status": "held", "notes": f"{notes} "
                               f"{decided} change(s) decided."}, self.cm)

        self.later(self.cab_at(k - 1, 0, 12) if k else self.cab_at(0, -6, 12), plan)
        self.later(self.cab_at(k, -1, 16), agenda)
        self.later(start + dt.timedelta(minutes=1), hold)

    def decide(self, meeting, s: Story, present: list) -> None:  # noqa: ANN001
        """Votes of the members present and the decision they lead to."""
        rng = self.rng
        if s.cab == "reject":
            reasons = {"payroll-db": ["Falls in the payroll run freeze (23rd to 25th); pick "
                                      "another weekend.", "Agree: not during the payroll run.",
                                      "The restore time of the backout is not measured yet."],
                       "rdp": ["RDP open to the Internet is not acceptable; use the VPN with "
                               "MFA.", "Agree with security.", "No: vendor access goes through "
                                                                "the VPN."]}[s.key]
            votes = [("reject", r) for r in reasons] + [("approve", "Business needs it."),
                                                        ("abstain", "")][: len(present) - 3]
        else:
            votes = []
            for _m in present:
                value = "abstain" if rng.random() < 0.08 else "approve"
                votes.append((value, rng.choice(self.VOTE_COMMENTS[value])))
            if s.cab == "defer":
                votes[0] = ("approve", "Fine once the vendor confirms the patch.")
        for m, (value, comment) in zip(present, votes, strict=False):
            cab.vote(meeting.id, s.change.id, m.id, value, comment, self.act(m))
        if s.cab == "defer":
            cab.decide(meeting.id, s.change.id, None, self.act(self.head), decision="deferred",
                       reason=s.decision_reason)
            s.cab = "approve"  # next time
            if s.then:
                s.then()
            return
        outcome = cab.decide(meeting.id, s.change.id, s.conditions, self.act(self.head))
        s.change = change_svc.get_change(s.change.id)
        if outcome.decision == "approved":
            self.implement(s)
        elif s.then:
            self.later(self.clock_now + dt.timedelta(days=1, hours=4), s.then)

    def actions_for(self, k: int) -> list[tuple]:
        desk, net = self.agents["Service Desk"][0], self.agents["Network Operations"][0]
        srv, app = self.agents["Server & Storage"][0], self.agents["Application Support"][0]
        dba = self.agents["Server & Storage"][2]
        c = self.cab_at
        return {
            0: [("Tell the warehouse sites about the core router window", desk, c(0, 3),
                 c(0, 2, 11), "router"),
                ("Check the SAN firmware level with the vendor before the shelf swap", srv,
                 c(0, 3), c(0, 2, 9), "san")],
            1: [("Write the vendor remote-access procedure (VPN with MFA)", net, c(1, 10),
                 c(1, 8, 15), "rdp"),
                ("Bring the Route Optimiser PIR to the next CAB", app, c(2),
                 c(1, 6, 14), "route")],
            2: [("Measure the Payroll database restore time and update the runbook", dba, c(2, 5),
                 None, "payroll-db"),
                ("Review the scanner gateway monitoring after this week's changes", app, c(2, 9),
                 c(2, 8, 10), None)],
            3: [("Add the carrier export check to the Route Optimiser test plan", app, c(3, 6),
                 c(3, 2, 16), "route-again"),
                ("Announce the ERP patch window to the warehouse sites", desk, c(3, 4),
                 c(3, 3, 11), "erp-patch")],
        }[k]

    def ecab(self, s: Story) -> None:
        start = self.clock_now
        ecab_members = [self.head, self.agents["Application Support"][0],
                        self.agents["Server & Storage"][0]]
        meeting = change_svc.create_meeting({
            "id": self.uid(), "title": "Emergency CAB: handheld scanner gateway",
            "starts_at": start, "ends_at": start + dt.timedelta(minutes=30),
            "location": "Teams", "emergency": True, "status": "planned", "chair": self.head,
            "quorum": 2}, self.cm, attendees=ecab_members, changes=[s.change])
        comments = ["Second outage in two days; the vendor fix is tested.",
                    "Agree: evening shift can pick on paper for 15 minutes.",
                    "Backout is quick."]
        for n, m in enumerate(ecab_members):
            self.clock.set(start + dt.timedelta(minutes=5 + n))
            cab.vote(meeting.id, s.change.id, m.id, "approve", comments[n], self.act(m))
        self.clock.set(start + dt.timedelta(minutes=15))
        cab.decide(meeting.id, s.change.id, "Application lead on site; service desk tells the "
                   "warehouse sites.", self.act(self.head))
        cab.add_action(meeting.id, "Tell the service desk to link scanner calls to the known "
                       "error", self.agents["Service Desk"][0].id,
                       (start + dt.timedelta(days=1)).date(), s.change.id, self.cm)
        cab.update_meeting(meeting.id, None, {"status": "held", "notes": "Called after the "
                           "second scanner outage in two days. 1 change(s) decided."}, self.cm)
        for a in cab.actions(meeting.id):
            self.later(start + dt.timedelta(hours=1), lambda a=a: cab.set_action_done(a.id, True,
                                                                                      self.cm))
        s.change = change_svc.get_change(s.change.id)
        self.implement(s)

    def planned_cab(self) -> None:
        state: dict = {}
        start = self.next_cab

        def plan() -> None:
            state["meeting"] = change_svc.create_meeting({
                "id": self.uid(), "title": "Weekly CAB", "starts_at": start,
                "ends_at": start + dt.timedelta(hours=1), "location": CAB_LOCATION,
                "emergency": False, "status": "planned", "chair": self.head, "quorum": 3},
                self.cm, attendees=self.cab_members)

        self.later(self.cab_at(3, 0, 12), plan)
        self.later(self.now - dt.timedelta(minutes=50),
                   lambda: cab.build_agenda(state["meeting"].id, self.cm))

    # -- what follows a change ---------------------------------------------------------------
    def erp_fixed(self) -> None:
        ke = self.ke_of["erp"]
        problems.update_known_error(ke.id, None, {"solution_status": "fixed"}, self.cm)
        self.problem_of["erp"] = problem_lifecycle.transition(
            self.problem_of["erp"].id, None, "resolved", self.cm,
            {"solution": "Index on (plant, posting date) added by "
                         f"{self.stories['erp-index'].change.ref}."})
        self.later(self.clock_now + dt.timedelta(days=14), lambda: problem_lifecycle.transition(
            self.problem_of["erp"].id, None, "closed", self.cm))

    def scanner_fixed(self) -> None:
        ke = self.ke_of["scanner"]
        problems.update_known_error(ke.id, None, {"solution_status": "fixed"}, self.cm)
        self.problem_of["scanner"] = problem_lifecycle.transition(
            self.problem_of["scanner"].id, None, "resolved", self.cm,
            {"solution": f"Gateway upgraded to 3.4.2 ({self.stories['scanner-fix'].change.ref})."})
        self.later(self.cab_at(3, 0, 11), lambda: problem_lifecycle.transition(
            self.problem_of["scanner"].id, None, "closed", self.cm))

    def esxi_deferred(self) -> None:
        s = self.stories["esxi"]

        def again() -> None:
            new = self.cab_at(4, 12, 1)  # two Sundays on: after the vendor's patch note
            s.start = new
            s.change = change_svc.reschedule(s.change.id, None, new, new + dt.timedelta(hours=4),
                                             self.cm)
            risk.assess(s.change.id, self.cm)
        s.then = None
        self.later(self.clock_now + dt.timedelta(hours=2), again)  # right after the meeting

    def route_failed(self) -> None:
        """The incident the backed-out upgrade caused points at it (the PIR lists it too)."""
        for inc in self.tagged.get("chg-fail", []):
            records.update(type(inc), inc.id, None, {"change": self.stories["route"].change.id},
                           self.desk)

    def rdp_rejected(self) -> None:
        s = self.stories["rdp"]
        self.move(s, "closed", self.head)

    def payroll_db_rework(self) -> None:
        """Rejected for the freeze: reworked with a date after it, for the next CAB."""
        s = self.stories["payroll-db"]
        assignee, _r = self.people_for(s)
        self.move(s, "draft", assignee)
        new = self.outside_freeze(self.when(local_time(self.next_cab).date()
                                            + dt.timedelta(days=4), 20), 5, "payroll")
        s.start = new
        s.change = change_svc.reschedule(s.change.id, None, new, new + dt.timedelta(hours=5),
                                         self.act(assignee))
        risk.assess(s.change.id, self.cm)
        s.cab, s.then = "approve", None
        start, end = self.prep_window(4)  # back for the next CAB
        start = max(start, self.clock_now)
        span = end - start
        self.later(start + span * 0.2, lambda: self.move(s, "submitted", assignee))
        self.later(start + span * 0.6, lambda: self.move(s, "assessed", self.head))
        self.later(start + span * 0.7, lambda: self.move(s, "awaiting_cab", self.head))

    # -- releases, knowledge, announcements ----------------------------------------------------
    def releases(self) -> None:
        from itsmdesk.services.release import plan as release_plan
        from itsmdesk.services.release import releases

        rm = self.act(self.agents["Application Support"][0])
        app_team = self.teams["Application Support"]
        shop = self.stories["shop"]
        fix = self.stories["shop-fix"]
        start = self.when(self.today - dt.timedelta(days=9), 8)
        golive = shop.start
        rel = releases.create_release({
            "id": self.uid(), "name": "Web Shop 4.2", "release_version": "4.2.0", "type": "major",
            "status": "test",
            "description": "New checkout with delivery slot booking, and the payment token fix.",
            "backout_plan": "Redeploy 4.1.3 from the DML and restore the pre-release database "
                            "snapshot; the maintenance page stays on meanwhile.",
            "manager": self.agents["Application Support"][0], "team": app_team,
            "planned_start": start, "planned_end": golive + dt.timedelta(days=3)}, rm,
            changes=[c.change for c in (shop, fix) if c.change is not None])
        prep = release_plan.add_phase(rel.id, "Build and test", rm)
        build = release_plan.add_step(rel.id, {
            "name": "Build and package", "kind": "build", "phase": prep.id, "owner_team": app_team,
            "planned_start": start, "planned_end": start + dt.timedelta(days=2),
            "actual_start": start, "actual_end": start + dt.timedelta(days=1, hours=20),
            "status": "done"}, rm)
        test_start = start + dt.timedelta(days=2)
        test = release_plan.add_step(rel.id, {
            "name": "System and acceptance test", "kind": "test", "phase": prep.id,
            "owner_person": self.agents["Application Support"][1],
            "planned_start": test_start, "planned_end": self.next_cab - dt.timedelta(hours=2),
            "actual_start": test_start, "status": "in_progress"}, rm, depends_on=[build.id])
        rollout = release_plan.add_phase(rel.id, "Go-live", rm)
        pilot = release_plan.add_step(rel.id, {
            "name": "Deploy in the maintenance window", "kind": "pilot", "phase": rollout.id,
            "owner_team": app_team, "planned_start": golive,
            "planned_end": golive + dt.timedelta(hours=shop.hours)}, rm, depends_on=[test.id])
        release_plan.add_step(rel.id, {
            "name": "Hypercare: watch orders and payments", "kind": "wave", "phase": rollout.id,
            "owner_team": app_team, "planned_start": golive + dt.timedelta(hours=shop.hours),
            "planned_end": golive + dt.timedelta(days=3)}, rm, depends_on=[pilot.id])
        release_plan.add_step(rel.id, {"name": "Backout (if needed)", "kind": "backout",
                                       "owner_team": app_team}, rm)

        scan = self.stories["scanner-fw"]
        first = scan.start
        rel2 = releases.create_release({
            "id": self.uid(), "name": "Handheld scanner firmware 2.7", "release_version": "2.7.1",
            "type": "minor", "status": "planning",
            "description": "Battery management fix for the handheld scanners, site by site.",
            "backout_plan": "Reflash 2.6.4 from the DML, one site at a time.",
            "manager": self.agents["Application Support"][0], "team": app_team,
            "planned_start": first - dt.timedelta(days=3),
            "planned_end": first + dt.timedelta(days=9)}, rm,
            changes=[scan.change] if scan.change is not None else [])
        prev = release_plan.add_step(rel2.id, {
            "name": "Package and test on ten scanners", "kind": "test",
            "owner_person": self.agents["Application Support"][2],
            "planned_start": first - dt.timedelta(days=3),
            "planned_end": first - dt.timedelta(days=1)}, rm)
        for n, code in enumerate(("MMO", "GOT", "KRN")):
            t = first + dt.timedelta(days=3 * n)
            prev = release_plan.add_step(rel2.id, {
                "name": f"{'Pilot' if n == 0 else 'Wave'}: {self.sites[code].name}",
                "kind": "pilot" if n == 0 else "wave", "site": self.sites[code],
                "owner_team": self.teams["Service Desk"], "planned_start": t,
                "planned_end": t + dt.timedelta(hours=scan.hours)}, rm, depends_on=[prev.id])
        release_plan.add_step(rel2.id, {"name": "Backout (if needed)", "kind": "backout",
                                        "owner_team": app_team}, rm)
        self.payroll_changes = [self.stories[k].change for k in ("payroll-tax", "payroll-layout")]

    def articles(self) -> None:
        author = self.act(self.agents["Service Desk"][1])
        for title, category, body in ARTICLES:
            links = []
            if category in self.services:
                links.append({"ci": self.services[category].id})
            knowledge.create_article({"id": self.uid(), "title": title, "category": category,
                                      "body": f"# {title}\n\n{body}\n", "status": "published",
                                      "tags": category.lower(), "author": author.person_id},
                                     author, links=links)

    def announcements(self) -> None:
        """The service desk's own notices (changes announce themselves when approved)."""
        from itsmdesk.models import Announcement, AnnouncementService

        author = self.desk
        day = self.today + dt.timedelta(days=(5 - self.today.weekday()) % 7 or 7)  # a Saturday
        start, end = self.when(day, 22), self.when(day, 23)
        self.clock.set(self.now - dt.timedelta(days=2))
        ann = records.create(Announcement, {
            "id": self.uid(),
            "title": f"Telephony provider maintenance: {day_text(start)}, 22:00-23:00",
            "body": f"Our telephony provider works on its network on {day_text(start)} between "
                    "22:00 and 23:00 (Swedish time). Calls to customer support may drop; the "
                    "contact centre uses the backup number.",
            "kind": "planned_outage", "starts_at": start, "ends_at": end}, author)
        records.add_child(AnnouncementService, {
            "id": self.uid(), "announcement": ann.id,
            "ci": self.services["Customer Support Telephony"].id}, author)
        ke_day = self.vpn_known + dt.timedelta(minutes=30)
        self.clock.set(ke_day)
        ann = records.create(Announcement, {
            "id": self.uid(), "title": "Known issue: VPN drops for some home users",
            "body": "If your VPN connection drops every few minutes, call the service desk: a "
                    "setting on your laptop fixes it. A permanent fix is planned.",
            "kind": "manual", "starts_at": ke_day, "ends_at": None}, author)
        records.add_child(AnnouncementService, {
            "id": self.uid(), "announcement": ann.id,
            "ci": self.services["Remote Access VPN"].id}, author)
