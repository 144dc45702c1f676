"""Names for the demo company (Nordvik Logistics): people, sites, teams, services, categories."""

FIRST = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Anders", "Sara", "Per",
         "Lena", "Mikael", "Emma", "Nils", "Ingrid", "Oskar", "Elin", "Jonas", "Frida", "Magnus",
         "Sofia", "Henrik", "Linnea", "Fredrik", "Hanna", "Gustav", "Ida", "Viktor", "Maja", "Olof",
         "Priya", "Ahmed", "Chen", "Fatima", "Lucas", "Noor", "Mateo", "Aisha", "Tomás", "Yuki"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
        "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
        "Bengtsson", "Lindberg", "Lindqvist", "Berg", "Holm", "Sandberg", "Nyström", "Ekström",
        "Haddad", "Kowalski", "Nguyen", "Okafor", "Rossi", "Müller", "Santos", "Virtanen"]

SITES = [("Stockholm HQ", "STO", "Europe/Stockholm"), ("Göteborg DC", "GOT", "Europe/Stockholm"),
         ("Malmö Warehouse", "MMO", "Europe/Stockholm"), ("Oslo Office", "OSL", "Europe/Oslo"),
         ("Kiruna Depot", "KRN", "Europe/Stockholm")]

TEAMS = ["Service Desk", "Network Operations", "Server & Storage", "Database Administration",
         "Application Support", "End User Computing", "Security Operations", "Change Management"]

# service -> (criticality, [(application, database engine or None)])
SERVICES = {
    "E-mail and Calendar": ("high", [("Exchange Online Connector", None), ("Mail Relay", None)]),
    "ERP": ("critical", [("SAP ERP", "Oracle"), ("SAP Fiori Portal", None)]),
    "Web Shop": ("critical", [("Shop Frontend", None), ("Shop API", "PostgreSQL"),
                              ("Payment Gateway", None)]),
    "Warehouse Management": ("critical", [("WMS Core", "SQL Server"), ("Handheld Scanner Gateway", None)]),
    "Transport Planning": ("high", [("Route Optimiser", "PostgreSQL")]),
    "HR Portal": ("medium", [("HR Portal Web", "PostgreSQL")]),
    "Payroll": ("high", [("Payroll Engine", "SQL Server")]),
    "Remote Access VPN": ("high", [("VPN Concentrator Service", None)]),
    "File Sharing": ("medium", [("File Server Cluster", None)]),
    "Customer Support Telephony": ("high", [("Contact Centre", "SQL Server")]),
    "Business Intelligence": ("medium", [("BI Reporting", "PostgreSQL")]),
    "Identity and Access": ("critical", [("Active Directory", None), ("Single Sign-On", "PostgreSQL")]),
}

# category -> (team, [title templates], [descriptions])
INCIDENT_CATEGORIES = {
    "Network": ("Network Operations",
                ["{site} users cannot reach {service}", "Packet loss on {ci}", "Wi-Fi drops in {site}",
                 "VPN disconnects every few minutes"],
                ["Users report timeouts since this morning.", "Monitoring shows interface errors."]),
    "Server": ("Server & Storage",
               ["{ci} is not responding", "High CPU on {ci}", "Disk almost full on {ci}",
                "{ci} rebooted unexpectedly"],
               ["Alert from monitoring.", "Service slow; host metrics look abnormal."]),
    "Database": ("Database Administration",
                 ["Slow queries on {ci}", "{ci} deadlocks during batch", "Replication lag on {ci}"],
                 ["Batch jobs overrun their window.", "Application logs show DB timeouts."]),
    "Application": ("Application Support",
                    ["{service}: error 500 on checkout", "{service} login fails for some users",
                     "{service} report export hangs", "{service} shows stale data"],
                    ["Several callers with the same symptom.", "Started after the nightly job."]),
    "Workstation": ("End User Computing",
                    ["Laptop will not boot", "Outlook keeps crashing", "Printer queue stuck in {site}",
                     "Cannot map network drive"],
                    ["Single user affected.", "Caller tried a restart already."]),
    "Security": ("Security Operations",
                 ["Phishing e-mail reported", "Account locked out repeatedly",
                  "Suspicious login to {service}"],
                 ["Reported via the phishing button.", "SIEM alert."]),
}

REQUEST_CATEGORIES = {
    "New user account": "Service Desk",
    "Software installation": "End User Computing",
    "Access to shared folder": "Service Desk",
    "New laptop": "End User Computing",
    "VPN access": "Network Operations",
}

