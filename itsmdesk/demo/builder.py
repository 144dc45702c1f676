"""Deterministic demo data for Nordvik Logistics (``itsmdesk demo``).

``small``: a few hundred records written through the services (so they are journalled like real
work).  ``large``: 1,000,000 incidents, 100,000 CIs, ~300,000 relations, 20,000 changes, written
by bulk inserts (see :mod:`itsmdesk.demo.large`) for the benchmarks.

The same seed gives the same records; times are laid out backwards from an anchor, which is the
start of today (UTC) unless ``ITSMDESK_DEMO_ANCHOR`` (ISO date) fixes it.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable

from itsmdesk.demo.names import (
    ARTICLES,
    FIRST,
    INCIDENT_CATEGORIES,
    LAST,
    REQUEST_CATEGORIES,
    SERVICES,
    SITES,
    TEAMS,
)
from itsmdesk.models import (
    CI,
    CABAction,
    CABAgendaItem,
    CABMember,
    Change,
    ChangeIncident,
    Team,
)
from itsmdesk.models.base import db
from itsmdesk.services import people, records
from itsmdesk.services.change import changes as change_svc
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.context import Actor
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.problem import problems
from itsmdesk.services.release import releases
from itsmdesk.services.servicedesk import incidents

Progress = Callable[[str], None] | None


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


class SmallDemo:
    def __init__(self, seed: int, progress: Progress = None) -> None:
        self.rng = random.Random(seed)
        self.now = anchor()
        self.say = progress or (lambda _m: None)
        self.people: list = []
        self.agents: dict[str, list] = {}
        self.teams: dict[str, Team] = {}
        self.sites: dict[str, object] = {}
        self.services: dict[str, CI] = {}
        self.apps: dict[str, list[CI]] = {}
        self.cis_by_site: dict[str, list[CI]] = {}
        self.categories: dict[str, object] = {}

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def at(self, days_ago: float, hour: int | None = None) -> dt.datetime:
        t = self.now - dt.timedelta(days=days_ago)
        if hour is not None:
            t = t.replace(hour=hour, minute=self.rng.randrange(0, 60, 5))
        return t.replace(microsecond=0)

    def run(self) -> None:
        from itsmdesk.models.base import deterministic_ids

        with db.atomic(), deterministic_ids(random.Random(self.rng.random())):
            self.organisation()
            self.say("people and teams done")
            self.servicedesk_setup()
            self.cmdb()
            self.say(f"CMDB done: {CI.select().count()} CIs")
            self.problems_and_known_errors()
            self.tickets()
            self.say("incidents and requests done")
            self.changes()
            self.say("changes and CAB done")
            self.releases()
            from itsmdesk.demo.releases import demo_release

            demo_release(self.rng, Actor.for_person(self.agents["Application Support"][0]))
            self.articles()
            # SLA states as the app's minute tick would leave them (flagged and breached)
            from itsmdesk.services.servicedesk import escalation

            escalation.tick(self.now)
        self.say("demo complete")

    # -- people -----------------------------------------------------------------------------
    def organisation(self) -> None:
        org = people.create_organisation({"id": self.uid(), "name": "Nordvik Logistics AB",
                                          "code": "NVL"})
        for name, code, tz in SITES:
            self.sites[code] = people.create_site({"id": self.uid(), "name": name, "code": code,
                                                   "timezone": tz, "organisation": org})
        used: set[str] = set()

        def person(agent: bool, site_code: str | None = None):
            while True:
                first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
                if f"{first} {last}" not in used:
                    break
            used.add(f"{first} {last}")
            email = f"{first}.{last}@nordvik.example".lower()
            for a, b in (("å", "a"), ("ä", "a"), ("ö", "o"), ("ü", "u"), ("á", "a")):
                email = email.replace(a, b)
            site = self.sites[site_code or self.rng.choice(list(self.sites))]
            return people.create_person({"id": self.uid(), "name": f"{first} {last}",
                                         "email": email, "phone": f"+46 8 {self.rng.randrange(100000, 999999)}",
                                         "site": site, "organisation": org, "is_agent": agent,
                                         "job_title": "IT specialist" if agent else "Employee"})

        cio = person(True, "STO")
        for team_name in TEAMS:
            members = [person(True, "STO" if i < 3 else None) for i in range(4)]
            lead = members[0]
            for m in members[1:]:
                people.update_person(m.id, m.version, {"manager": lead.id})
            people.update_person(lead.id, lead.version, {"manager": cio.id})
            team = people.create_team({"id": self.uid(), "name": team_name, "lead": lead,
                                       "email": team_name.lower().replace(" & ", "-").replace(" ", "-")
                                       + "@nordvik.example"}, members)
            self.teams[team_name] = team
            self.agents[team_name] = members
        self.people = [person(False) for _ in range(30)]
        self.cio = cio
        self.actor = Actor.for_person(self.agents["Service Desk"][0])

    def servicedesk_setup(self) -> None:
        from itsmdesk.models import BusinessCalendar, Category, Holiday, SLADefinition

        cal = records.create(BusinessCalendar, {
            "id": self.uid(), "name": "Office hours (Sweden)", "timezone": "Europe/Stockholm",
            "working_hours": {str(d): [["08:00", "17:00"]] for d in range(5)}}, self.actor)
        records.create(BusinessCalendar, {"id": self.uid(), "name": "24x7", "timezone": "UTC",
                                          "working_hours": {str(d): [["00:00", "24:00"]]
                                                            for d in range(7)}}, self.actor)
        year = self.now.year
        for month, day, name in ((1, 1, "New Year's Day"), (1, 6, "Epiphany"), (5, 1, "May Day"),
                                 (6, 6, "National Day"), (12, 24, "Christmas Eve"),
                                 (12, 25, "Christmas Day"), (12, 26, "Boxing Day"),
                                 (12, 31, "New Year's Eve")):
            records.add_children(Holiday, [{"calendar": cal.id, "day": dt.date(y, month, day),
                                            "name": name} for y in (year - 1, year, year + 1)],
                                 self.actor)
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
                                         {"label": "No", "route_team": "End User Computing"}]}],
            "Security": [{"question": "Did the caller click a link or enter a password?",
                          "answers": [{"label": "Yes", "route_team": "Security Operations"},
                                      {"label": "No"}]}],
        }
        for steps in scripts.values():  # routes are stored as team ids
            for step in steps:
                for answer in step["answers"]:
                    if "route_team" in answer:
                        answer["route_team"] = str(self.teams[answer["route_team"]].id)
        for name, (team, _t, _d) in INCIDENT_CATEGORIES.items():
            self.categories[name] = records.create(Category, {
                "id": self.uid(), "name": name, "kind": "incident",
                "default_team": self.teams[team], "diagnostic_script": scripts.get(name)}, self.actor)
        for name, team in REQUEST_CATEGORIES.items():
            self.categories[name] = records.create(Category, {
                "id": self.uid(), "name": name, "kind": "request",
                "default_team": self.teams[team]}, self.actor)

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
        return ci

    def cmdb(self) -> None:
        rel = cmdb.create_relation
        routers = [self.ci(f"core-rtr-0{i}", "network_device", "STO", "critical", "Network Operations",
                           vendor="Cisco", ci_version="IOS-XE 17.9", attributes={"ports": 48})
                   for i in (1, 2)]
        switches: dict[str, list[CI]] = {}
        for _name, code, _tz in SITES:
            switches[code] = []
            for i in (1, 2):
                sw = self.ci(f"{code.lower()}-sw-0{i}", "network_device", code, "high",
                             "Network Operations", vendor="Aruba", ci_version="10.12",
                             min_members_up=1)
                for r in routers:
                    rel(sw, "connected_to", r, self.actor, redundant=True)
                switches[code].append(sw)
            fw = self.ci(f"{code.lower()}-fw-01", "network_device", code, "high", "Security Operations",
                         vendor="Fortinet", ci_version="7.4.3")
            rel(fw, "connected_to", switches[code][0], self.actor)
        storage = self.ci("san-got-01", "storage", "GOT", "critical", "Server & Storage",
                          attributes={"capacity_tb": 480.0})
        hosts = []
        for i in range(1, 7):
            site = "GOT" if i <= 4 else "STO"
            host = self.ci(f"esx-{site.lower()}-0{i}", "server", site, "high", "Server & Storage",
                           vendor="Dell", serial=f"SN{self.rng.randrange(10**7, 10**8)}",
                           ci_version="ESXi 8.0U3", attributes={"cpu_cores": 64, "ram_gb": 1024})
            rel(host, "connected_to", switches[site][0], self.actor)
            rel(host, "uses", storage, self.actor)
            hosts.append(host)
        vm_no = 0
        db_engines = {"Oracle": "19c", "PostgreSQL": "16.4", "SQL Server": "2022"}
        for service_name, (crit, apps) in SERVICES.items():
            slug = "".join(w[0] for w in service_name.replace("-", " ").split()).lower()
            service = self.ci(service_name, "business_service", None, crit, "Application Support",
                              attributes={"service_owner": self.rng.choice(self.people).name,
                                          "service_hours": "24x7" if crit == "critical" else "Office hours"})
            self.services[service_name] = service
            self.apps[service_name] = []
            for app_name, engine in apps:
                app = self.ci(app_name, "application", None, crit, "Application Support",
                              ci_version=f"{self.rng.randrange(1, 12)}.{self.rng.randrange(0, 10)}",
                              attributes={"url": f"https://{slug}.nordvik.example"})
                rel(service, "depends_on", app, self.actor)
                self.apps[service_name].append(app)
                n_vms = 2 if crit in ("critical", "high") else 1
                if n_vms > 1:
                    cmdb.update_ci(app.id, app.version, {"min_members_up": 1}, self.actor)
                for _ in range(n_vms):
                    vm_no += 1
                    vm = self.ci(f"vm-{slug}-{vm_no:03d}", "virtual_machine",
                                 self.rng.choice(["GOT", "STO"]), crit, "Server & Storage",
                                 ci_version="RHEL 9.4", attributes={"vcpus": 8, "ram_gb": 32,
                                                                    "os": "RHEL 9"})
                    rel(app, "runs_on", vm, self.actor, redundant=n_vms > 1)
                    rel(vm, "hosted_on", self.rng.choice(hosts), self.actor)
                if engine:
                    dbci = self.ci(f"db-{slug}-{engine.lower().replace(' ', '')}", "database", "GOT",
                                   crit, "Database Administration", ci_version=db_engines[engine],
                                   attributes={"engine": engine, "size_gb": float(self.rng.randrange(50, 4000))})
                    rel(app, "depends_on", dbci, self.actor)
                    vm_no += 1
                    dbvm = self.ci(f"vm-db-{vm_no:03d}", "virtual_machine", "GOT", crit,
                                   "Database Administration", attributes={"vcpus": 16, "ram_gb": 128})
                    rel(dbci, "runs_on", dbvm, self.actor)
                    rel(dbvm, "hosted_on", self.rng.choice(hosts[:4]), self.actor)
        rel(self.services["Web Shop"], "uses", self.services["Identity and Access"], self.actor)
        rel(self.services["ERP"], "uses", self.services["Identity and Access"], self.actor)
        rel(self.services["Warehouse Management"], "depends_on", self.services["ERP"], self.actor)
        for _name, code, _tz in SITES:
            for i in range(1, 4):
                ws = self.ci(f"{code.lower()}-ws-{i:03d}", "workstation", code, "low",
                             "End User Computing", attributes={"os": "Windows 11"})
                rel(ws, "connected_to", switches[code][i % 2], self.actor)
        self.switches = switches
        self.hosts = hosts
        for apps in self.apps.values():
            for app in apps:
                self.cis_by_site.setdefault("apps", []).append(app)

    # -- problems, known errors ----------------------------------------------------------------
    def problems_and_known_errors(self) -> None:
        plan = [
            ("Web Shop", "Checkout fails with error 500 when payment token expires",
             "Payment gateway adapter caches tokens past expiry.", "Restart the payment adapter.",
             "PAY-500", "root_cause_known", "fix_planned"),
            ("Warehouse Management", "Handheld scanners lose connection at shift change",
             "DHCP lease storms when 200 scanners re-associate.", "Stagger scanner sign-in.",
             "WMS-NET-17", "investigating", "workaround_only"),
            ("ERP", "Nightly batch overruns and locks ERP in the morning",
             "Missing index on the goods movement table.", "Kill the batch at 06:00.",
             "ERP-BATCH-3", "resolved", "fixed"),
            ("Remote Access VPN", "VPN disconnects every few minutes for home users",
             "MTU mismatch after ISP change.", "Set client MTU to 1380.", "VPN-MTU",
             "root_cause_known", "fix_in_progress"),
            ("E-mail and Calendar", "Outlook crashes after monthly update",
             "Faulty third-party add-in.", "Disable the add-in.", "OL-ADDIN-22", "closed", "fixed"),
            ("File Sharing", "Mapped drives disappear after VPN reconnect",
             None, "Re-map with the logon script.", None, "new", "workaround_only"),
        ]
        self.problem_plan = []
        lead = self.agents["Application Support"][0]
        for service_name, title, cause, workaround, code, status, sol_status in plan:
            service = self.services[service_name]
            app = self.apps[service_name][0]
            prb = problems.create_problem({
                "id": self.uid(), "title": title, "description": f"Recurring incidents on {service_name}.",
                "status": status, "priority": 2, "service": service, "ci": app,
                "team": self.teams["Application Support"], "assignee": lead,
                "root_cause": cause, "workaround": workaround,
                "rca": {"symptoms": title, "hypotheses": "See timeline.", "evidence": "Logs attached.",
                        "cause": cause or ""},
                "resolved_at": self.at(10) if status in ("resolved", "closed") else None,
                "closed_at": self.at(5) if status == "closed" else None,
            }, self.actor, cis=[app])
            ke = None
            if cause or workaround:
                ke = problems.create_known_error({
                    "id": self.uid(), "title": title, "symptom": title, "root_cause": cause,
                    "workaround": workaround, "error_code": code, "problem": prb,
                    "solution_status": sol_status}, self.actor, cis=[app])
            self.problem_plan.append((service_name, prb, ke, title))
        for title, code in (("Printer driver crash on Windows 11 23H2", "PRN-0x0000011b"),
                            ("Account lockout loop from old phone mail profile", "AD-4740")):
            problems.create_known_error({"id": self.uid(), "title": title, "symptom": title,
                                         "root_cause": "See article.", "workaround": "See article.",
                                         "error_code": code}, self.actor)

    # -- incidents and requests -----------------------------------------------------------------
    def tickets(self) -> None:
        rng = self.rng
        service_names = list(self.services)
        total = 300
        for n in range(total):
            days_ago = rng.uniform(0, 180) if n < total - 45 else rng.uniform(0, 3)
            opened = self.at(days_ago, rng.choice([7, 8, 9, 10, 11, 13, 14, 15, 16]))
            category = rng.choice(list(INCIDENT_CATEGORIES))
            team_name, titles, descriptions = INCIDENT_CATEGORIES[category]
            service_name = rng.choice(service_names)
            apps = self.apps[service_name]
            ci = rng.choice(apps)
            site = rng.choice([s[1] for s in SITES])
            title = rng.choice(titles).format(site=self.sites[site].name, service=service_name,
                                              ci=ci.name)
            problem = ke = None
            if rng.random() < 0.22:  # recurring incidents behind a known problem
                service_name, problem, ke, ptitle = rng.choice(self.problem_plan)
                ci = self.apps[service_name][0]
                title = ptitle
                category = "Application"
                team_name = "Application Support"
            impact, urgency = rng.choice([(1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 2), (2, 1)])
            open_now = days_ago < 3 and rng.random() < 0.8
            caller = rng.choice(self.people)
            assignee = rng.choice(self.agents[team_name])
            values = {
                "id": self.uid(), "title": title[:300],
                "description": rng.choice(descriptions) + f" Caller: {caller.name}.",
                "caller": caller, "channel": rng.choice(["phone", "email", "portal", "chat",
                                                          "monitoring"]),
                "category": self.categories[category], "ci": ci,
                "service": self.services[service_name], "impact": impact, "urgency": urgency,
                "team": self.teams[team_name], "opened_at": opened, "problem": problem,
                "known_error": ke if ke and rng.random() < 0.7 else None,
                "major": impact == 1 and urgency == 1 and rng.random() < 0.3,
            }
            if not open_now:
                resp = opened + dt.timedelta(minutes=rng.randrange(3, 90))
                res = resp + dt.timedelta(minutes=int(rng.expovariate(1 / 300)) + 10)
                closed = res + dt.timedelta(days=3)
                values.update(assignee=assignee, status="closed" if closed < self.now else "resolved",
                              responded_at=resp, resolved_at=res,
                              closed_at=closed if closed < self.now else None,
                              resolution_code=rng.choice(["solved_workaround", "solved_permanently",
                                                          "no_fault_found", "user_error"]),
                              solution="Restarted the affected component and verified with the caller.",
                              outage_start=opened if impact <= 2 else None,
                              outage_end=res if impact <= 2 else None,
                              sla_state="met")
            else:
                state = rng.choice(["new", "assigned", "in_progress", "in_progress", "pending"])
                values["status"] = state
                if state != "new":
                    values["assignee"] = assignee
                if state == "pending":
                    values["pending_reason"] = rng.choice(["Waiting for caller", "Waiting for vendor"])
                    values["paused_since"] = opened + dt.timedelta(hours=1)
            inc = incidents.create_incident(values, self.actor)
            if rng.random() < 0.6:
                incidents.add_work_log(inc.id, rng.choice([
                    "Called the user, reproduced the fault.", "Checked monitoring: no alarms.",
                    "Escalated to second line with logs.", "Applied the documented workaround.",
                    "Vendor case opened."]), Actor.for_person(assignee), public=rng.random() < 0.4)
        for n in range(60):
            days_ago = rng.uniform(0, 90) if n < 50 else rng.uniform(0, 2)
            opened = self.at(days_ago, rng.choice([8, 9, 10, 13, 14]))
            category = rng.choice(list(REQUEST_CATEGORIES))
            team_name = REQUEST_CATEGORIES[category]
            caller = rng.choice(self.people)
            done = days_ago > 2
            incidents.create_incident({
                "id": self.uid(), "kind": "request", "title": f"{category} for {caller.name}",
                "description": "Please arrange as soon as possible.", "caller": caller,
                "channel": "portal", "category": self.categories[category], "impact": 3,
                "urgency": rng.choice([2, 3]), "team": self.teams[team_name], "opened_at": opened,
                "status": "closed" if done else rng.choice(["new", "assigned", "in_progress"]),
                "assignee": rng.choice(self.agents[team_name]) if done else None,
                "resolved_at": opened + dt.timedelta(hours=rng.randrange(2, 48)) if done else None,
                "closed_at": opened + dt.timedelta(days=3) if done else None,
            }, self.actor)

    # -- changes and CAB ------------------------------------------------------------------------
    def changes(self) -> None:

        rng = self.rng
        cm = Actor.for_person(self.agents["Change Management"][0])
        templates = []
        for name, plan in (("Patch Linux VM (monthly)", "Snapshot, dnf update, reboot, check services."),
                           ("Add firewall rule (standard)", "Add rule from approved request, test."),
                           ("Renew TLS certificate", "Install new certificate, reload, verify chain."),
                           ("Increase VM disk", "Extend disk, grow filesystem.")):
            templates.append(change_svc.create_template({
                "id": self.uid(), "name": name, "category": "Infrastructure",
                "description": name, "implementation_plan": plan,
                "backout_plan": "Revert snapshot / previous configuration.",
                "test_plan": "Service owner smoke test.", "default_duration_minutes": 60}, cm))
        change_svc.create_window({"id": self.uid(), "name": "Weekly maintenance (Sunday night)",
                                  "kind": "maintenance",
                                  "starts_at": self.at(200).replace(hour=1, minute=0),
                                  "ends_at": self.at(200).replace(hour=5, minute=0),
                                  "rrule": "FREQ=WEEKLY;BYDAY=SU",
                                  "description": "Standard window for infrastructure work."}, cm)
        qe = self.now.replace(day=1) + dt.timedelta(days=40)
        change_svc.create_window({"id": self.uid(), "name": "Month-end closing freeze",
                                  "kind": "blackout",
                                  "starts_at": qe.replace(day=1) - dt.timedelta(days=2),
                                  "ends_at": qe.replace(day=1) + dt.timedelta(days=2),
                                  "description": "No changes to ERP and Payroll during closing."}, cm)
        members = [self.agents["Change Management"][0], self.agents["Network Operations"][0],
                   self.agents["Server & Storage"][0], self.agents["Application Support"][0],
                   self.agents["Security Operations"][0]]
        for i, m in enumerate(members):
            records.create(CABMember, {"id": self.uid(), "person": m.id, "category": None,
                                       "emergency": i < 3}, cm)
        change_titles = [
            ("Upgrade core router firmware", "core-rtr-01", "Network"),
            ("Patch ERP database to latest RU", "db-erp-oracle", "Database"),
            ("Deploy Web Shop release 4.2", "Shop Frontend", "Application"),
            ("Replace failing disk shelf in SAN", "san-got-01", "Infrastructure"),
            ("Migrate VPN concentrator to new appliance", "VPN Concentrator Service", "Network"),
            ("Add index to goods movement table", "db-erp-oracle", "Database"),
            ("Renew wildcard TLS certificate", "Shop API", "Security"),
            ("Enable MFA for VPN", "VPN Concentrator Service", "Security"),
            ("Scale out WMS Core VMs", "WMS Core", "Infrastructure"),
            ("Upgrade ESXi hosts in Göteborg", "esx-got-01", "Infrastructure"),
            ("Move Payroll DB to new cluster", "db-p-sqlserver", "Database"),
            ("Update handheld scanner gateway", "Handheld Scanner Gateway", "Application"),
        ]
        statuses_past = ["closed", "closed", "closed", "in_review", "implemented", "failed", "backed_out",
                         "closed", "rejected"]
        statuses_future = ["draft", "submitted", "assessed", "awaiting_cab", "awaiting_cab",
                           "approved", "scheduled", "scheduled"]
        self.all_changes = []
        n = 0
        for round_ in range(4):
            for title, ci_name, category in change_titles:
                n += 1
                future = round_ >= 2
                if future:
                    start = self.at(-rng.uniform(1, 40), 22)
                    status = rng.choice(statuses_future)
                else:
                    start = self.at(rng.uniform(5, 170), 22)
                    status = rng.choice(statuses_past)
                ctype = rng.choices(["normal", "standard", "emergency"], [6, 3, 1])[0]
                if ctype == "standard" and status in ("assessed", "awaiting_cab"):
                    status = "approved"  # pre-approved from a template: never before the CAB
                elif ctype == "emergency" and status == "assessed":
                    status = "awaiting_cab"  # the ECAB decides straight from submission
                end = start + dt.timedelta(hours=rng.choice([1, 2, 3, 4]))
                ci = CI.get_or_none(CI.name == ci_name) or CI.get_or_none(CI.name.startswith(ci_name))
                team = self.teams[rng.choice(["Network Operations", "Server & Storage",
                                              "Database Administration", "Application Support"])]
                outage = rng.random() < 0.35
                tmpl = rng.choice(templates) if ctype == "standard" else None
                values = {
                    "id": self.uid(), "title": f"{title}" + (f" (wave {round_ + 1})" if round_ else ""),
                    "type": ctype, "category": category, "status": status,
                    "reason": "Vendor support requires the current version; fixes known issues.",
                    "description": f"{title}. Affects {ci_name}.",
                    "implementation_plan": "1. Announce.\n2. Take backup/snapshot.\n3. Apply change.\n"
                                           "4. Verify monitoring and smoke tests.",
                    "backout_plan": "Restore snapshot or previous configuration within 30 minutes.",
                    "test_plan": "Service owner runs the smoke test checklist.",
                    "requester": rng.choice(self.people), "team": team,
                    "assignee": rng.choice(self.agents[team.name]), "template": tmpl,
                    "planned_start": start, "planned_end": end, "outage": outage,
                    "downtime_start": start + dt.timedelta(minutes=15) if outage else None,
                    "downtime_end": start + dt.timedelta(minutes=45) if outage else None,
                    "risk_level": rng.choice(["low", "medium", "medium", "high"]),
                    "risk_score": rng.randrange(10, 80),
                }
                if status in ("closed", "in_review", "implemented", "failed", "backed_out"):
                    values.update(actual_start=start, actual_end=end)
                if status in ("closed", "in_review"):
                    values["pir_outcome"] = rng.choice(["successful", "successful", "partially"])
                    values["pir_lessons"] = "Communicate the window earlier to the warehouse."
                if status == "failed":
                    values["pir_outcome"] = "failed"
                if n % 7 == 0 and self.problem_plan:
                    values["problem"] = self.problem_plan[n % len(self.problem_plan)][1]
                chg = change_svc.create_change(values, cm, cis=[ci] if ci else [])
                self.all_changes.append(chg)
                if status == "failed":
                    inc = incidents.create_incident({
                        "id": self.uid(), "title": f"Service degraded after {chg.ref}",
                        "impact": 2, "urgency": 2, "ci": ci, "opened_at": end,
                        "status": "closed", "resolved_at": end + dt.timedelta(hours=2),
                        "closed_at": end + dt.timedelta(days=2), "change": chg,
                        "team": team}, cm)
                    records.add_child(ChangeIncident, {"id": self.uid(), "change": chg.id,
                                                       "incident": inc.id}, cm)
        # CAB meetings: two held in the past with votes, decisions and actions; one upcoming.
        # (standard changes are pre-approved: they never go before a CAB)
        past_changes = [c for c in self.all_changes if c.planned_start and c.planned_start < self.now
                        and c.type != "standard"]
        future_changes = [c for c in self.all_changes if c.planned_start and c.planned_start > self.now
                          and c.type != "standard"]
        meetings = [("Weekly CAB", self.at(21, 10), past_changes[:5], "held"),
                    ("Weekly CAB", self.at(7, 10), past_changes[5:10], "held"),
                    ("Emergency CAB: VPN outage", self.at(3, 16), past_changes[10:11], "held"),
                    ("Weekly CAB", self.at(-2, 10),
                     [c for c in future_changes if c.status in ("awaiting_cab", "assessed",
                                                                 "submitted")][:8], "planned")]
        for title, start, agenda, status in meetings:
            meeting = change_svc.create_meeting({
                "id": self.uid(), "title": title, "starts_at": start,
                "ends_at": start + dt.timedelta(hours=1), "location": "Stockholm HQ, room Fjäll / Teams",
                "emergency": title.startswith("Emergency"), "status": status, "chair": members[0],
                "quorum": 2 if title.startswith("Emergency") else 3,
                "notes": "Forward schedule reviewed." if status == "held" else None},
                cm, attendees=members if status == "held" else members[:4], changes=agenda)
            if status != "held":
                continue
            for change in agenda:
                votes = []
                for m in members[: (3 if meeting.emergency else 5)]:
                    vote = rng.choices(["approve", "reject", "abstain"], [7, 1, 1])[0]
                    votes.append(vote)
                    change_svc.cast_vote(change.id, m.id, vote,
                                         "Backout plan is adequate." if vote == "approve"
                                         else "Needs a better test plan." if vote == "reject"
                                         else "", meeting.id, cm)
                decision = "approved" if votes.count("approve") >= meeting.quorum else "rejected"
                item = CABAgendaItem.get((CABAgendaItem.meeting == meeting.id)
                                         & (CABAgendaItem.change == change.id))
                records.update_child(CABAgendaItem, item.id, {
                    "decision": decision,
                    "conditions": "Only after the backup has been verified."
                    if decision == "approved" else None}, cm)
                records.add_child(CABAction, {
                    "id": self.uid(), "meeting": meeting.id, "change": change.id,
                    "text": f"Notify the service desk about {change.ref}",
                    "owner": members[1].id, "due": (start + dt.timedelta(days=2)).date()}, cm)
        # a Change awaiting CAB is what the upcoming meeting decides
        for c in meetings[-1][2]:
            records.update(Change, c.id, None, {"status": "awaiting_cab"}, cm)

    # -- releases and articles -----------------------------------------------------------------------
    def releases(self) -> None:
        rm = Actor.for_person(self.agents["Application Support"][0])
        shop_changes = [c for c in self.all_changes if "Web Shop" in c.title or "Shop" in c.title][:3]
        wms_changes = [c for c in self.all_changes if "scanner" in c.title.lower()
                       or "WMS" in c.title][:3]
        for name, version, rtype, status, bundle, start_days in (
                ("Web Shop 4.2", "4.2.0", "major", "test", shop_changes, 4),
                ("Warehouse scanners Q4", "2.7.1", "minor", "planning", wms_changes, -25)):
            start = self.at(start_days, 8)
            rel = releases.create_release({
                "id": self.uid(), "name": name, "release_version": version, "type": rtype,
                "status": status, "description": f"{name}: bundled changes and rollout to all sites.",
                "backout_plan": "Roll back each wave to the previous package from the DML.",
                "manager": self.agents["Application Support"][0],
                "team": self.teams["Application Support"],
                "planned_start": start, "planned_end": start + dt.timedelta(days=14)}, rm,
                changes=bundle)
            t = start
            build = releases.add_step(rel.id, {"name": "Build and package", "kind": "build",
                                               "owner_team": self.teams["Application Support"],
                                               "planned_start": t, "planned_end": t + dt.timedelta(days=2),
                                               "actual_start": t if status != "planning" else None,
                                               "actual_end": t + dt.timedelta(days=1, hours=20)
                                               if status != "planning" else None,
                                               "position": 1, "status": "done" if status != "planning" else "planned"}, rm)
            t += dt.timedelta(days=2)
            test = releases.add_step(rel.id, {"name": "System and acceptance test", "kind": "test",
                                              "owner_person": self.agents["Application Support"][1],
                                              "planned_start": t, "planned_end": t + dt.timedelta(days=3),
                                              "position": 2}, rm)
            t += dt.timedelta(days=3)
            from itsmdesk.models import StepDependency

            records.add_child(StepDependency, {"id": self.uid(), "step": test.id,
                                               "depends_on": build.id}, rm)
            prev = test
            for pos, (site_name, code, _tz) in enumerate(SITES, start=3):
                wave = releases.add_step(rel.id, {
                    "name": f"{'Pilot' if pos == 3 else 'Wave'}: {site_name}",
                    "kind": "pilot" if pos == 3 else "wave", "site": self.sites[code],
                    "owner_team": self.teams["End User Computing"], "planned_start": t,
                    "planned_end": t + dt.timedelta(days=1), "position": pos}, rm)
                records.add_child(StepDependency, {"id": self.uid(), "step": wave.id,
                                                   "depends_on": prev.id}, rm)
                prev = wave
                t += dt.timedelta(days=2)
            releases.add_step(rel.id, {"name": "Backout (if needed)", "kind": "backout",
                                       "owner_team": self.teams["Application Support"],
                                       "position": 99}, rm)

    def articles(self) -> None:
        author = Actor.for_person(self.agents["Service Desk"][1])
        for title, category, body in ARTICLES:
            links = []
            if category in self.services:
                links.append({"ci": self.services[category].id})
            knowledge.create_article({"id": self.uid(), "title": title, "category": category,
                                      "body": f"# {title}\n\n{body}\n", "status": "published",
                                      "tags": category.lower(), "author": author.person_id},
                                     author, links=links)
        from itsmdesk.models import Announcement, AnnouncementService

        ann = records.create(Announcement, {
            "id": self.uid(), "title": "Planned maintenance: Web Shop on Sunday night",
            "body": "The web shop is unavailable between 01:00 and 03:00.", "kind": "planned_outage",
            "starts_at": self.at(-4, 1), "ends_at": self.at(-4, 3)}, author)
        records.add_child(AnnouncementService, {"id": self.uid(), "announcement": ann.id,
                                                "ci": self.services["Web Shop"].id}, author)
