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