ARTICLES = [
    ("How to reset your password", "Identity and Access",
     "1. Go to the self-service portal.\n2. Choose **Forgot password**.\n3. Follow the SMS code."),
    ("Connecting to the VPN from home", "Remote Access VPN",
     "Install the VPN client, sign in with SSO, choose the nearest gateway."),
    ("Clearing a stuck print queue", "Workstation",
     "Restart the *Print Spooler* service, then delete files in the spool folder."),
    ("Outlook crashes at start-up", "E-mail and Calendar",
     "Start Outlook in safe mode (`outlook /safe`), disable add-ins, rebuild the profile."),
    ("Handheld scanner cannot connect", "Warehouse Management",
     "Check the scanner gateway status; re-pair the scanner; escalate to Application Support."),
    ("Web shop checkout error 500", "Web Shop",
     "Known error KE: payment gateway token expiry. Workaround: restart the payment adapter."),
    ("Mapping a network drive", "File Sharing",
     "Use `\\\\files\\dept` in Explorer, tick *Reconnect at sign-in*."),
    ("Requesting access to a shared folder", "File Sharing",
     "Raise a service request; the folder owner approves it."),
    ("Database replication lag: first checks", "ERP",
     "Check the network between sites, the redo log size and the apply process."),
    ("Reporting a phishing e-mail", "Security",
     "Use the *Report phishing* button; never click links; the SOC answers within one hour."),
]

# -- the small demo's month (itsmdesk/demo/builder.py) ------------------------------------------------
# TEAMS and INCIDENT_CATEGORIES above feed the large benchmark data set; the small demo is the IT
# department of a ~400-person logistics company: twelve people in four teams and the head of IT.

# team -> [(job title, site code)], the team lead first
IT_TEAMS = {
    "Service Desk": [("Service desk lead", "STO"), ("Service desk analyst", "STO"),
                     ("Service desk analyst", "GOT"), ("IT technician", "MMO")],
    "Network Operations": [("Network lead", "STO"), ("Network engineer", "GOT")],
    "Server & Storage": [("Infrastructure lead", "GOT"), ("Systems engineer", "GOT"),
                         ("Database administrator", "STO")],
    "Application Support": [("Application lead", "STO"), ("Application specialist", "STO"),
                            ("Application specialist", "OSL")],
}
HEAD_OF_IT = ("Head of IT", "STO")

# who calls the service desk: (job title, weight); the site comes from the person
EMPLOYEE_TITLES = [("Warehouse operative", 8), ("Warehouse supervisor", 3), ("Transport planner", 4),
                   ("Driver coordinator", 2), ("Customer service agent", 4), ("Buyer", 2),
                   ("Controller", 2), ("Payroll specialist", 1), ("HR partner", 1),
                   ("Sales manager", 2), ("Site manager", 1), ("Key account manager", 2)]

# category -> team that owns it in a twelve-person department
SMALL_CATEGORY_TEAMS = {"Network": "Network Operations", "Server": "Server & Storage",
                        "Database": "Server & Storage", "Application": "Application Support",
                        "Workstation": "Service Desk", "Security": "Network Operations"}
SMALL_REQUEST_TEAMS = {"New user account": "Service Desk", "Software installation": "Service Desk",
                       "Access to shared folder": "Service Desk", "New laptop": "Service Desk",
                       "VPN access": "Network Operations"}

# Everyday incidents: category -> [(weight, title, where, channels, solution, resolution code)].
# where: "ws" a workstation at the caller's site, "switch" the caller's site switch, "anyswitch"
# any switch, "app" a business application, "vm" a virtual machine, "db" a database, "": no CI.  {site}, {service}, {ci} are
# filled in.  Weights are per category.
SYMPTOMS = {
    "Workstation": [
        (5, "Outlook will not open: profile error", "", "phone chat",
         "Rebuilt the Outlook profile with the caller.", "solved_permanently"),
        (4, "Laptop will not boot", "ws", "phone",
         "Reseated the battery, ran the vendor diagnostics; booted normally.", "solved_permanently"),
        (4, "Printer queue stuck in {site}", "", "phone portal",
         "Cleared the spooler and restarted the print queue.", "solved_workaround"),
        (4, "Teams audio drops during meetings", "", "chat portal",
         "Updated the headset firmware and the audio driver.", "solved_permanently"),
        (3, "Second monitor not detected at docking station", "", "portal chat",
         "Updated the dock firmware; both monitors detected.", "solved_permanently"),
        (3, "Password expired while travelling", "", "phone",
         "Reset the password after verifying the caller; explained self-service reset.",
         "user_error"),
        (2, "Excel freezes when opening large reports", "", "portal",
         "Disabled hardware acceleration; advised saving as .xlsb.", "solved_workaround"),
    ],
    "Application": [
        (4, "{service}: report export hangs", "app", "portal email",
         "Cleared the stuck export job and re-ran it.", "solved_workaround"),
        (3, "{service} login fails for some users", "app", "phone portal",
         "Stale SSO session cookies; cleared them and the users signed in.", "solved_workaround"),
        (3, "{service} shows yesterday's data", "app", "email portal",
         "The overnight load had not finished; re-ran it and verified the figures.",
         "solved_permanently"),
        (2, "{service}: saving fails with a timeout", "app", "phone",
         "Recycled the application pool; saving works again.", "solved_workaround"),
        (2, "Cannot print delivery notes from {service}", "app", "phone",
         "Re-added the label printer in the application's printer map.", "solved_permanently"),
    ],
    "Network": [
        (4, "Wi-Fi slow in {site} meeting rooms", "", "portal chat",
         "Moved the access points off a congested channel.", "solved_permanently"),
        (3, "{site}: users cannot reach {service}", "switch", "phone",
         "A port channel on the site switch flapped; reset it and raised a vendor case.",
         "solved_workaround"),
        (2, "Packet loss on {ci}", "anyswitch", "monitoring",
         "Replaced a faulty SFP on the uplink.", "solved_permanently"),
        (2, "Guest Wi-Fi portal does not load", "", "portal",
         "Restarted the guest portal service.", "solved_workaround"),
    ],
    "Server": [
        (4, "High CPU on {ci}", "vm", "monitoring",
         "A runaway report job; stopped it and told the application owner.", "solved_workaround"),
        (3, "Disk almost full on {ci}", "vm", "monitoring",
         "Rotated and compressed old logs.", "solved_workaround"),
        (2, "{ci} is not responding", "vm", "monitoring phone",
         "The VM hung on a storage path failover; restarted it.", "solved_workaround"),
        (1, "Backup job failed on {ci}", "vm", "monitoring",
         "Snapshot quiescing timed out; re-ran the backup successfully.", "solved_workaround"),
    ],
    "Database": [
        (3, "Slow queries on {ci}", "db", "monitoring email",
         "Refreshed table statistics; query times back to normal.", "solved_permanently"),
        (2, "Replication lag on {ci}", "db", "monitoring",
         "Network congestion between the sites during the backup; lag caught up.",
         "no_fault_found"),
    ],
    "Security": [
        (6, "Phishing e-mail reported", "", "email",
         "Checked the headers, blocked the sender and purged the message from all mailboxes.",
         "solved_permanently"),
        (3, "Account locked out repeatedly", "", "phone",
         "An old phone kept trying a stale password; removed the mail profile from it.",
         "user_error"),
        (1, "Suspicious sign-in to {service}", "app", "monitoring",
         "Sign-in from a known travel location; confirmed with the user, reset the password.",
         "no_fault_found"),
    ],
}
CATEGORY_WEIGHTS = {"Workstation": 30, "Application": 22, "Network": 12, "Server": 12,
                    "Security": 14, "Database": 6}

WORK_NOTES = {
    "Workstation": ["Called the user and reproduced the fault.", "Took a remote session to check.",
                    "Asked the user to try again after a restart."],
    "Application": ["Reproduced with a test account.", "Checked the application log for errors.",
                    "Asked the vendor whether this is known."],
    "Network": ["Checked the switch and access point logs.", "Confirmed with a second user on site."],
    "Server": ["Checked the monitoring graphs for the last 24 hours.", "Logged on and checked the services."],
    "Database": ["Looked at the top queries and wait events.", "Checked the replication status."],
    "Security": ["Checked the message headers.", "Checked the sign-in log."],
    "request": ["Approved by the manager.", "Ordered from the supplier.", "Prepared and handed over."],
}

# Weekday incident volume (Monday first) and the hour-of-day weights (local time)
WEEKDAY_INCIDENTS = [11, 10, 9, 9, 8, 2, 1.5]
WEEKDAY_REQUESTS = [5, 4, 4, 4, 3, 0.3, 0.2]
OFFICE_HOURS = {7: 3, 8: 10, 9: 13, 10: 11, 11: 8, 12: 5, 13: 9, 14: 10, 15: 8, 16: 5, 17: 2}
