<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>AnnouncementDialog</name>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="60"/>
        <source>New announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="62"/>
        <source>Edit announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="67"/>
        <source>What people will notice, e.g. &quot;E-mail unavailable Saturday night&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="71"/>
        <source>Notice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="72"/>
        <source>Planned outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="78"/>
        <source>until further notice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="91"/>
        <source>Filter services…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="97"/>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="104"/>
        <source>Everyone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="105"/>
        <source>IT staff only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="108"/>
        <source>Every site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="111"/>
        <source>at</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="116"/>
        <source>What happens, what to do meanwhile, whom to call</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="123"/>
        <source>&amp;Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="124"/>
        <source>&amp;Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="126"/>
        <source>&amp;When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="127"/>
        <source>&amp;Services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="129"/>
        <source>&amp;For</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="133"/>
        <source>Te&amp;xt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="227"/>
        <source>An announcement needs a title.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="231"/>
        <source>Say when it starts.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AnnouncementsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44"/>
        <source>Add…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44"/>
        <source>Add a manual announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="45"/>
        <source>Edit…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="46"/>
        <source>Edit the selected announcement (one made from a change opens the change)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="48"/>
        <source>Withdraw</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="48"/>
        <source>Withdraw the selected announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="58"/>
        <source>Copy text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="59"/>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="68"/>
        <source>Copy all as plain text for an e-mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="60"/>
        <source>Copy HTML</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="61"/>
        <source>Copy all as HTML for an e-mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="67"/>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="97"/>
        <source>until further notice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="98"/>
        <source>NOW</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="98"/>
        <source>upcoming</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="101"/>
        <source>Services: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="103"/>
        <source>IT staff</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="105"/>
        <source>Everyone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="106"/>
        <source>every site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="107"/>
        <source>For: {who} at {where}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="117"/>
        <source>No current announcements.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="166"/>
        <source>Announcements copied to the clipboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="192"/>
        <source>New &amp;announcement…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ArticleForm</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="52"/>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="189"/>
        <source>New article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="56"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="64"/>
        <source>vpn, remote access</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="38"/>
        <source>Draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="38"/>
        <source>Published</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="39"/>
        <source>Retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="43"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="43"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="44"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="71"/>
        <source>Cate&amp;gory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="72"/>
        <source>T&amp;ags</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="74"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="126"/>
        <source>&amp;History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="133"/>
        <source>&amp;Publish</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="136"/>
        <source>Re&amp;tire</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="175"/>
        <source>&amp;Links ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="221"/>
        <source>{ref} is {status} now.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="81"/>
        <source>Write Markdown: # heading, - list, **bold**, `code`</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="95"/>
        <source>INC-…, KE-… or a CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="96"/>
        <source>&amp;Add link</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="97"/>
        <source>&amp;Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="123"/>
        <source>&amp;Text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="124"/>
        <source>&amp;Links</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="125"/>
        <source>&amp;Versions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="160"/>
        <source>by {author}, version {version}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="169"/>
        <source>v{n} · {at} · {who}
{fields}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AuditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="411"/>
        <source>Audit the CMDB against a scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="414"/>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="415"/>
        <source>Audit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="422"/>
        <source>Choose the scan (CSV: name, class, site, … as exported).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="424"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="424"/>
        <source>CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="424"/>
        <source>Scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="427"/>
        <source>Accept scan into the CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="439"/>
        <source>Scan file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="459"/>
        <source>Unknown (scanned, not in the CMDB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="460"/>
        <source>Missing (in the CMDB, not found)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="461"/>
        <source>Different</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="462"/>
        <source>Bad rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="469"/>
        <source>{s} scanned: {m} match, {u} unknown, {x} missing, {d} differences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="478"/>
        <source>Accept scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="479"/>
        <source>Create the unknown CIs and update the different ones from the scan?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="483"/>
        <source>Importing…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AvailabilityModel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46"/>
        <source>Failures</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46"/>
        <source>Downtime (h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="47"/>
        <source>MTTR (h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="47"/>
        <source>MTBF (h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="47"/>
        <source>Availability %</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AvailabilityPanel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="102"/>
        <source>Configuration item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="103"/>
        <source>Business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="110"/>
        <source>&amp;Compute</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="111"/>
        <source>Export CS&amp;V…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="112"/>
        <source>Export &amp;PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="116"/>
        <source>Per</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="118"/>
        <source>from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="120"/>
        <source>to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="142"/>
        <source>Most downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="185"/>
        <source>{n} with outages · {f} failures · {d} h downtime in {p} h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="200"/>
        <source>Export availability</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="201"/>
        <source>CSV (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="204"/>
        <source>{n} rows written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="209"/>
        <source>Availability report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="210"/>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="216"/>
        <source>{pages} page(s) written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AvailabilityReport</name>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="41"/>
        <location filename="../../itsmdesk/reports/availability_report.py" line="106"/>
        <source>No outages in this period.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="66"/>
        <source>downtime (hours)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="73"/>
        <source>Availability per configuration item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="75"/>
        <source>Availability per business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="82"/>
        <source>Period</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="83"/>
        <source>{hours} hours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="85"/>
        <source>Configuration items with outages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="86"/>
        <source>Business services with outages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="87"/>
        <location filename="../../itsmdesk/reports/availability_report.py" line="97"/>
        <source>Failures</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="88"/>
        <source>Total downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="89"/>
        <source>How outages are measured</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="90"/>
        <source>Incidents with impact high or medium; outage start/end when recorded, else opened to resolved; clipped to the period; overlapping outages merged into one failure. MTBF = uptime / failures, MTTR = downtime / failures.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="92"/>
        <source>Per configuration item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="93"/>
        <source>Per business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="94"/>
        <source>Most downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="96"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="98"/>
        <source>Downtime h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="99"/>
        <source>MTTR h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="100"/>
        <source>MTBF h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="101"/>
        <source>Availability %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="110"/>
        <source>{n} more rows are in the CSV export (itsmdesk availability --csv FILE).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BackupActions</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="27"/>
        <source>&amp;Back up now…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="31"/>
        <source>&amp;Restore from backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="48"/>
        <source>PostgreSQL dumps (*.dump);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="49"/>
        <source>Back up the database</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="57"/>
        <source>Backing up…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="60"/>
        <source>Backup written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="65"/>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="70"/>
        <source>Restore from backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="72"/>
        <source>Replace the database
{db}
with the backup
{file}?

The current database is saved beside it first. Other itsmdesk windows and commands using it must be closed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="47"/>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="66"/>
        <source>itsmdesk backups (*.db *.bak *.sqlite);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="83"/>
        <source>Restoring…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="93"/>
        <source>Restored from {file}; the previous database was saved as {saved}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="95"/>
        <source>Restored from {file}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BaselineDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="297"/>
        <source>CMDB baselines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="300"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="300"/>
        <source>Taken (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="301"/>
        <source>CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="301"/>
        <source>Relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="307"/>
        <source>Name of a new baseline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="309"/>
        <source>All CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="310"/>
        <source>Take baseline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="311"/>
        <source>Compare with now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320"/>
        <source>Difference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320"/>
        <source>Then</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320"/>
        <source>Now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="384"/>
        <source>CIs added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="385"/>
        <source>CIs removed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="386"/>
        <source>CIs changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="387"/>
        <source>Relations added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="388"/>
        <source>Relations removed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="390"/>
        <source>Relations changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="394"/>
        <source>No differences</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BulkEditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="27"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="28"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="29"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="30"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="31"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="32"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="33"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="40"/>
        <source>Edit {n} tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="50"/>
        <source>Pending reason / solution when needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="53"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="54"/>
        <source>New value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="55"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="63"/>
        <source>The change applies to all {n} selected tickets at once and can be undone with Ctrl+Shift+Z.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90"/>
        <source>(nobody)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="100"/>
        <source>1 high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="100"/>
        <source>2 medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="100"/>
        <source>3 low</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CABMeetingForm</name>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="84"/>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="434"/>
        <source>New CAB meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="91"/>
        <source>Histor&amp;y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="113"/>
        <source>Weekly CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="117"/>
        <source>Emergency CAB (ECAB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="127"/>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="274"/>
        <source>(no chair)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="133"/>
        <source>&amp;Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="134"/>
        <source>&amp;Starts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="135"/>
        <source>&amp;Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="138"/>
        <source>Quorum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="142"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="143"/>
        <source>C&amp;hair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="144"/>
        <source>&amp;Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="150"/>
        <source>Member</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="150"/>
        <source>Present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="177"/>
        <source>As the votes decide</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="180"/>
        <source>The board may reject or defer a change against its votes, with a reason; it approves only what the votes approve.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="185"/>
        <source>Reason, if against the votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="337"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="237"/>
        <source>Done / not done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="338"/>
        <source>Quorum outcome</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="338"/>
        <source>Decision / conditions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="343"/>
        <source>{status} · {type} change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="355"/>
        <source>Not on the CAB for this change&apos;s category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="373"/>
        <source>against the votes ({outcome})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="379"/>
        <source>Decided against the quorum outcome ({outcome}): {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="382"/>
        <source>no reason recorded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="393"/>
        <source>no quorum: {votes} of {quorum} votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="395"/>
        <source>{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="406"/>
        <source>overdue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="417"/>
        <source>Overdue: due {due} and not done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="479"/>
        <source>(absent)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="517"/>
        <source>Select a change on the agenda first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="523"/>
        <source>The votes say {outcome}: give the reason for deciding {decision}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="536"/>
        <source>An action needs a text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="548"/>
        <source>Select an action first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="170"/>
        <source>Build agenda from changes awaiting CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="174"/>
        <source>Conditions for the selected change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="187"/>
        <source>Record decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="211"/>
        <source>Action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="211"/>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="245"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="211"/>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="247"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="212"/>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="228"/>
        <source>New action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="231"/>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="275"/>
        <source>(no owner)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="235"/>
        <source>Add action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="87"/>
        <source>Meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="88"/>
        <source>Attendees</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="89"/>
        <source>Agenda and votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="90"/>
        <source>Actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="96"/>
        <source>CAB pack…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="99"/>
        <source>Minutes…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="405"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="407"/>
        <source>no</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CIForm</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="100"/>
        <source>Planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="100"/>
        <source>In production</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="101"/>
        <source>In maintenance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="101"/>
        <source>Retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="102"/>
        <source>Low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="102"/>
        <source>Medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="102"/>
        <source>High</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="103"/>
        <source>Critical</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="104"/>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="318"/>
        <source>New CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="125"/>
        <source>every dependency needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="126"/>
        <source>Redundancy: the CI stays up while at least this many of its redundant dependencies are up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="240"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="132"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="133"/>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153"/>
        <source>Class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="134"/>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="135"/>
        <source>Criticality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="136"/>
        <source>Owner team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="137"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="138"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="139"/>
        <source>Vendor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="140"/>
        <source>Serial</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="141"/>
        <source>Members that must stay up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="142"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="143"/>
        <source>Class attributes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153"/>
        <source>Direction</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153"/>
        <source>Relation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="154"/>
        <source>Redundant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="161"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="167"/>
        <source>redundant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="168"/>
        <source>Add</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="170"/>
        <source>Remove selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="181"/>
        <source>This CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="200"/>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="201"/>
        <source>Relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="202"/>
        <source>Open records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="203"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="204"/>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="209"/>
        <source>Subscribers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="214"/>
        <source>Subscribers ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="267"/>
        <source>this CI →</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="267"/>
        <source>→ this CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="269"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="271"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="271"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="272"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="272"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="275"/>
        <source>Relations ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="276"/>
        <source>Open records ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="393"/>
        <source>Remove relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="394"/>
        <source>Remove {n} relation(s)?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CabMinutes</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="60"/>
        <source>{approve} for, {reject} against, {abstain} abstain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="66"/>
        <source>no quorum: {votes} of {quorum} votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="68"/>
        <source>{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="78"/>
        <source>Emergency CAB minutes: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="79"/>
        <source>CAB minutes: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="97"/>
        <source>Meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="98"/>
        <source>Date (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="100"/>
        <source>Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="101"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="102"/>
        <source>Chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="91"/>
        <source>Present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="36"/>
        <source>Decided against the quorum outcome ({outcome}): {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="40"/>
        <source>Decided against the quorum outcome ({outcome}); no reason was recorded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="82"/>
        <source>DRAFT: this meeting was cancelled and not held.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="84"/>
        <source>DRAFT: this meeting has not been held yet. Attendance and decisions are not final.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="92"/>
        <source>Apologies</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="94"/>
        <source>Invited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="104"/>
        <source>Quorum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="107"/>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="109"/>
        <source>Decisions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="110"/>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="154"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="110"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="111"/>
        <source>Votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="111"/>
        <source>Decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="112"/>
        <source>Conditions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="119"/>
        <source>votes: {outcome}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="124"/>
        <source>No changes were discussed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="131"/>
        <source>{type} change · risk {risk} · planned {start} – {end} UTC · now {status}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="181"/>
        <source>DRAFT CAB minutes {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="186"/>
        <source>DRAFT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="136"/>
        <source>Member</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="136"/>
        <source>Vote</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="137"/>
        <source>Comment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="141"/>
        <source>no votes recorded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="144"/>
        <source>&lt;b&gt;Decision:&lt;/b&gt; {decision} &lt;font color=&apos;#6b7280&apos;&gt;(quorum rule: {rule})&lt;/font&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="150"/>
        <source>&lt;b&gt;Conditions:&lt;/b&gt; {conditions}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="153"/>
        <source>Actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="154"/>
        <source>Action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="155"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="155"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="156"/>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="163"/>
        <source>No actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="180"/>
        <source>CAB minutes {ref}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CabPack</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="77"/>
        <source>Emergency CAB pack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="78"/>
        <source>Change Advisory Board pack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="84"/>
        <source>Chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="85"/>
        <source>Invited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="87"/>
        <source>Quorum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="88"/>
        <source>Changes on the agenda</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="89"/>
        <source>Forward schedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="90"/>
        <source>{n} change(s) in the next 28 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="94"/>
        <source>Contents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="98"/>
        <source>Agenda</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="99"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="119"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="100"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="119"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="100"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="101"/>
        <source>Planned start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="102"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="121"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="152"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="108"/>
        <source>No changes on the agenda</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="112"/>
        <source>Forward schedule of change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="120"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="140"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="120"/>
        <source>Start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="121"/>
        <source>End</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="126"/>
        <source>Nothing scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="135"/>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="137"/>
        <source>(service outage)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="139"/>
        <source>Type / category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="141"/>
        <source>Planned window (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="143"/>
        <source>Downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="144"/>
        <source>Requester / team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="146"/>
        <source>Implementer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="148"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="149"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="196"/>
        <source>Risk not assessed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="200"/>
        <source>Level {level}, computed score {score} ({computed})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="206"/>
        <source>; overridden: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="210"/>
        <source>No factors were stored with this risk: it was set without an assessment.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="214"/>
        <source>Factor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="214"/>
        <source>Points</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="215"/>
        <source>Weight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="215"/>
        <source>Why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="154"/>
        <source>Impacted services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="115"/>
        <source>Approved, scheduled and in-progress changes planned from {start} to {end}, including those that started earlier and still run.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="156"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="157"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="166"/>
        <source>Criticality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="161"/>
        <source>No business service impacted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="162"/>
        <source>Affected CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="164"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="165"/>
        <source>Class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="170"/>
        <source>No CI recorded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="171"/>
        <source>Implementation plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="172"/>
        <source>Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="173"/>
        <source>Test plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="175"/>
        <source>Conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="177"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="178"/>
        <source>With</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="179"/>
        <source>When (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="180"/>
        <source>Detail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="187"/>
        <source>No conflicts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="226"/>
        <source>CAB decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="245"/>
        <source>CAB pack {ref}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CabPrinting</name>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="565"/>
        <location filename="../../itsmdesk/views/changes/printing.py" line="60"/>
        <source>Save PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="566"/>
        <location filename="../../itsmdesk/views/changes/printing.py" line="61"/>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="571"/>
        <location filename="../../itsmdesk/views/changes/printing.py" line="71"/>
        <source>%s written (%s pages)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="86"/>
        <source>Print preview: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="99"/>
        <source>CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="99"/>
        <source>There are no CAB meetings yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="102"/>
        <source>CAB meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="102"/>
        <source>Meeting:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CalendarCanvas</name>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="211"/>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="339"/>
        <source>+%n more</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="364"/>
        <source>Releases</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="366"/>
        <source>(no service)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="368"/>
        <source>(no CI)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="593"/>
        <source>Conflicts with other changes or windows</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CalendarExport</name>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="37"/>
        <source>Risk: {level}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="39"/>
        <source>(score {score})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="42"/>
        <source>; overridden: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="44"/>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="46"/>
        <source>Type: {type}   Status: {status}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="48"/>
        <source>Services: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="50"/>
        <source>CIs: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="54"/>
        <source>Downtime: {start} - {end} UTC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="56"/>
        <source>Downtime from {start} UTC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="57"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="58"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="59"/>
        <source>Implementation plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="61"/>
        <source>Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="62"/>
        <source>Test plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="78"/>
        <source>Forward schedule of change</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CalendarPanel</name>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="58"/>
        <source>Reschedule %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="109"/>
        <source>Month</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="109"/>
        <source>Week</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="109"/>
        <source>Day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="110"/>
        <source>Timeline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="113"/>
        <source>Rows per CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="114"/>
        <source>Rows per service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="118"/>
        <source>All statuses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="136"/>
        <source>Previous</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="137"/>
        <source>Today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="137"/>
        <source>Go to today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="138"/>
        <source>Next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="139"/>
        <source>Undo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="139"/>
        <source>Undo the last reschedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="141"/>
        <source>Redo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="146"/>
        <source>Export .ics…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="146"/>
        <source>Export this range as iCalendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="167"/>
        <source>Conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="176"/>
        <source>No end counts as</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="182"/>
        <source> min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="185"/>
        <source>How long a change without an end (or ending at its start) counts when conflicts are checked; 0 leaves it an instant that overlaps nothing. Applies to everyone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="192"/>
        <source>Fill: status · left stripe: risk · red outline: conflict · red shade: blackout · green: maintenance window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="225"/>
        <source>All teams</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="226"/>
        <source>All services</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/panel.py" line="290"/>
        <source>Conflicts (%n)</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/panel.py" line="292"/>
        <source>Compared: the %n change(s) in this range still on the calendar (draft to implementing).</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="294"/>
        <source>%1 of %2 conflicting pair(s) involve a change without an end.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="353"/>
        <source>%s moved to %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="377"/>
        <source>Export change calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="378"/>
        <source>iCalendar (*.ics)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="388"/>
        <source>%s written (%s changes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="398"/>
        <source>Export change calendar (.ics)…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChangeForm</name>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="194"/>
        <source>new (draft)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="236"/>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="440"/>
        <source>(no team)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="246"/>
        <source>Downtime window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="252"/>
        <source>Service outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="260"/>
        <source>&amp;Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="263"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="266"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="278"/>
        <source>Downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="286"/>
        <source>&amp;Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="287"/>
        <source>&amp;Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="267"/>
        <source>People</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="129"/>
        <source>Reschedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="135"/>
        <source>The downtime window moves by the same amount.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="138"/>
        <source>Planned &amp;start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="139"/>
        <source>Planned &amp;end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="157"/>
        <source>Change the risk of an approved change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="158"/>
        <source>{ref} is {status}: it was approved with its current risk. If the level changes, the change goes back for approval (the CAB votes again). The reason is kept in its history.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="200"/>
        <source>Reason for the next step (kept in the history)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="212"/>
        <source>Histor&amp;y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="241"/>
        <source>Re&amp;schedule…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="243"/>
        <source>Move the planned window; the downtime window moves with it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="265"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="273"/>
        <source>Planned window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="293"/>
        <source>Key in the old tool</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="294"/>
        <source>Raised</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="295"/>
        <source>Requested end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="296"/>
        <source>CAB approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="302"/>
        <source>Imported</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="325"/>
        <source>&amp;Implementation plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="326"/>
        <source>&amp;Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="327"/>
        <source>Te&amp;st plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="333"/>
        <source>Drop CIs here from the CMDB tree, or add one by name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="340"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="342"/>
        <source>Add</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="344"/>
        <source>Remove selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="360"/>
        <source>Factor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="360"/>
        <source>Points</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="360"/>
        <source>Weight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="361"/>
        <source>Why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="372"/>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="585"/>
        <source>Assess risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="376"/>
        <source>Override</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="379"/>
        <source>(computed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="452"/>
        <source>needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="453"/>
        <source>not needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="530"/>
        <source>approved with this risk: a new level sends it back for approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="538"/>
        <source>No factors were stored with this risk: it was set without an assessment. Assessing the risk computes them and stores them with the change.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="165"/>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="383"/>
        <source>Reason (required)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="384"/>
        <source>Apply override</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="390"/>
        <source>Conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="400"/>
        <source>(not reviewed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="407"/>
        <source>Record review</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="413"/>
        <source>Outcome</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="414"/>
        <source>Lessons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="415"/>
        <source>Incidents caused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="576"/>
        <source>The review follows implementation.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="580"/>
        <source>The change has started: its risk is history and is no longer re-assessed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="583"/>
        <source>Re-assess risk…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="659"/>
        <source>No CI named {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="727"/>
        <source>Risk changed from {old} to {new}: {ref} went back to {status} for approval.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="733"/>
        <source>Risk level unchanged ({level}): the approval stands.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="737"/>
        <source>Risk assessed: {level} (score {score}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="743"/>
        <source>Choose the review&apos;s outcome first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="207"/>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="208"/>
        <source>Plans</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="209"/>
        <source>Affected CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="210"/>
        <source>Risk and conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="211"/>
        <source>Review (PIR)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="192"/>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="588"/>
        <source>New change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="463"/>
        <source>Status: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="472"/>
        <source>Requester: %s · Implementer: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="504"/>
        <source>No conflicts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="522"/>
        <source>Risk not assessed yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="524"/>
        <source>Risk: %s (score %s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="527"/>
        <source>overridden from %s: %s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChangesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="66"/>
        <source>Search reference or title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="68"/>
        <source>All statuses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="73"/>
        <source>More</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="75"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="79"/>
        <source>Ref</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="75"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="79"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="75"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="76"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="76"/>
        <source>Planned start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="76"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="80"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="79"/>
        <source>Date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="99"/>
        <source>Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="100"/>
        <source>CAB meetings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="101"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="129"/>
        <source>Success rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="117"/>
        <source>By month</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="117"/>
        <source>By type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="118"/>
        <source>By team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="121"/>
        <source>Export CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="127"/>
        <source>Group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="127"/>
        <source>Finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="127"/>
        <source>Successful</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="128"/>
        <source>Failed / backed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="128"/>
        <source>Incidents caused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="160"/>
        <source>Export success rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="161"/>
        <source>CSV (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="265"/>
        <source>Standard change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="266"/>
        <source>Template:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="299"/>
        <source>New change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="300"/>
        <source>New standard change from template…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="301"/>
        <source>New CAB meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="303"/>
        <source>CAB pack (PDF, print preview)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="305"/>
        <source>CAB minutes (PDF, print preview)…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Cli</name>
    <message>
        <location filename="../../itsmdesk/cli.py" line="62"/>
        <source>itsmdesk: IT service support (incidents, problems, CMDB, changes, releases).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="64"/>
        <source>With no command, the desktop application starts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="67"/>
        <source>sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/DB (default: $ITSMDESK_DB, else a file in your data folder)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="70"/>
        <source>sign in as LOGIN (default: $ITSMDESK_USER); the password comes from $ITSMDESK_PASSWORD or is asked for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="74"/>
        <source>work on the demo database (built on first use): the GUI, or any command</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="132"/>
        <location filename="../../itsmdesk/cli.py" line="146"/>
        <location filename="../../itsmdesk/cli.py" line="157"/>
        <location filename="../../itsmdesk/commands/mail.py" line="97"/>
        <source>itsmdesk: error: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="136"/>
        <source>itsmdesk: interrupted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="159"/>
        <source>(set ITSMDESK_DEBUG=1 for details)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="20"/>
        <source>ACTION</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="21"/>
        <source>AFTER</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="22"/>
        <source>APPROVED</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="23"/>
        <source>AT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="24"/>
        <source>AVAILABILITY_PCT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="25"/>
        <source>CATEGORY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="26"/>
        <source>CAUSED_INCIDENTS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="27"/>
        <source>CHANGE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="28"/>
        <source>CHANGE_PCT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="29"/>
        <source>CHECKSUM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="30"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="31"/>
        <source>CIS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="32"/>
        <source>CLASS_LABEL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="33"/>
        <source>COUNT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="34"/>
        <source>CRITICALITY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="35"/>
        <source>DELTA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="36"/>
        <source>DEPTH</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="37"/>
        <source>DETAIL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="38"/>
        <source>DOWNTIME_H</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="39"/>
        <source>END</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="40"/>
        <source>ESCALATE_PCT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="41"/>
        <source>EXTERNAL_KEY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="42"/>
        <source>FACTOR</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="43"/>
        <source>FAILED</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="44"/>
        <source>FAILURES</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="45"/>
        <source>FIELD</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="46"/>
        <source>FINISHED</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="47"/>
        <source>FROM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="48"/>
        <source>INCIDENTS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="49"/>
        <source>ITEM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="50"/>
        <source>KEY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="51"/>
        <source>KIND</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="52"/>
        <source>MTBF_H</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="53"/>
        <source>MTTR_H</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="54"/>
        <source>NAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="55"/>
        <source>NEW</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="56"/>
        <source>OLD</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="57"/>
        <source>ON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="58"/>
        <source>OTHER</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="59"/>
        <source>OWNER</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="60"/>
        <source>POINTS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="61"/>
        <source>PREVIOUS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="62"/>
        <source>PROPAGATES</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="63"/>
        <source>PRIORITY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="64"/>
        <source>RANK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="65"/>
        <source>RATE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="66"/>
        <source>DEFAULT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="67"/>
        <source>VALUE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="68"/>
        <source>REF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="69"/>
        <source>REFS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="70"/>
        <source>RELATION</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="71"/>
        <source>RELATIONS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="72"/>
        <source>RESOLUTION_MIN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="73"/>
        <source>RESPONSE_MIN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="74"/>
        <source>RISK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="75"/>
        <source>RRULE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="76"/>
        <source>SCOPE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="77"/>
        <source>SITE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="78"/>
        <source>SOURCE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="79"/>
        <source>SLA_STATE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="80"/>
        <source>START</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="81"/>
        <source>STARTS_AT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="82"/>
        <source>STATUS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="83"/>
        <source>STEP</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="84"/>
        <source>STEPS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="85"/>
        <source>SUCCESSFUL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="86"/>
        <source>SUGGESTED_TITLE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="87"/>
        <source>TAKEN_AT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="88"/>
        <source>TARGET</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="89"/>
        <source>TITLE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="90"/>
        <source>TO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="91"/>
        <source>TYPE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="92"/>
        <source>VERSION</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="93"/>
        <source>VIA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="94"/>
        <source>WEIGHT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="95"/>
        <source>WHO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="96"/>
        <source>WHY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="188"/>
        <source>building the demo database {db} (once)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="237"/>
        <source>Password for {who}: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="267"/>
        <location filename="../../itsmdesk/commands/sync.py" line="200"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="286"/>
        <source>would create {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="288"/>
        <source>create {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="290"/>
        <source>nothing written; create {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="291"/>
        <source>{kind}: {n} rows read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="293"/>
        <source>update {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="294"/>
        <source>unchanged {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="295"/>
        <source>rejected {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="298"/>
        <source>journal_rows {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="310"/>
        <source>line {line}, column {column}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="334"/>
        <source>&apos;{value}&apos; is not a whole number from {low} to {high}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="354"/>
        <source>&apos;{value}&apos; is not a number from {low} to {high}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="14"/>
        <source>ticket categories and their diagnostic scripts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="16"/>
        <source>categories with the number of script steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="20"/>
        <source>a category&apos;s diagnostic script (JSON)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="22"/>
        <source>print the script as JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="26"/>
        <source>replace the script from a JSON file: [{&quot;question&quot;: ..., &quot;answers&quot;: [{&quot;label&quot;: ..., &quot;route_team&quot;: ...}]}] (route_team: a team id or name; [] removes the script)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="68"/>
        <source>{n} steps saved for {kind} category {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="38"/>
        <source>change management: conflicts, transitions, success rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="41"/>
        <source>conflicting changes and window violations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="43"/>
        <source>compare changes planned to run on or after this day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="45"/>
        <source>compare changes planned to start up to this day, inclusive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="49"/>
        <source>compare changes with these statuses (default: the ones still on the calendar, draft to implementing)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="52"/>
        <source>compare every change, whatever its status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="53"/>
        <source>skip impact-path conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="57"/>
        <source>show or set how long a change without an end counts in conflict checks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="62"/>
        <source>move a change to another status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="65"/>
        <source>why (needed to reject a change the CAB did not reject)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="69"/>
        <source>change success rate per type, team or month</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="76"/>
        <source>assess a change&apos;s risk and show its factors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="78"/>
        <source>re-assess an approved change for this reason (a new level sends it back for approval)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="84"/>
        <location filename="../../itsmdesk/commands/changes.py" line="90"/>
        <source>forward schedule of change as .ics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="87"/>
        <source>change calendar: export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="120"/>
        <source>every status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="123"/>
        <source>Compared {n} change(s) with status: {statuses}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="125"/>
        <source>Period: {start} to {end}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="126"/>
        <source>any start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="127"/>
        <source>any end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="129"/>
        <source>A change without an end counts as {minutes} minute(s) (setting {setting}; &apos;changes conflict-stretch&apos; changes it): {changes} change(s) stretched, {stretched} of {pairs} conflicting pair(s) involve one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="168"/>
        <source>A change without an end counts as {minutes} minute(s) in conflict checks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="227"/>
        <source>{ref}: risk {level} (score {score})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="232"/>
        <source>{ref}: risk level {old} -&gt; {new}; sent back for approval (now {status})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="236"/>
        <source>{ref}: risk level unchanged ({level}); the approval stands</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="239"/>
        <source>{ref} is {status}: this is the risk it was approved with; give --reason to re-assess it (a new level sends it back for approval)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="243"/>
        <source>{ref} is {status}: its stored risk is shown; it is no longer re-assessed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="260"/>
        <source>{path} written ({n} changes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="20"/>
        <source>what fails if a CI fails (down) or what it needs (up)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="21"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="24"/>
        <source>relation steps (default: no limit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="26"/>
        <source>treat every relation as a single point of failure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="27"/>
        <source>only the business services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="31"/>
        <source>CMDB baselines: take, list, compare with now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="33"/>
        <source>snapshot CIs and relations under a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="36"/>
        <source>only CIs of this class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="37"/>
        <source>only CIs at this site (code)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="38"/>
        <source>a business service and everything it needs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="40"/>
        <source>list baselines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="43"/>
        <source>compare a baseline with the CMDB now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="48"/>
        <source>compare the CMDB with a discovered list (CSV)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="51"/>
        <source>apply the scan: create unknown CIs and update different ones</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="77"/>
        <source>{n} CIs ({services} business services)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="89"/>
        <source>baseline &apos;{name}&apos; taken: {n} items</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="99"/>
        <source>all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="116"/>
        <source>baseline &apos;{name}&apos; ({at} UTC) against now:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="119"/>
        <source>no differences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="121"/>
        <source>+ CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="123"/>
        <source>- CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="125"/>
        <source>~ CI {name}: {field} {old} -&gt; {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="128"/>
        <source>+ relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="130"/>
        <source>- relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="132"/>
        <source>~ relation {name}: {field} {old} -&gt; {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="149"/>
        <source>bad row: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="151"/>
        <source>unknown  {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="153"/>
        <source>missing  {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="155"/>
        <source>differs  {name}: {field} CMDB {cmdb}, scan {scan}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="157"/>
        <source>{scanned} scanned: {matching} match, {unknown} unknown, {missing} missing, {different} differences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="14"/>
        <source>create the database or upgrade its schema</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="15"/>
        <source>create the first administrator (a database without accounts only); the password from $ITSMDESK_NEW_PASSWORD or asked for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="18"/>
        <source>the administrator&apos;s name (default: LOGIN)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="21"/>
        <source>fill the database with deterministic demo data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="25"/>
        <source>add demo data even though the database already holds records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="28"/>
        <source>print counts per record kind as JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="31"/>
        <source>write a consistent copy of the database to FILE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="35"/>
        <source>replace the database with the backup FILE (SQLite; the current file is saved beside it first)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="41"/>
        <source>check the file, the references between records, external keys, stored values and the CMDB graph index</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="45"/>
        <source>first put the CMDB graph index right (it is derived from the CIs and relations; nothing else changes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="51"/>
        <source>list records of one kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="53"/>
        <source>one of: {kinds}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="59"/>
        <source>who changed what on a record (by reference or CI name)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="64"/>
        <source>every setting: where it lives, its default and its value here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="66"/>
        <source>print JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="80"/>
        <source>created {db} at schema {version}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="83"/>
        <source>{db} is up to date (schema {version})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="86"/>
        <source>upgraded {db} from schema {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="94"/>
        <source>{login}: administrator {name} created; sign in with --user {login}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="109"/>
        <source>demo data ({size}, seed {seed}) written to {db} in {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="128"/>
        <source>backup of {db} written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="142"/>
        <source>the previous database was saved as {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="145"/>
        <source>{db} restored from {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="158"/>
        <source>CMDB graph index repaired ({cis} CI(s), {relations} relation(s) still wrong)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="165"/>
        <source>{n} problem(s) found in {db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="169"/>
        <source>{db}: OK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="221"/>
        <source>{reason} Organisation settings show their defaults.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/exporting.py" line="12"/>
        <source>export CIs or relations as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/exporting.py" line="23"/>
        <source>{n} cis written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/exporting.py" line="25"/>
        <source>{n} relations written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="22"/>
        <source>import records from a CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="26"/>
        <source>mapping for another tool&apos;s export: a file, or the name of a ready one (itsmdesk mappings lists them)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="29"/>
        <source>show what would change; write nothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="31"/>
        <source>import the good rows and write the bad ones to this file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="32"/>
        <source>no progress on stderr</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="34"/>
        <source>print the report (counts, bad rows, dry-run changes) as JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="36"/>
        <source>the ready import mappings for other tools&apos; exports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="38"/>
        <source>as JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="51"/>
        <source>No ready mappings are installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="55"/>
        <source>Use one with: itsmdesk import KIND FILE --map NAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="61"/>
        <source>reading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="62"/>
        <source>checking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="63"/>
        <source>checking rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="64"/>
        <source>writing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="65"/>
        <source>writing records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="66"/>
        <source>writing history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="67"/>
        <source>exporting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="100"/>
        <location filename="../../itsmdesk/commands/sync.py" line="165"/>
        <source>(empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="108"/>
        <source>create CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="108"/>
        <source>add relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="110"/>
        <source>update CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="110"/>
        <source>update relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="119"/>
        <source>... and {n} more CIs to create or update (not listed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="121"/>
        <source>... and {n} more relations to create or update (not listed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="124"/>
        <source>relations not in the file are kept (the import never removes relations)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="164"/>
        <source>... and {n} more bad rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="166"/>
        <source>... and {n} more errors in the rows above</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="170"/>
        <source>rejected rows written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="22"/>
        <source>failures, MTBF, MTTR and availability per CI or business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="25"/>
        <source>period start (default: a year before the end)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="27"/>
        <source>period end, inclusive day (default: now)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="30"/>
        <source>only the N with most downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="32"/>
        <source>write the figures as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="33"/>
        <source>write the report as PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="37"/>
        <source>incidents per CI, service, category or team, top movers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="40"/>
        <source>period start (default: 90 days before the end)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="41"/>
        <source>period end, inclusive day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="46"/>
        <source>knowledge base</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="48"/>
        <source>full-text search of articles, best first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="54"/>
        <source>problem management</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="57"/>
        <source>recurring incidents not yet linked to a problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="59"/>
        <source>look at incidents of the last N days (before --to, default now)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="62"/>
        <source>look at incidents opened on or after this day (instead of --days)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="65"/>
        <source>look at incidents opened up to this day, inclusive (default: now)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="171"/>
        <source>Incidents opened {start} to {end} (UTC); at most the newest {per_ci} per CI or service are clustered (--per-ci), at most {limit} groups shown (--limit).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="177"/>
        <source>{cis} CI(s) or service(s) had more: {n} older incident(s) were not clustered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="181"/>
        <source>Showing {shown} of {found} groups.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="68"/>
        <source>incidents within N days of each other belong together</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="71"/>
        <source>show at most N groups, the biggest first (default 100)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="73"/>
        <source>cluster at most the newest N incidents of each CI or service (default 400)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="87"/>
        <source>{n} rows written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="94"/>
        <source>{n} page(s) written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="102"/>
        <source>service availability {start} .. {end} UTC ({hours} h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="104"/>
        <source>ci availability {start} .. {end} UTC ({hours} h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="122"/>
        <source>ci</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="122"/>
        <source>service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="123"/>
        <source>category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="123"/>
        <source>team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="124"/>
        <source>incidents by {by}, {start} .. {end}: {total} (previous period {previous})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="129"/>
        <source>top movers:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="11"/>
        <source>release management: show, move status, deploy waves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="14"/>
        <source>a release with its changes, risk, plan and DML items</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="20"/>
        <source>move a release to STATUS (checks the change roll-up)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="26"/>
        <source>deploy one rollout wave: update the site&apos;s CI versions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="29"/>
        <source>the wave&apos;s name (or a unique prefix) or id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="48"/>
        <source>type {type} · status {status} · risk {risk} · window {start} – {end} UTC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="51"/>
        <source>manager {manager} · team {team} · next: {next}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="55"/>
        <source>  risk {level} {why}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="57"/>
        <source>Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="58"/>
        <source>  (NOT all approved: cannot deploy)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="59"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="59"/>
        <source>NO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="63"/>
        <source>Affected services: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="65"/>
        <source>Plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="71"/>
        <source>Definitive media library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="75"/>
        <source>warning: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="91"/>
        <source>{ref}: {old} -&gt; {new} (risk {risk})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="109"/>
        <source>{ref} {step} at {site}: {n} CI(s) updated, {unchanged} already current; release is {status}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="20"/>
        <source>write a PDF report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="23"/>
        <source>CAB meeting reference (cab-pack, cab-minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="24"/>
        <source>release reference (release-plan)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="41"/>
        <source>{path} written ({n} pages)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="21"/>
        <source>full-text search over tickets (title, description, work log)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="24"/>
        <source>only open tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="35"/>
        <source>ticket queues: counts, or the first rows of one queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="36"/>
        <source>queue key (all_open, unassigned, breached, ...)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="20"/>
        <source>SLA clocks, targets and business calendars</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="23"/>
        <source>flag tickets at risk and mark breaches (run every minute)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="18"/>
        <source>mail: notifications, outage announcements, the outbox</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="26"/>
        <source>deliver the queued mail that is due (retries with backoff)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="28"/>
        <location filename="../../itsmdesk/commands/sla.py" line="24"/>
        <location filename="../../itsmdesk/commands/sla.py" line="102"/>
        <source>pretend it is this UTC time (YYYY-MM-DD HH:MM)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="33"/>
        <source>the outgoing mail, newest first, with its status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="40"/>
        <source>show or change the SMTP server notifications go out by; --test connects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="44"/>
        <source>0: the usual one (587, 465 for ssl)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="47"/>
        <source>the SMTP login (--user signs in to itsmdesk)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="49"/>
        <source>the address mail is sent from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="55"/>
        <source>connect and log in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="58"/>
        <source>connect to the SMTP server and log in; with --to, send a test mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="64"/>
        <source>a person follows a business service&apos;s outage announcements</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="66"/>
        <source>a person no longer follows a business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="68"/>
        <location filename="../../itsmdesk/commands/mail_out.py" line="73"/>
        <source>the business service&apos;s name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="69"/>
        <location filename="../../itsmdesk/commands/mail_out.py" line="78"/>
        <source>login, e-mail address or name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="72"/>
        <source>who follows a business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="77"/>
        <source>the language a person is mailed in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="93"/>
        <source>{sent} sent, {retrying} to retry, {failed} failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="96"/>
        <source>The SMTP server was not reached: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="152"/>
        <source>{server}: test mail sent to {to}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="142"/>
        <location filename="../../itsmdesk/commands/mail_out.py" line="154"/>
        <source>{server}: connected and logged in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="165"/>
        <source>{person} now follows {service}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="168"/>
        <source>{person} already follows {service}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="180"/>
        <source>{person} no longer follows {service}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="183"/>
        <source>{person} did not follow {service}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="207"/>
        <source>{person} is mailed in {language}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="28"/>
        <source>show the SLA targets per priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="32"/>
        <source>set an SLA target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="34"/>
        <source>set one priority&apos;s response and resolution targets (business time)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="37"/>
        <source>e.g. 30m, 4h, 1h30m</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="38"/>
        <source>e.g. 8h, 2400m</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="40"/>
        <source>count on this business calendar (default: the one named Default, else 24x7)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="43"/>
        <source>flag at risk at this share of the resolution target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="44"/>
        <source>an SLA of this service&apos;s own (a service CI&apos;s name)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="46"/>
        <source>an OLA: this team&apos;s internal target (its time holding the ticket)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="50"/>
        <source>business calendars, their hours and holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="54"/>
        <source>add or change a business calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="56"/>
        <source>add a business calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="57"/>
        <source>change a business calendar&apos;s hours or zone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="61"/>
        <source>time zone, e.g. Europe/Stockholm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="63"/>
        <source>working hours, e.g. &quot;mon-fri 08:00-12:00,13:00-17:00&quot; or &quot;sun 22:00-06:00&quot; (repeatable)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="67"/>
        <source>add a holiday to a calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="69"/>
        <source>add one holiday</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="75"/>
        <source>holidays from a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="81"/>
        <source>expand repeating holidays over these years (default: this year and the next nine)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="85"/>
        <source>the SLA breach report of a period: CSV (one row per ticket) and/or PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="89"/>
        <source>last day of the period (YYYY-MM-DD, included)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="90"/>
        <source>write the tickets as CSV here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="91"/>
        <source>write the report as PDF here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="95"/>
        <source>store every open ticket&apos;s SLA state again from its history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="99"/>
        <source>a ticket&apos;s SLA clock: elapsed business time, due dates, state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="188"/>
        <source>{kind} P{priority}: respond within {response}, resolve within {resolution} (business time)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="230"/>
        <source> (default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="235"/>
        <source>No calendar is named Default: targets without a calendar count 24x7.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="252"/>
        <source>created calendar {name}: {hours}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="268"/>
        <source>calendar {name}: {hours}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="285"/>
        <source>{day} is a holiday in {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="288"/>
        <source>{day} already is a holiday in {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="317"/>
        <source>{n} open tickets had their SLA state stored again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="343"/>
        <source>{ref}: {state}, {elapsed} of {target} business time used; resolution due {due} UTC, response due {response} UTC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="372"/>
        <source>{n} tickets: {met} met, {breached} breached, {open} still open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="28"/>
        <source>quick open: any record by reference, source-system key (external key) or words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="43"/>
        <source>service announcements</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="45"/>
        <source>current announcements as text or HTML (for e-mail)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="49"/>
        <source>only what concerns this site (by its code)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="51"/>
        <source>leave out the notices for IT staff only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="53"/>
        <source>add a manual announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="59"/>
        <source>service CI name (repeatable)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="63"/>
        <source>for this site only (by its code); default: every site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="66"/>
        <source>business calendars for SLA clocks (the change calendar is `calendar`)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="69"/>
        <source>calendars and their holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="71"/>
        <source>create a calendar with office hours Mon-Fri 08-17</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="76"/>
        <source>holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="77"/>
        <location filename="../../itsmdesk/commands/sla.py" line="77"/>
        <source>import holidays from an .ics file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="80"/>
        <source>calendar name (default: the default one)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="139"/>
        <source>{flagged} flagged at risk, {breached} breached, {notifications} notifications</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="142"/>
        <location filename="../../itsmdesk/commands/sla.py" line="362"/>
        <location filename="../../itsmdesk/commands/sla.py" line="369"/>
        <source>wrote {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="170"/>
        <source>announced: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="180"/>
        <source>{name} ({timezone}): {n} holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="193"/>
        <source>created calendar {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="210"/>
        <location filename="../../itsmdesk/commands/sla.py" line="307"/>
        <source>{added} holidays added to {name}, {skipped} already there</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="25"/>
        <source>accounts: people, their roles and passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="29"/>
        <source>people with a login and their roles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="31"/>
        <source>people without a login too</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="35"/>
        <source>a new person with a login and roles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="40"/>
        <location filename="../../itsmdesk/commands/admin.py" line="49"/>
        <source>a role (repeat for more): {roles}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="43"/>
        <source>give the login to the person already in the directory with this e-mail (or name)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="47"/>
        <source>grant or revoke roles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="53"/>
        <source>set a person&apos;s password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="58"/>
        <source>stop a person signing in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="59"/>
        <source>let a person sign in again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="74"/>
        <source>New password for {login}: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="75"/>
        <source>Again: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="91"/>
        <source>inactive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="108"/>
        <source>{login}: account of {name} ({roles})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="126"/>
        <source>{login}: password set</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="26"/>
        <source>set up a shared PostgreSQL database and its logins</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="30"/>
        <source>make a PostgreSQL database a shared itsmdesk database: roles, row-level security, the first administrator (run as a superuser)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="33"/>
        <source>postgresql://SUPERUSER@HOST:PORT/DB, without the password (it comes from ITSMDESK_PASSWORD, PGPASSFILE or is asked for)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="37"/>
        <source>the first administrator&apos;s login</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="38"/>
        <source>the administrator&apos;s name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="39"/>
        <source>prefix of the PostgreSQL role names (default itsmdesk; another one for a second itsmdesk database on the same server)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="44"/>
        <source>a new person with their own PostgreSQL login and roles (as an administrator)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="47"/>
        <source>the person&apos;s name (default: the login)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="64"/>
        <source>itsmdesk: warning: a password in the URL is visible to every user of this computer in the process list; use ITSMDESK_PASSWORD or a PGPASSFILE instead</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="87"/>
        <location filename="../../itsmdesk/commands/base.py" line="256"/>
        <source>Password for {login}: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="105"/>
        <source>{db}: shared database ready (schema {schema}, roles {prefix}_*).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="108"/>
        <source>Administrator {login} created: connect as postgresql://{login}@HOST:PORT/{db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="112"/>
        <source>Administrator {login} was there already (left as it was).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="135"/>
        <source>{login} can now connect as postgresql://{login}@HOST:PORT/{db} (roles: {roles})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="12"/>
        <source>a local replica of the shared database for a site that works offline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="16"/>
        <source>copy the hub (the whole database) into a new SQLite file for a site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="18"/>
        <source>the hub: postgresql://USER@HOST:PORT/DB (the password from ITSMDESK_PASSWORD or the keyring) or sqlite:///FILE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="21"/>
        <source>the site&apos;s code (2 to 8 letters or digits): references made on the replica are numbered in its block, e.g. INC-OSL-000001</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="37"/>
        <source>whether the database is a replica, of which hub, and when it last synced</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="42"/>
        <source>values the hub did not take because it had changed the same field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="44"/>
        <source>include the conflicts decided already</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="49"/>
        <source>decide a conflict: keep the hub&apos;s value or take the replica&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="51"/>
        <source>the conflict&apos;s number, as &apos;replica conflicts&apos; lists it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="53"/>
        <source>hub: keep the value the hub kept; replica: set the replica&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="57"/>
        <source>send this replica&apos;s changes to the hub and fetch the hub&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="33"/>
        <location filename="../../itsmdesk/commands/sync.py" line="59"/>
        <source>the hub (default: the one the replica was made from)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="24"/>
        <source>only the site&apos;s part: teams=NAME,NAME and/or site=CODE (its teams&apos; CIs, tickets, problems, changes and releases, and all reference data)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="30"/>
        <source>copy the replica&apos;s part of the hub again (when the hub&apos;s history no longer reaches back to the last sync); unsent changes are kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="62"/>
        <source>print one JSON line per step (phase, done, total) and a last one with the summary (for the desktop app)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="67"/>
        <source>on a replica with no link: write its unsent changes to a file to carry to the hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="73"/>
        <source>at the hub: apply a site&apos;s carried file and write the answer; on the replica: apply the hub&apos;s answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="77"/>
        <source>at the hub: where to write the answer to carry back (default: FILE with &apos;.answer&apos; added)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="99"/>
        <source>replica of {hub} for site {site} written to {path}: {rows} rows, {journal} journal rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="104"/>
        <location filename="../../itsmdesk/commands/sync.py" line="126"/>
        <source>scope: {scope}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="105"/>
        <source>references made on it are numbered in the site&apos;s block ({example}); sync with: itsmdesk --db sqlite:///{path} sync</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="121"/>
        <source>{db} is not a replica</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="124"/>
        <source>replica of {hub} for site {site}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="127"/>
        <source>scope: the whole hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="129"/>
        <source>last synced: {when} UTC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="131"/>
        <source>never synced yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="132"/>
        <source>local journal rows waiting to be sent: {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="150"/>
        <source>fetched {rows} rows from the hub again; {again} unsent journal rows applied again on top; current to hub journal id {checkpoint}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="157"/>
        <source>{ref} {field}: the hub kept {hub}; {site} had {replica} ({who}, {at} UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="179"/>
        <source>kept the hub&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="180"/>
        <source>took the replica&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="181"/>
        <source>decided: {what} ({who}, {at} UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="207"/>
        <source>decide one with: itsmdesk replica decide ID --take hub|replica</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="320"/>
        <source>sent {batches} change(s) ({rows} journal rows; {skipped} sent before), received {pulled} journal rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="325"/>
        <source>the hub no longer keeps its history back to this replica&apos;s last sync: the replica&apos;s part was fetched again from the hub (unsent changes kept)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="329"/>
        <source>scope: {skipped} hub change(s) outside it not applied; {fetched} row(s) of records entering it fetched whole</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="333"/>
        <source>{n} conflict(s): the hub&apos;s value stays, yours is kept for a person to decide:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="349"/>
        <source>{batches} unsent change(s) ({rows} journal rows) written to {path}; at the hub: itsmdesk --db HUB sync import-bundle {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="367"/>
        <source>{path} brings nothing new: this replica has it already</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="370"/>
        <source>the hub&apos;s answer applied: {acked} journal row(s) of yours acknowledged, {pulled} received</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="381"/>
        <source>{applied} change(s) applied, {skipped} applied before; the answer ({rows} journal rows) is in {answer}: carry it back and run itsmdesk --db sqlite:///REPLICA sync import-bundle {answer}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="18"/>
        <source>e-mail: take mail in, send notifications</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="19"/>
        <source>E-mail. Taking mail in: fetch, import, unmatched, setup, rules. Sending notifications: send-queued, outbox, test-smtp, subscribe, unsubscribe, subscribers, language. See docs/mail.md.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="24"/>
        <source>take in new mail from the IMAP mailbox (each mail once)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="29"/>
        <source>take in mail saved as .eml (or .msg) files (each mail once)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="34"/>
        <source>mail no rule matched, waiting for an agent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="38"/>
        <source>show or change the IMAP mailbox settings; --test connects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="44"/>
        <source>the mailbox&apos;s login (--user signs in to itsmdesk)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="49"/>
        <location filename="../../itsmdesk/commands/mail_out.py" line="52"/>
        <source>read the password from standard input and keep it in the keyring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="52"/>
        <source>connect and open the folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="54"/>
        <source>show the mail rules, or replace them with a JSON file&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="61"/>
        <source>already taken</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="76"/>
        <source>{found} new mails: {tickets} tickets, {notes} notes, {waiting} unmatched, {ignored} ignored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="132"/>
        <source>This computer has no keyring: the password was not kept (set ITSMDESK_MAIL_PASSWORD instead)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="137"/>
        <source>connected: {count} mails in {folder}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CmdbPanel</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="34"/>
        <source>By class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="35"/>
        <source>By site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="36"/>
        <source>By business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="39"/>
        <source>Filter CIs by name (Ctrl+Shift+F)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="42"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="43"/>
        <source>Show what fails if the selected CI fails (Ctrl+I)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="45"/>
        <source>New CI</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CmdbTree</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="92"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="92"/>
        <source>Class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="92"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="122"/>
        <source>{name}
Class: {cls}
Status: {status}
Criticality: {crit}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="136"/>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="180"/>
        <source>More… (next {n})</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ConflictsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="53"/>
        <source>changed on both sides</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="54"/>
        <source>deleted on the hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="55"/>
        <source>edited on the hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="68"/>
        <source>the author may not {what}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="76"/>
        <source>(the record deleted)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="87"/>
        <source>the record, as the hub has it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="88"/>
        <source>delete the record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="91"/>
        <source>(empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="127"/>
        <source>Show decided</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="131"/>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="132"/>
        <source>Read the conflicts again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="136"/>
        <source>Sync with hub…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148"/>
        <source>Record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148"/>
        <source>Hub&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148"/>
        <source>Replica&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="149"/>
        <source>Who and when</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="149"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="149"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="168"/>
        <source>Hub&apos;s value (kept)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="169"/>
        <source>Replica&apos;s value (not taken)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="177"/>
        <source>Keep hub&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="180"/>
        <source>Take replica&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="184"/>
        <source>Open record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="264"/>
        <source>{n}{more} open conflict(s) to decide</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="265"/>
        <source>No open conflicts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="285"/>
        <source>Select a conflict to see both values.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="291"/>
        <source>{record} · {field} · {reason}
Made at {site} by {who}, {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="296"/>
        <source>kept the hub&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="297"/>
        <source>took the replica&apos;s value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="298"/>
        <source>Decided: {what} ({who}, {when})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="307"/>
        <source>The hub deleted what the replica changed: only the hub&apos;s side can be kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="319"/>
        <source>Conflict on {record} decided</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="329"/>
        <source>Deciding a conflict</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="372"/>
        <source>&amp;Sync with hub…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Connect</name>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="52"/>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="151"/>
        <source>Connect to shared database</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="66"/>
        <source>&amp;Remember password (in this computer&apos;s keyring)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="70"/>
        <source>This computer has no keyring: the password cannot be remembered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="75"/>
        <source>&amp;Server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="76"/>
        <source>P&amp;ort</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="77"/>
        <source>&amp;Database</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="78"/>
        <source>&amp;Login</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="79"/>
        <source>&amp;Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="85"/>
        <source>Connect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="104"/>
        <source>Connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="130"/>
        <source>This computer has no keyring: the password is not remembered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="147"/>
        <source>itsmdesk opens {db} from its next start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="152"/>
        <source>Restart now?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DashboardPanel</name>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="41"/>
        <source>Business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="41"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="46"/>
        <source>Last 7 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="46"/>
        <source>Last 30 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="47"/>
        <source>Last 90 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="47"/>
        <source>Last 12 months</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="53"/>
        <source>Top </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="54"/>
        <source>&amp;Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="59"/>
        <source>Incidents by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="67"/>
        <source>Most incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="69"/>
        <source>Top movers (vs previous period)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="71"/>
        <source>Incidents opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="113"/>
        <source>{total} incidents ({change:+} vs previous period)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DiagnosticEditor</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="59"/>
        <source>Diagnostic scripts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="73"/>
        <source>&amp;New…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="74"/>
        <source>Re&amp;name…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="75"/>
        <source>Categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="84"/>
        <source>&amp;Add step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="85"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="106"/>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="86"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="107"/>
        <source>Up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="87"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="108"/>
        <source>Down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="89"/>
        <source>Steps (asked in this order)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="96"/>
        <source>e.g. Is more than one user affected?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="98"/>
        <source>&amp;Question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="101"/>
        <source>Answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="102"/>
        <source>Route ticket to team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="105"/>
        <source>Add a&amp;nswer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="111"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="351"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="116"/>
        <source>Answers the agent can pick</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="143"/>
        <source>The incident form asks these questions for a ticket of the chosen category; an answer may send the ticket to another team.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="184"/>
        <source>Incident categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="185"/>
        <source>Request categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="254"/>
        <source>Unsaved script</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="255"/>
        <source>Save the changes to the script of {name}?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="273"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="323"/>
        <source>Steps of {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="274"/>
        <source>Steps (pick a category)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="282"/>
        <source>Name of the new incident category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="283"/>
        <source>Name of the new request category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="284"/>
        <source>New category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="314"/>
        <source>Rename category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="314"/>
        <source>New name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="335"/>
        <source>(no question yet)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="351"/>
        <source>Step {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="365"/>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="368"/>
        <source>Yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="369"/>
        <source>No</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="401"/>
        <source>(no routing)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="409"/>
        <source>(unknown team {team})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="503"/>
        <source>Script not saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="493"/>
        <source>Saved {n} steps for {name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Fields</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="134"/>
        <source>Active</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="135"/>
        <source>Actual end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="136"/>
        <source>Actual start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="137"/>
        <source>Added at</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="138"/>
        <source>Added by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="139"/>
        <source>Address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="140"/>
        <source>Announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="141"/>
        <source>Affected service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="142"/>
        <location filename="../../itsmdesk/words.py" line="325"/>
        <source>Vote</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="143"/>
        <source>Article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="144"/>
        <source>Link</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="145"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="146"/>
        <source>Attachment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="147"/>
        <source>Attributes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="148"/>
        <source>Author</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="149"/>
        <source>Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="150"/>
        <source>Baseline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="151"/>
        <source>Baseline item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="152"/>
        <location filename="../../itsmdesk/words.py" line="315"/>
        <source>Text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="153"/>
        <source>Action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="154"/>
        <source>Agenda item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="155"/>
        <source>Attendee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="156"/>
        <source>Business calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="157"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="158"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="159"/>
        <source>Chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="160"/>
        <location filename="../../itsmdesk/words.py" line="162"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="161"/>
        <location filename="../../itsmdesk/words.py" line="220"/>
        <location filename="../../itsmdesk/words.py" line="256"/>
        <source>Affected CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="163"/>
        <source>Incident caused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="164"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="165"/>
        <source>Checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="166"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="167"/>
        <source>CI class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="168"/>
        <source>CI version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="169"/>
        <source>Closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="170"/>
        <source>Code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="171"/>
        <source>Comment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="172"/>
        <source>Conditions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="173"/>
        <source>Criticality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="174"/>
        <source>Data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="175"/>
        <source>Day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="176"/>
        <source>Decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="177"/>
        <source>Reason for the decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="178"/>
        <source>Default duration (minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="179"/>
        <source>Default team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="180"/>
        <source>Definition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="181"/>
        <location filename="../../itsmdesk/words.py" line="306"/>
        <source>Depends on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="182"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="183"/>
        <source>Diagnostic script</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="184"/>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="185"/>
        <source>Downtime end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="186"/>
        <source>Downtime start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="187"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="188"/>
        <source>E-mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="189"/>
        <source>Emergency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="190"/>
        <source>Ends</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="191"/>
        <source>Error code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="192"/>
        <source>Escalate at %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="193"/>
        <source>Escalation level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="194"/>
        <source>External key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="196"/>
        <source>Caused by CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="197"/>
        <source>Reopened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="198"/>
        <source>Reassignments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="199"/>
        <source>Handle time (hours)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="200"/>
        <source>Requested end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="201"/>
        <source>CAB approval needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="202"/>
        <source>Summary</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="203"/>
        <source>Contact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="204"/>
        <source>Contacted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="205"/>
        <source>Extra</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="206"/>
        <source>File name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="207"/>
        <source>Holiday</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="208"/>
        <source>Icon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="209"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="210"/>
        <source>Implementation plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="211"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="212"/>
        <source>Agent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="213"/>
        <source>Business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="214"/>
        <source>Item kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="215"/>
        <source>Item version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="216"/>
        <source>Job title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="217"/>
        <source>Key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="218"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="219"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="221"/>
        <source>Label</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="222"/>
        <source>Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="223"/>
        <source>Team lead</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="224"/>
        <source>Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="225"/>
        <source>Mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="226"/>
        <source>Major incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="227"/>
        <source>Manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="228"/>
        <source>Meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="229"/>
        <source>File type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="230"/>
        <source>Members needed up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="231"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="232"/>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="233"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="234"/>
        <source>Organisation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="235"/>
        <source>Outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="236"/>
        <source>Outage end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="237"/>
        <source>Outage start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="238"/>
        <location filename="../../itsmdesk/words.py" line="239"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="240"/>
        <source>Owner team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="241"/>
        <source>Parent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="242"/>
        <source>Paused (seconds)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="243"/>
        <source>Paused since</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="244"/>
        <source>Pending reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="245"/>
        <source>Person</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="246"/>
        <source>Phase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="247"/>
        <source>Phone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="248"/>
        <source>Lessons learned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="249"/>
        <source>Review outcome</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="250"/>
        <source>Planned end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="251"/>
        <source>Planned start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="252"/>
        <source>Position</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="253"/>
        <source>Present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="254"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="255"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="257"/>
        <source>Propagates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="258"/>
        <source>Public</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="259"/>
        <source>Quorum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="260"/>
        <source>Root cause analysis</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="261"/>
        <source>Read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="262"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="263"/>
        <source>Record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="264"/>
        <source>Record kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="265"/>
        <source>Redundant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="266"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="267"/>
        <source>Relation added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="268"/>
        <source>Relation removed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="269"/>
        <source>Release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="270"/>
        <source>Bundled change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="271"/>
        <source>Delivered item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="272"/>
        <source>Release version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="273"/>
        <source>Requester</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="274"/>
        <source>Resolution code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="275"/>
        <source>Resolution due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="276"/>
        <source>Resolution (minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="277"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="278"/>
        <source>Responded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="279"/>
        <source>Response due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="280"/>
        <source>Response (minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="281"/>
        <source>Corrective change raised</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="282"/>
        <source>Risk factors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="283"/>
        <source>Risk level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="284"/>
        <source>Risk override</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="285"/>
        <source>Reason for the risk override</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="286"/>
        <source>Risk re-assessed after approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="287"/>
        <source>Risk score</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="288"/>
        <source>Root cause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="289"/>
        <source>Recurrence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="290"/>
        <source>Scope</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="291"/>
        <source>Sent back for approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="292"/>
        <source>Serial number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="293"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="294"/>
        <source>Subscriber</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="295"/>
        <source>Shared</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="296"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="297"/>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="298"/>
        <source>SLA state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="299"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="300"/>
        <source>Solution status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="301"/>
        <source>Source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="302"/>
        <source>Source reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="303"/>
        <source>Starts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="304"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="305"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="307"/>
        <source>Symptom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="308"/>
        <source>Tags</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="309"/>
        <source>Taken</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="310"/>
        <source>Target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="311"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="312"/>
        <source>Member</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="313"/>
        <source>Template</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="314"/>
        <source>Test plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="316"/>
        <source>Ticket kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="317"/>
        <source>Time spent (minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="318"/>
        <source>Time zone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="319"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="320"/>
        <source>Reason for the status change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="321"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="322"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="323"/>
        <source>Value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="324"/>
        <source>Vendor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="326"/>
        <source>Voted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="327"/>
        <source>Wave deployed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="328"/>
        <source>Work log note</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="329"/>
        <source>Workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="330"/>
        <source>Working hours</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="91"/>
        <source>Choose the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="92"/>
        <source>A CSV export from another tool: tickets, an event log, CIs or relations.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="95"/>
        <source>Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="95"/>
        <source>Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="96"/>
        <source>Problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="96"/>
        <source>Configuration items</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="97"/>
        <source>CI relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="98"/>
        <source>Service desk interactions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="102"/>
        <source>Path of the CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="104"/>
        <source>&amp;Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="110"/>
        <source>&amp;Import as:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="111"/>
        <source>&amp;File:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="114"/>
        <source>Nothing is written until the last page; the dry run shows every row that would be rejected, with its line, column and reason.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="120"/>
        <source>Import file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="121"/>
        <source>CSV files (*.csv *.txt);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>GanttView</name>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="99"/>
        <source>No dated steps yet: give the steps planned start and end times to see the chart.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="159"/>
        <source>not scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="215"/>
        <source>now</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>History</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="335"/>
        <source>created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="336"/>
        <source>deleted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="337"/>
        <location filename="../../itsmdesk/words.py" line="339"/>
        <source>changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="338"/>
        <source>added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="340"/>
        <source>removed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="341"/>
        <source>note</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryView</name>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57"/>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57"/>
        <source>Who</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57"/>
        <source>What</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57"/>
        <source>Before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="58"/>
        <source>After</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImpactGraph</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="75"/>
        <source>depth {n}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImpactGraphWidget</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="220"/>
        <source>Downstream: what fails</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="221"/>
        <source>Upstream: what it needs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="224"/>
        <source>no limit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="225"/>
        <source>depth </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="227"/>
        <source>Zoom in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="229"/>
        <source>Zoom out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="231"/>
        <source>Fit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="233"/>
        <source>PNG…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="234"/>
        <source>PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="278"/>
        <source>{n} CIs, {s} business services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="282"/>
        <source>(showing the first {n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="286"/>
        <source>Impact of {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="289"/>
        <source>Export graph as PNG</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="295"/>
        <source>Export graph as PDF</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportActions</name>
    <message>
        <location filename="../../itsmdesk/views/importer/actions.py" line="19"/>
        <source>&amp;Import…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/actions.py" line="22"/>
        <source>Import tickets, event logs, CIs or relations from another tool&apos;s CSV</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="98"/>
        <source>Import CIs or relations from CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="102"/>
        <source>CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="103"/>
        <source>Relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="106"/>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="112"/>
        <source>Import nothing if any row is bad</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="113"/>
        <source>Import the good rows, save the bad ones</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="115"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="116"/>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="117"/>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="132"/>
        <source>Bad rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="118"/>
        <source>Choose a file, then Preview.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="122"/>
        <source>Record / field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="122"/>
        <source>Now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="123"/>
        <source>After import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="127"/>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="239"/>
        <source>What would change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="129"/>
        <source>Line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="129"/>
        <source>Column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="129"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="144"/>
        <source>Preview</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="145"/>
        <source>Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="158"/>
        <source>CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="179"/>
        <source>Would create {c}, update {u}; {n} unchanged; {r} bad rows.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="182"/>
        <source>Relations missing from the file are kept: the import never removes relations.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="187"/>
        <source>Bad rows ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="197"/>
        <source>New relation: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="198"/>
        <source>Changed relation: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="200"/>
        <source>New CI: {name} ({cls})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="201"/>
        <source>Changed CI: {name} ({cls})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="204"/>
        <source>Line {line} of the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="213"/>
        <source>… and {n} more not listed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="216"/>
        <source>Nothing would change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="217"/>
        <source>What would change ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="224"/>
        <source>Save the bad rows to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="228"/>
        <source>Importing…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportWizard</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="61"/>
        <source>line {line}, column {column}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="627"/>
        <source>Import from another tool</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="639"/>
        <source>&amp;Import</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>IncidentForm</name>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="144"/>
        <source>Short summary of what the caller reports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="147"/>
        <source>What happens, since when, what was tried</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="153"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="156"/>
        <source>Type a CI name, or drop one from the CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="165"/>
        <source>(no team)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="166"/>
        <source>(nobody)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="167"/>
        <source>Major incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="179"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="180"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="181"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="182"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="183"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="184"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="185"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="186"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="189"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="191"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="192"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="755"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="193"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="204"/>
        <source>Why is the ticket waiting? (needed for pending)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="214"/>
        <source>How it was solved (needed to resolve)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="215"/>
        <source>Move</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="217"/>
        <source>Apply the status change and save (Ctrl+Return)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="224"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="225"/>
        <source>Move to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="226"/>
        <source>Pending reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="227"/>
        <source>Resolution code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="228"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="229"/>
        <source>Lifecycle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="246"/>
        <source>Reference, e.g. {example}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="253"/>
        <source>Link child ticket…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="255"/>
        <source>Make another ticket a child of this one (this one becomes a major incident)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="263"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="264"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="265"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="266"/>
        <source>Parent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="267"/>
        <source>Child tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="272"/>
        <source>Interactions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="275"/>
        <source>Links</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="284"/>
        <source>Key in the old tool</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="285"/>
        <source>Caused by CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="286"/>
        <source>Reopened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="287"/>
        <source>Reassignments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="288"/>
        <source>Handle time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="294"/>
        <source>Imported</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="336"/>
        <source>&amp;Mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="472"/>
        <source>{hours} h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="514"/>
        <source>opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="802"/>
        <source>Link child ticket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="803"/>
        <source>Reference of the child ticket (INC-… or REQ-…)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="347"/>
        <source>Escalate…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="353"/>
        <source>Move status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="354"/>
        <source>Add work log note</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="498"/>
        <source>New incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="75"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="400"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="72"/>
        <source>1 – high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="73"/>
        <source>2 – medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="74"/>
        <source>3 – low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="76"/>
        <source>Awaiting approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="77"/>
        <source>Assigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="78"/>
        <source>In progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="79"/>
        <source>Pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="80"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="81"/>
        <source>Fulfilled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="82"/>
        <source>Closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="83"/>
        <source>Cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="331"/>
        <source>&amp;Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="332"/>
        <source>Histor&amp;y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="439"/>
        <source>Reopen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="497"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="512"/>
        <source>Service request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="497"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="512"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="541"/>
        <source>SLA paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="543"/>
        <source>SLA met</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="543"/>
        <source>SLA breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="547"/>
        <source>Breached {t}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="547"/>
        <source>At risk: {t} left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="548"/>
        <source>{t} left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="575"/>
        <source>Announced for this CI/service: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="734"/>
        <source>Resolve child tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="735"/>
        <source>This major incident has open child tickets. Resolve them too?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="741"/>
        <source>{n} child tickets resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="747"/>
        <source>To another team (functional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="747"/>
        <source>To the team lead (hierarchical)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="748"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="755"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="759"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="763"/>
        <source>Escalate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="748"/>
        <source>How?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="759"/>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="763"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="777"/>
        <source>{n} people notified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="498"/>
        <source>New request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="66"/>
        <source>Known errors and articles that match</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="71"/>
        <source>Diagnostic script</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="74"/>
        <source>Record answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="131"/>
        <source>Add a note… (Ctrl+L)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="90"/>
        <source>Public (caller sees it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="53"/>
        <source>Link</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="55"/>
        <source>This ticket is a case of the chosen known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="57"/>
        <source>Apply workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="59"/>
        <source>Link the known error and note its workaround in the work log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="92"/>
        <source>Add note</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="100"/>
        <source>Work log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="110"/>
        <source>Attach file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="113"/>
        <source>Attachments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="132"/>
        <source>Save the ticket first to add notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="139"/>
        <source>system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="140"/>
        <source>public</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="140"/>
        <source>private</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="146"/>
        <source>No notes yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="162"/>
        <source>Type a title to see matching known errors.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="236"/>
        <source>Attach file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="247"/>
        <source>Save attachment</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KnowledgePanel</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="143"/>
        <source>Search the knowledge base…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="145"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="146"/>
        <source>New article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="150"/>
        <source>Show the articles of one category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="153"/>
        <source>All categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="221"/>
        <source>All categories ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="223"/>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="280"/>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="293"/>
        <source>(no category)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="286"/>
        <source>The first {n} articles; choose a category or type words to search.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="289"/>
        <source>{n} article(s) by category; type words to search titles, tags and text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="292"/>
        <source>{n} article(s) in {category}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="271"/>
        <source>{n} article(s), best match first</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KnownErrorForm</name>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="41"/>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="122"/>
        <source>New known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="44"/>
        <source>What the error looks like, in a line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="28"/>
        <source>Workaround only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="29"/>
        <source>Fix planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="30"/>
        <source>Fix in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="31"/>
        <source>Fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="32"/>
        <source>Will not be fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="50"/>
        <source>Open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="51"/>
        <source>Retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="55"/>
        <source>CI names, comma separated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="62"/>
        <source>Error &amp;code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="63"/>
        <source>Solution &amp;status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="64"/>
        <source>Stat&amp;us</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="65"/>
        <source>&amp;Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="66"/>
        <source>Affected C&amp;Is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="67"/>
        <source>Symptom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="68"/>
        <source>Root cause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="69"/>
        <source>Workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="72"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="72"/>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="77"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="73"/>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="78"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="73"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="77"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="82"/>
        <source>&amp;Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="83"/>
        <source>&amp;Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="84"/>
        <source>C&amp;hanges</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="85"/>
        <source>Histor&amp;y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="93"/>
        <source>Raise R&amp;FC</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LinkToProblemDialog</name>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="34"/>
        <source>Link {n} incident(s) to a problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="36"/>
        <source>Search open problems by words or PRB-…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="37"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="37"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="38"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="38"/>
        <source>Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="42"/>
        <source>&amp;New problem from these incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="49"/>
        <source>Problem:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MailPanel</name>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="70"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="70"/>
        <source>Make an incident of the selected mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="72"/>
        <source>Request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="72"/>
        <source>Make a service request of the selected mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="74"/>
        <source>Discard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="74"/>
        <source>Discard the selected mail (no ticket)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="76"/>
        <location filename="../../itsmdesk/views/mail/panel.py" line="192"/>
        <source>Fetch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="76"/>
        <source>Fetch new mail from the mailbox now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="118"/>
        <source>(no subject)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="133"/>
        <source>No mail is waiting. Mail that no rule turns into a ticket shows here, to make an incident or a request of, or to discard. Fetch takes in new mail now; .eml files can be dropped on this list.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="161"/>
        <source>{ref} made from the mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="182"/>
        <source>Stopping after this batch…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="185"/>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="186"/>
        <source>Fetching mail…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="197"/>
        <source>No mailbox is set up (Tools &gt; Mail settings).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="200"/>
        <source>{n} new mails taken in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="220"/>
        <source>{n} mails taken in, {d} already there</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="230"/>
        <source>Import mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="230"/>
        <source>Mail (*.eml *.msg)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="280"/>
        <source>Fetch &amp;mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="281"/>
        <source>&amp;Import mail files…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="282"/>
        <source>Mail &amp;settings…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MailSender</name>
    <message>
        <location filename="../../itsmdesk/views/mail/sender.py" line="47"/>
        <source>Mail: {sent} sent, {failed} failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/sender.py" line="50"/>
        <source>Mail not sent: {error}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MailSettings</name>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="36"/>
        <source>SSL/TLS (IMAPS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="37"/>
        <source>STARTTLS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="38"/>
        <source>None (loopback only)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="50"/>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="195"/>
        <source>Mail settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="57"/>
        <source>usual port</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="72"/>
        <source>leave mail in the folder, flagged as done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="75"/>
        <source>the system&apos;s certificates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="79"/>
        <source> min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="80"/>
        <source>only on demand</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="81"/>
        <source>Test connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="88"/>
        <source>Server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="89"/>
        <source>Port</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="90"/>
        <source>Security</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="91"/>
        <source>Login</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="92"/>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="93"/>
        <source>Folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="94"/>
        <source>Move done mail to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="95"/>
        <source>CA certificate file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="96"/>
        <source>Fetch every</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="107"/>
        <source>Incoming mail (IMAP)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="111"/>
        <source>Outgoing mail (SMTP)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="141"/>
        <source>kept in the keyring (type to change)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="143"/>
        <source>this computer has no keyring: set ITSMDESK_MAIL_PASSWORD</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="172"/>
        <source>Connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="176"/>
        <source>Connected: {n} mails in the folder.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="195"/>
        <source>The settings were saved, but this computer has no keyring to keep the password: set ITSMDESK_MAIL_PASSWORD where mail is fetched.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MailThread</name>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="28"/>
        <source>To be sent to {who}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="29"/>
        <source>Not sent to {who}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="41"/>
        <source>From</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="41"/>
        <source>Date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="41"/>
        <source>Subject</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="47"/>
        <source>No mail about this ticket.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="27"/>
        <source>Sent to {who}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="64"/>
        <source>itsmdesk — {db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="115"/>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="115"/>
        <source>&amp;Records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="116"/>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="116"/>
        <source>Re&amp;ports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="117"/>
        <source>&amp;Tools</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="117"/>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="120"/>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="124"/>
        <source>&amp;Quick open…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="128"/>
        <source>&amp;Connect to shared database…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="137"/>
        <source>Close tab</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="141"/>
        <source>&amp;About itsmdesk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="190"/>
        <source>Reset layout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="260"/>
        <source>{title} arrives in a later version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="324"/>
        <source>SQLite file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="324"/>
        <source>PostgreSQL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="330"/>
        <source>Who works at this desk (Ctrl+Shift+P)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="372"/>
        <source>Opening the database…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="403"/>
        <source>Saving…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="406"/>
        <source>Connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="407"/>
        <source>Disconnected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="416"/>
        <source>Reconnected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="422"/>
        <source>Connection to the database lost — reconnecting (attempt {n})…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="448"/>
        <source>Sign in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="452"/>
        <source>Sign in as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="454"/>
        <source>Sign out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="456"/>
        <source>Change password…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="458"/>
        <source>Manage people…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="462"/>
        <source>Needs the role {role}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="465"/>
        <source>Create administrator account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="492"/>
        <location filename="../../itsmdesk/views/main_window.py" line="496"/>
        <source>Change password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="492"/>
        <source>Old password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="496"/>
        <source>New password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="501"/>
        <source>Password changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="527"/>
        <source>🔔 {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="528"/>
        <source>{n} unread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="530"/>
        <source>{n} unread notifications (Ctrl+Shift+M)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="567"/>
        <source>Signed in: {name} ▾</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="579"/>
        <source>&lt;h2&gt;itsmdesk {version}&lt;/h2&gt;&lt;p&gt;Open a queue on the left, or press &lt;b&gt;Ctrl+K&lt;/b&gt; to find any record by reference or words.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="586"/>
        <source>Welcome</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="600"/>
        <source>No form for {kind} yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="664"/>
        <source>Not closed: a record could not be saved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="680"/>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="681"/>
        <source>These records have unsaved changes:
{names}

Save them before closing?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="695"/>
        <source>Saving before closing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="758"/>
        <source>About itsmdesk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="759"/>
        <source>itsmdesk {version}
IT Service Support on {db}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MappingPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="224"/>
        <source>Map the columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="225"/>
        <source>Load a ready mapping (value maps, date formats, event-log folding) or pick a source column for each field.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="228"/>
        <source>(none: map by hand)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="232"/>
        <source>&amp;Load mapping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="234"/>
        <source>&amp;Save mapping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="237"/>
        <source>&amp;Event log: several rows per record, keep each as history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="243"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="243"/>
        <source>Source column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="244"/>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="251"/>
        <source>Mapping:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="256"/>
        <source>External &amp;key column:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="258"/>
        <source>Event &amp;time column:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="259"/>
        <source>Event &amp;author column:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="271"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="304"/>
        <source>one of: {values}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="305"/>
        <source>looked up by name or reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="306"/>
        <source>date and time (formats: load a mapping)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="307"/>
        <source>date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="307"/>
        <source>whole number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="308"/>
        <source>yes / no</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="308"/>
        <source>number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="315"/>
        <source>Load mapping</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="316"/>
        <source>Mappings (*.toml);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="373"/>
        <source>Save mapping</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="374"/>
        <source>Mappings (*.toml)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MergeDialog</name>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="28"/>
        <source>(empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="50"/>
        <source>Someone else saved this record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="63"/>
        <source>Choose which value to keep where you both changed a field. Your other changes are kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="69"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="69"/>
        <source>Saved by them</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="69"/>
        <source>Yours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="89"/>
        <source>(changed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="90"/>
        <source>(unchanged by you)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="95"/>
        <source>(unchanged by them)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="104"/>
        <source>Save merged</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PdfCommon</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="15"/>
        <source>draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="16"/>
        <source>submitted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="17"/>
        <source>assessed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="18"/>
        <source>awaiting cab</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="19"/>
        <source>approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="20"/>
        <source>rejected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="21"/>
        <source>scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="22"/>
        <source>implementing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="23"/>
        <source>implemented</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="24"/>
        <source>in review</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="25"/>
        <source>closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="26"/>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="27"/>
        <source>backed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="29"/>
        <source>standard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="30"/>
        <source>normal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="31"/>
        <source>emergency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="32"/>
        <source>major</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="33"/>
        <source>minor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="35"/>
        <source>low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="36"/>
        <source>medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="37"/>
        <source>high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="38"/>
        <source>very high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="39"/>
        <source>critical</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="40"/>
        <source>not assessed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="42"/>
        <source>approve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="43"/>
        <source>reject</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="44"/>
        <source>abstain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="45"/>
        <source>deferred</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="46"/>
        <source>pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="48"/>
        <source>planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="49"/>
        <source>held</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="50"/>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="52"/>
        <source>planning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="53"/>
        <source>build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="54"/>
        <source>test</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="55"/>
        <source>deploying</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="56"/>
        <source>deployed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="57"/>
        <source>in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="58"/>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="59"/>
        <source>skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="61"/>
        <source>same ci</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="62"/>
        <source>impact path</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="63"/>
        <source>blackout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="64"/>
        <source>outside maintenance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="66"/>
        <source>services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="67"/>
        <source>type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="68"/>
        <source>outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="69"/>
        <source>failure rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="70"/>
        <source>conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="71"/>
        <source>changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="72"/>
        <source>sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="73"/>
        <source>backout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="74"/>
        <source>combined</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="76"/>
        <source>in production</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="77"/>
        <source>in maintenance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="78"/>
        <source>retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="79"/>
        <source>depends on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="80"/>
        <source>runs on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="81"/>
        <source>hosted on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="82"/>
        <source>connected to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="83"/>
        <source>part of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="84"/>
        <source>uses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="86"/>
        <source>new</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="87"/>
        <source>approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="88"/>
        <source>assigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="89"/>
        <source>resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="90"/>
        <source>fulfilled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="91"/>
        <source>investigating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="92"/>
        <source>root cause known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="93"/>
        <source>workaround only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="94"/>
        <source>fix planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="95"/>
        <source>fix in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="96"/>
        <source>fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="97"/>
        <source>won&apos;t fix</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="99"/>
        <source>incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="100"/>
        <source>request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="101"/>
        <source>phone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="102"/>
        <source>email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="103"/>
        <source>portal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="104"/>
        <source>walk in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="105"/>
        <source>chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="106"/>
        <source>monitoring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="107"/>
        <source>solved (workaround)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="108"/>
        <source>solved permanently</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="109"/>
        <source>solved by change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="110"/>
        <source>not reproducible</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="111"/>
        <source>duplicate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="112"/>
        <source>user error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="113"/>
        <source>no fault found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="115"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="116"/>
        <source>no</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/pdf_common.py" line="247"/>
        <source>itsmdesk · generated {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/pdf_common.py" line="251"/>
        <location filename="../../itsmdesk/reports/pdf_common.py" line="326"/>
        <source>Page {n} of {m}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/pdf_common.py" line="252"/>
        <source>Page {n}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PreviewPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="138"/>
        <source>Preview</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="139"/>
        <source>Check that the columns split correctly; change the delimiter or encoding if they do not.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="143"/>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="147"/>
        <source>Detect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="160"/>
        <source>&amp;Delimiter:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="164"/>
        <source>&amp;Encoding:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="194"/>
        <source>Read as: delimiter “{d}”, encoding {e}, {n} columns (first {rows} rows shown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="211"/>
        <source>{n} rows in the preview do not split into the header&apos;s columns, e.g. {example}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProblemForm</name>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="83"/>
        <source>Short description of the problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="113"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="102"/>
        <source>&amp;Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="121"/>
        <source>&amp;Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="122"/>
        <source>Cate&amp;gory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="124"/>
        <source>Business ser&amp;vice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="125"/>
        <source>&amp;CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="126"/>
        <source>&amp;Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="139"/>
        <source>&amp;Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="140"/>
        <source>&amp;Root cause analysis</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="142"/>
        <source>&amp;Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="143"/>
        <source>&amp;Known errors and changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="144"/>
        <source>&amp;History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="152"/>
        <source>Raise R&amp;FC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="155"/>
        <source>C&amp;lose problem…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="168"/>
        <source>What is happening, since when, who is affected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="169"/>
        <source>How to restore service until the fix is in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="170"/>
        <source>The permanent solution (the corrective change)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="171"/>
        <source>The underlying cause, once known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="173"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="174"/>
        <source>Root cause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="175"/>
        <source>Workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="176"/>
        <source>Permanent solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="182"/>
        <source>What people and monitoring observe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="183"/>
        <source>Possible causes still open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="184"/>
        <source>Logs, measurements, tests that confirm or refute</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="185"/>
        <source>The cause the evidence supports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="187"/>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="53"/>
        <source>Symptoms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="53"/>
        <source>Hypotheses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="54"/>
        <source>Evidence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="54"/>
        <source>Cause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="91"/>
        <source>&amp;Move to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="93"/>
        <source>Move the problem to another status (unsaved edits are saved first)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="118"/>
        <source>CI names, comma separated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="131"/>
        <source>Affected C&amp;Is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="191"/>
        <source>Timeline of linked incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="192"/>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="192"/>
        <source>What</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="193"/>
        <source>Record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="193"/>
        <source>Detail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="205"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="205"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="235"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="244"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="205"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="245"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="304"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="206"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="206"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="213"/>
        <source>INC-000123, INC-000124 …</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="214"/>
        <source>Lin&amp;k</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="215"/>
        <source>&amp;Unlink selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="216"/>
        <source>Resolve open incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="219"/>
        <source>Link incidents:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="235"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="236"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="241"/>
        <source>Record as &amp;known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="244"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="252"/>
        <source>Known errors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="257"/>
        <source>Corrective changes (RFCs)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="308"/>
        <source>&amp;Incidents ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="408"/>
        <source>Moved to {status}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="41"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="41"/>
        <source>Investigating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="42"/>
        <source>Root cause known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="42"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="43"/>
        <source>Closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="271"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="301"/>
        <source>Problem recorded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="302"/>
        <source>Incident opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="303"/>
        <source>Incident resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="304"/>
        <source>Work log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="77"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="349"/>
        <source>New problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="419"/>
        <source>{ref} raised.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="438"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="456"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="471"/>
        <source>Resolve linked incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="439"/>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="457"/>
        <source>The fix for {ref} is in. Resolve its {n} open linked incident(s) too?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="452"/>
        <source>Closed; {n} incident(s) resolved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="453"/>
        <source>Closed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="472"/>
        <source>Resolve every open incident linked to this problem?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="477"/>
        <source>{n} incident(s) resolved.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProblemsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="38"/>
        <source>&amp;Problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="39"/>
        <source>&amp;Known errors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="40"/>
        <source>Ca&amp;ndidates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="55"/>
        <source>Open problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="56"/>
        <source>All problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="57"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="57"/>
        <source>Investigating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="58"/>
        <source>Root cause known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="59"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="59"/>
        <source>Closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="62"/>
        <source>Search problems…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="64"/>
        <source>New problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="71"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="97"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="71"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="72"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="97"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="73"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="73"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="74"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="99"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="128"/>
        <source>Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="89"/>
        <source>Search symptoms, error codes, workarounds…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="91"/>
        <source>New known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="98"/>
        <source>Error code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="98"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="113"/>
        <source>Last 14 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="113"/>
        <source>Last 30 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="114"/>
        <source>Last 90 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="117"/>
        <source>&amp;Create problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="120"/>
        <source>Recurring incidents, not yet linked to a problem:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="127"/>
        <source>CI / service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="127"/>
        <source>Incidents look like</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="128"/>
        <source>Last</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="170"/>
        <source>At most the newest %1 incidents per CI or service are compared; at most %2 groups are shown, the biggest first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/problems/panel.py" line="174"/>
        <source>%n CI(s) or service(s) had more: their older incidents (%1) were not compared.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="178"/>
        <source>Showing %1 of %2 groups.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QueueColumns</name>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="71"/>
        <source>Drag a header to move its column; right-click to choose the columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="310"/>
        <source>{column} (no room)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="320"/>
        <source>Show the columns that fit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="323"/>
        <source>Columns as wide as their contents; the last ones are left out while there is no room</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="328"/>
        <source>Reset the columns</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QueueEditor</name>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="47"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="48"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="49"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="50"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="51"/>
        <source>SLA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="52"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="53"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="54"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="55"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="56"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="57"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="58"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="59"/>
        <source>Updated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="60"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="61"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="62"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="63"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="64"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="67"/>
        <source>is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="68"/>
        <source>is not</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="69"/>
        <source>is one of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="70"/>
        <source>is none of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="71"/>
        <source>less than</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="72"/>
        <source>at most</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="73"/>
        <source>more than</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="74"/>
        <source>at least</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="75"/>
        <source>is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="76"/>
        <source>is not empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="77"/>
        <source>contains</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="80"/>
        <source>before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="81"/>
        <source>on or before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="82"/>
        <source>after</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="83"/>
        <source>on or after</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="86"/>
        <source>new</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="87"/>
        <source>approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="88"/>
        <source>assigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="89"/>
        <source>in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="90"/>
        <source>pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="91"/>
        <source>resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="92"/>
        <source>closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="93"/>
        <source>fulfilled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="94"/>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="95"/>
        <source>ok</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="96"/>
        <source>at risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="97"/>
        <source>breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="98"/>
        <source>paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="99"/>
        <source>met</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="100"/>
        <source>incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="101"/>
        <source>request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="102"/>
        <source>phone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="103"/>
        <source>email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="104"/>
        <source>portal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="105"/>
        <source>walk in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="106"/>
        <source>chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="107"/>
        <source>monitoring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="108"/>
        <source>1 high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="109"/>
        <source>2 medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="110"/>
        <source>3 low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="147"/>
        <source>(pick one or more)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="241"/>
        <source>text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="241"/>
        <source>exact value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="249"/>
        <source>My teams (signed-in person&apos;s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="262"/>
        <source>Me (signed-in person)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="279"/>
        <source>relative to today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="280"/>
        <source>fixed date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="284"/>
        <source> days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="285"/>
        <source>Negative: in the past (-7 = a week ago)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="384"/>
        <source>Edit queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="384"/>
        <source>New queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="391"/>
        <source>e.g. Network tickets this week</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="392"/>
        <source>Shared with everyone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="394"/>
        <source>Unshared queues are listed only for you</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="396"/>
        <source>&amp;Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="404"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="405"/>
        <source>Condition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="406"/>
        <source>Value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="410"/>
        <source>&amp;Add filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="414"/>
        <source>&amp;Remove filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="420"/>
        <source>Tickets that match all of these</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="433"/>
        <source>newest / highest first (descending)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="434"/>
        <source>oldest / lowest first (ascending)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="438"/>
        <source>&amp;Sort by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="447"/>
        <source>Tick the columns to show; drag or use the buttons to order them</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="449"/>
        <source>Move &amp;up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="451"/>
        <source>Move do&amp;wn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="456"/>
        <source>Columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="486"/>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="593"/>
        <source>Counting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="601"/>
        <source>Matches {n} tickets now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="627"/>
        <source>Queue not saved</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="417"/>
        <location filename="../../itsmdesk/views/queue/model.py" line="423"/>
        <source>paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="422"/>
        <source>ok</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="422"/>
        <source>at risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="422"/>
        <source>breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="423"/>
        <source>met</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QueuePanel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="64"/>
        <source>My open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="65"/>
        <source>My team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="66"/>
        <source>Unassigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="67"/>
        <source>SLA at risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="68"/>
        <source>Breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="69"/>
        <source>All open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="70"/>
        <source>Resolved recently</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="71"/>
        <source>All tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="104"/>
        <source>Filter: words or a reference…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="114"/>
        <source>New ticket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="115"/>
        <source>Record a new incident (Ctrl+N)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="118"/>
        <source>Edit selected…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="119"/>
        <source>Change a field on every selected ticket (Ctrl+E)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="331"/>
        <source>{n} tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="405"/>
        <source>Select the tickets to change first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="421"/>
        <source>Changed {n} tickets (Ctrl+Shift+Z undoes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="429"/>
        <source>No bulk edit to undo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="434"/>
        <source>Undid the bulk edit of {n} tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="450"/>
        <source>Save queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="450"/>
        <source>Name of the new queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="478"/>
        <source>Only saved queues can be edited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="497"/>
        <source>New queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="499"/>
        <source>Edit queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="500"/>
        <source>Save queue as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="508"/>
        <source>Only saved queues can be deleted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="539"/>
        <source>&amp;New incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="541"/>
        <source>New service &amp;request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="543"/>
        <source>&amp;Bulk edit selected tickets…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="545"/>
        <source>&amp;Undo last bulk edit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="547"/>
        <source>Refresh &amp;queues</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="549"/>
        <source>&amp;Save queue as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="551"/>
        <source>New &amp;queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="553"/>
        <source>Edit saved &amp;queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="555"/>
        <source>&amp;Delete saved queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="557"/>
        <source>Filter queue</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QuickOpen</name>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="15"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="16"/>
        <source>Request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="17"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="18"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="19"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="20"/>
        <source>Release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="21"/>
        <source>Article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="22"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="23"/>
        <source>CAB meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="31"/>
        <source>Quick open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="35"/>
        <source>A reference (INC-123, CHG-7…), a source-system key or words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="72"/>
        <source>source key %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="38"/>
        <source>↑↓ to choose, Enter to open, Esc to close</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecordForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="121"/>
        <source>&amp;Merge</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="123"/>
        <source>Choose, field by field, which of their values to keep, then save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="126"/>
        <source>&amp;Reload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="128"/>
        <source>Drop your unsaved edits and show the record as saved now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="140"/>
        <location filename="../../itsmdesk/views/forms/base.py" line="427"/>
        <location filename="../../itsmdesk/views/forms/base.py" line="634"/>
        <source>Stop waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="142"/>
        <source>Keep the edits in the form and stop waiting for the database; the save may still arrive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="146"/>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="149"/>
        <source>Save (Ctrl+S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="163"/>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="170"/>
        <location filename="../../itsmdesk/views/forms/base.py" line="633"/>
        <source>Saving…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="195"/>
        <location filename="../../itsmdesk/views/forms/base.py" line="201"/>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="378"/>
        <source>Nothing to save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="447"/>
        <source>Saved {title}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="499"/>
        <source>Stopped waiting: your edits are still here. If the save reached the database after all, saving again will show it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="504"/>
        <source>Waiting for the database…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="512"/>
        <source>The earlier save did arrive; nothing was saved twice.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="550"/>
        <source>Done. Your unsaved edits are kept; when you save, you choose what to keep where the record changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="585"/>
        <source>The save you stopped waiting for did reach the database.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="605"/>
        <source>Changed by {who} at {time}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="608"/>
        <source>Changed by {who}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="610"/>
        <source>Someone else changed this record after you opened it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="612"/>
        <source>your edits are kept: merge them with theirs, or reload.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="636"/>
        <source>Saving — waiting for the database…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="638"/>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="665"/>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="666"/>
        <source>{title} has unsaved changes. Save them?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="677"/>
        <source>Still saving</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="678"/>
        <source>{title} is still being saved. Close it anyway? The save goes on.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleaseForm</name>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="102"/>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="401"/>
        <source>New release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="114"/>
        <source>&amp;Move</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="117"/>
        <source>Release plan P&amp;DF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="121"/>
        <source>Move to:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="129"/>
        <source>&amp;Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="130"/>
        <source>&amp;Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="131"/>
        <source>&amp;Plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="132"/>
        <source>&amp;Media library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="133"/>
        <source>&amp;History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="171"/>
        <source>&amp;Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="172"/>
        <source>&amp;Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="173"/>
        <source>&amp;Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="174"/>
        <source>Release &amp;manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="175"/>
        <source>Release t&amp;eam</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="176"/>
        <source>Planned &amp;start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="177"/>
        <source>Planned &amp;end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="178"/>
        <source>Descr&amp;iption</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="179"/>
        <source>&amp;Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="180"/>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="186"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185"/>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="219"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185"/>
        <source>Approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="192"/>
        <source>CHG-000123</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="194"/>
        <source>&amp;Add change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="196"/>
        <source>&amp;Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="218"/>
        <source>Planned start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="218"/>
        <source>Planned end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="218"/>
        <source>Actual start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="219"/>
        <source>Actual end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="219"/>
        <source>After</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="228"/>
        <source>Add s&amp;tep…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="235"/>
        <source>Set stat&amp;us</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="237"/>
        <source>&amp;Edit step…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="241"/>
        <source>De&amp;lete step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="243"/>
        <source>Deplo&amp;y wave…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="245"/>
        <source>Update the software CIs at the wave&apos;s site to the versions in the media library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271"/>
        <source>Item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271"/>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="276"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271"/>
        <source>Checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271"/>
        <source>Master CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="274"/>
        <source>Item name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="278"/>
        <source>sha256:…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="279"/>
        <source>Add &amp;item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="281"/>
        <source>Remo&amp;ve item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="290"/>
        <source>Software this release delivers (each is a software CI in the CMDB). Deploying a wave sets the version of the matching software CIs at the wave&apos;s site.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="328"/>
        <source>(nobody)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="329"/>
        <source>(no team)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="346"/>
        <source>all changes approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="347"/>
        <source>no changes bundled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="348"/>
        <source>{n} change(s) not approved: cannot deploy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="352"/>
        <source>Status &lt;b&gt;{status}&lt;/b&gt; · type {type} · risk &lt;b&gt;&lt;span style=&apos;color:{rc}&apos;&gt;{risk}&lt;/span&gt;&lt;/b&gt; · &lt;span style=&apos;color:{ac}&apos;&gt;{approval}&lt;/span&gt; · manager {manager}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="366"/>
        <source>no factors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="372"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="372"/>
        <source>NO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="379"/>
        <source>no changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="314"/>
        <source>Affected services: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="551"/>
        <source>Delete step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="552"/>
        <source>Delete &apos;{name}&apos; from the plan?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="571"/>
        <source>Deploy &apos;{wave}&apos; at {site}?

{count} software CI(s) will be updated:
{names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="575"/>
        <source>…and {n} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="576"/>
        <source>Deploy wave</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="581"/>
        <source>{wave}: {n} CI(s) updated; release is {status}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleaseListModel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="52"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="52"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="53"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="53"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="54"/>
        <source>Start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="54"/>
        <source>Changes</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleasePlan</name>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="41"/>
        <source>Phase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="42"/>
        <source>Build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="43"/>
        <source>Test</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="44"/>
        <source>Pilot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="45"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="324"/>
        <source>Wave</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="46"/>
        <source>Backout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="47"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="49"/>
        <source>Jan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="49"/>
        <source>Feb</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="50"/>
        <source>Mar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="50"/>
        <source>Apr</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="51"/>
        <source>May</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="51"/>
        <source>Jun</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="52"/>
        <source>Jul</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="52"/>
        <source>Aug</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="53"/>
        <source>Sep</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="53"/>
        <source>Oct</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="54"/>
        <source>Nov</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="54"/>
        <source>Dec</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="167"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="299"/>
        <source>not scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="219"/>
        <source>planned window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="220"/>
        <source>actual: {status}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="229"/>
        <source>now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="237"/>
        <source>all bundled changes approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="238"/>
        <source>no changes bundled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="239"/>
        <source>{n} of {total} changes NOT approved: deployment is blocked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="244"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="341"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="245"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="246"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="290"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="325"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="247"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="248"/>
        <source>Planned window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="249"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="356"/>
        <source>Release manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="250"/>
        <source>Release team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="251"/>
        <source>Change approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="253"/>
        <source>Rollout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="253"/>
        <source>{waves} wave(s) to {sites} site(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="258"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="259"/>
        <source>Risk assessment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="261"/>
        <source>Factor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="261"/>
        <source>Level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="261"/>
        <source>Why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="265"/>
        <source>No risk factors: no bundled change carries a risk assessment.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="267"/>
        <source>Included changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269"/>
        <source>Approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="276"/>
        <source>This release bundles no change yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="278"/>
        <source>Affected services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="280"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="280"/>
        <source>Criticality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="280"/>
        <source>Hops from a changed CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="284"/>
        <source>No business service depends on the CIs the bundled changes touch.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="287"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="386"/>
        <source>Release plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="324"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="324"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289"/>
        <location filename="../../itsmdesk/reports/release_plan.py" line="324"/>
        <source>Planned (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="290"/>
        <source>Actual (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="290"/>
        <source>After</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="307"/>
        <source>Plan warnings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="312"/>
        <source>Gantt chart</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="319"/>
        <source>No plan steps yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="321"/>
        <source>Rollout waves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="324"/>
        <source>Software CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="325"/>
        <source>Deployed (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="337"/>
        <source>No rollout waves planned.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="339"/>
        <source>Definitive media library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="341"/>
        <source>Item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="341"/>
        <source>Checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="341"/>
        <source>Master CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="347"/>
        <source>No software items registered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="349"/>
        <source>Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="350"/>
        <source>No backout plan recorded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="353"/>
        <source>Backout step: {name} — owner {owner}, {status}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="356"/>
        <source>Change manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="357"/>
        <source>CAB chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="358"/>
        <source>Service owner: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359"/>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359"/>
        <source>Signature</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359"/>
        <source>Date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="365"/>
        <source>Sign-off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="366"/>
        <source>By signing, the CAB authorises the rollout of this release as planned above, including the backout plan.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleasePlanPreview</name>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="52"/>
        <source>all bundled changes approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="53"/>
        <source>no changes bundled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="54"/>
        <source>{n} of {m} changes NOT approved: deployment is blocked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58"/>
        <source>Value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="88"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="60"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="79"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="60"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="61"/>
        <source>Planned window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="62"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93"/>
        <source>Release manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="62"/>
        <source>Release team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="63"/>
        <source>Change approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="68"/>
        <source>Factor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="68"/>
        <source>Level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="68"/>
        <source>Why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71"/>
        <source>Approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="72"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="76"/>
        <source>None</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>Planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="79"/>
        <source>Actual</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="79"/>
        <source>After</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="88"/>
        <source>Item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="88"/>
        <source>Checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="88"/>
        <source>Master CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93"/>
        <source>Change manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93"/>
        <source>CAB chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94"/>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94"/>
        <source>Signature</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94"/>
        <source>Date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="105"/>
        <source>Save release plan PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="106"/>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="132"/>
        <source>Release plan {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="135"/>
        <source>Save PDF…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleasesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="105"/>
        <source>Open releases</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="106"/>
        <source>All releases</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="111"/>
        <source>Search reference, name, version…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="113"/>
        <source>&amp;New release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="202"/>
        <source>Release plan PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="203"/>
        <source>Release reference (e.g. REL-000001):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="210"/>
        <source>New &amp;release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="214"/>
        <source>Release &amp;plan PDF…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReplicaLabel</name>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="39"/>
        <source>never</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="42"/>
        <source>Replica {site} of {hub} · scope: {scope} · last synced {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="46"/>
        <source>Replica {site} of {hub} · last synced {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="48"/>
        <source>Hub: {hub}
Local journal rows waiting to be sent: {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="51"/>
        <source>Scope: {scope} (their CIs, tickets, problems, changes and releases, and all reference data)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="62"/>
        <source>site {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="64"/>
        <source>sites {codes}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="66"/>
        <source>team {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="68"/>
        <source>teams {names}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RunPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="440"/>
        <source>Dry run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="440"/>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="506"/>
        <source>Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="441"/>
        <source>Reads and checks everything; writes nothing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="442"/>
        <source>Writes in one transaction: all rows or, if cancelled, none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="450"/>
        <source>&amp;Cancel import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="463"/>
        <source>Rows that would be rejected (line, column, reason):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="464"/>
        <source>Rejected rows:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="467"/>
        <source>Import the valid rows and save the rejected ones to:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="469"/>
        <source>rejected rows (.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="470"/>
        <source>B&amp;rowse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="499"/>
        <source>Working…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="509"/>
        <source>Save rejected rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="510"/>
        <source>CSV files (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="525"/>
        <source>Reading the file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="526"/>
        <source>Checking rows…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="527"/>
        <source>Writing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="528"/>
        <source>Writing records…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="529"/>
        <source>Updating records…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="530"/>
        <source>Writing history…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="537"/>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="566"/>
        <source>Rejected rows were saved to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="572"/>
        <source>… and {n} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="578"/>
        <source>Nothing was imported: {n} rows are invalid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="580"/>
        <source>{n} rows are invalid: fix the file or the mapping and go back, or import only the valid rows (below).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="583"/>
        <source>Every row is valid. Import writes the following:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="584"/>
        <source>Imported.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="587"/>
        <source>Rows read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="588"/>
        <source>Records to create</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="588"/>
        <source>Records created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="590"/>
        <source>Records to update</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="590"/>
        <source>Records updated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="592"/>
        <source>Unchanged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="593"/>
        <source>Rejected rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="594"/>
        <source>New people</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="595"/>
        <source>New teams</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="596"/>
        <source>New categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="597"/>
        <source>New CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="598"/>
        <source>New CI classes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="599"/>
        <source>New sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="600"/>
        <source>New linked problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="601"/>
        <source>New linked changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="602"/>
        <source>New linked incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="603"/>
        <source>Affected CIs linked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="604"/>
        <source>Rows left out ([[skip]])</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="605"/>
        <source>Warnings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="606"/>
        <source>History entries</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ServiceDeskActions</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="29"/>
        <source>Sign in as</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="29"/>
        <source>Person</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="39"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="49"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="52"/>
        <source>Notifications</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="39"/>
        <source>Sign in first (Ctrl+Shift+P).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="49"/>
        <source>No unread notifications.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="55"/>
        <source>{n} notifications read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="69"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="73"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="83"/>
        <source>Import holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="70"/>
        <source>Create a business calendar first (itsmdesk business-calendar create).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="73"/>
        <source>Calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="76"/>
        <source>Holidays (.ics)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="77"/>
        <source>iCalendar files (*.ics)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="84"/>
        <source>{added} holidays added, {skipped} already there.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="97"/>
        <source>Escalation check: {f} newly at risk, {b} newly breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="120"/>
        <source>Sign in &amp;as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="121"/>
        <source>&amp;Notifications…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="122"/>
        <source>Run SLA &amp;escalation now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="123"/>
        <source>&amp;SLA targets…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="124"/>
        <source>Priority &amp;matrix…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="125"/>
        <source>Import &amp;holidays (.ics)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="126"/>
        <source>&amp;Diagnostic scripts…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialogs</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="38"/>
        <source>SLA targets ({kind})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="40"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="40"/>
        <source>Response (min)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="40"/>
        <source>Resolution (min)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="41"/>
        <source>Calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="61"/>
        <source>Escalate at</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="71"/>
        <source>Targets count business minutes on the SLA&apos;s calendar and stop while a ticket is pending.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="85"/>
        <source>24x7</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="119"/>
        <source>Priority matrix</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="121"/>
        <source>Impact \ Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="122"/>
        <source>high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="122"/>
        <source>medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="122"/>
        <source>low</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SignIn</name>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="55"/>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="31"/>
        <source>Needs the role {role}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="70"/>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="87"/>
        <source>Sign in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="77"/>
        <source>&lt;b&gt;Sign in to itsmdesk&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="83"/>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="151"/>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="61"/>
        <source>&amp;Login</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="84"/>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="152"/>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="63"/>
        <source>&amp;Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="95"/>
        <source>Demo data: the IT staff sign in with their login, for example &lt;b&gt;emma.haddad&lt;/b&gt; (head of IT, administrator and change manager) or &lt;b&gt;henrik.nilsson&lt;/b&gt; (service desk agent); every password is &lt;b&gt;demo&lt;/b&gt;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="137"/>
        <source>Welcome: create the administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="138"/>
        <source>This database has no accounts yet. The administrator you create now adds the other people and gives them their roles.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="150"/>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="60"/>
        <source>&amp;Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="153"/>
        <source>&amp;Again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="168"/>
        <source>The two passwords differ.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="178"/>
        <source>Create the administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="52"/>
        <source>New account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="62"/>
        <source>&amp;E-mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="64"/>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="81"/>
        <source>Roles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="78"/>
        <source>Manage people</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="81"/>
        <source>Login</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="81"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="87"/>
        <source>&amp;New account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="88"/>
        <source>&amp;Roles…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="89"/>
        <source>Reset &amp;password…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="147"/>
        <source>Roles of {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="166"/>
        <source>Reset password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="167"/>
        <source>New password for {login}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SmtpSettingsWidget</name>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="48"/>
        <source>Outgoing mail (SMTP)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="50"/>
        <source>e.g. smtp.example.org</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="52"/>
        <source>587 for STARTTLS, 465 for SMTPS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="54"/>
        <source>STARTTLS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="55"/>
        <source>SSL/TLS (SMTPS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="56"/>
        <source>None (a relay on this network only)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="62"/>
        <source>e.g. Service desk &lt;servicedesk@example.org&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="64"/>
        <source>only for a server with a private certificate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="66"/>
        <source>Server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="67"/>
        <source>Port</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="68"/>
        <source>Security</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="69"/>
        <source>Login</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="70"/>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="71"/>
        <source>From</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="72"/>
        <source>CA certificate file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="74"/>
        <source>your address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="75"/>
        <source>Send test mail to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="78"/>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="79"/>
        <source>Send test mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="114"/>
        <source>(kept in the keyring; type to replace)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="116"/>
        <source>(no keyring here: use ITSMDESK_SMTP_PASSWORD)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="134"/>
        <source>Saved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="151"/>
        <source>Type the address to send the test mail to.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="154"/>
        <source>Sending a test mail to {to}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="158"/>
        <source>{server} took the test mail for {to}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StepDialog</name>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="65"/>
        <source>Add plan step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="71"/>
        <source>(no phase)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="76"/>
        <source>(nobody)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="80"/>
        <source>(no team)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="84"/>
        <source>(no site)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="89"/>
        <source>(nothing)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="94"/>
        <source>&amp;Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="95"/>
        <source>&amp;Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="96"/>
        <source>&amp;Phase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="97"/>
        <source>Owner (&amp;person)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="98"/>
        <source>Owner (&amp;team)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="99"/>
        <source>&amp;Site (waves)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="100"/>
        <source>Planned &amp;start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="101"/>
        <source>Planned &amp;end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="102"/>
        <source>&amp;After</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="111"/>
        <source>Edit plan step</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SubscribersWidget</name>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="43"/>
        <source>name or e-mail address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="51"/>
        <source>Add</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="52"/>
        <source>Remove selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="62"/>
        <source>These people get the service&apos;s outage announcements by mail, with a calendar invitation of the window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="81"/>
        <source>Nobody gets this service&apos;s announcements by mail yet: type a name or an address below, then Add.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SuggestionsWidget</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="42"/>
        <source>&amp;Link</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="43"/>
        <source>Apply &amp;workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="44"/>
        <source>Open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="52"/>
        <source>Known errors and articles that may match</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SyncDialog</name>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="70"/>
        <source>Sync with hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="78"/>
        <source>Looking up the hub…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="94"/>
        <source>Stop the sync; what was sent is safe on the hub and the next sync goes on from there</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="124"/>
        <source>This database is not a replica: there is no hub to sync with.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="127"/>
        <source>Replica {site}: syncing with {hub}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="132"/>
        <source>Hub password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="133"/>
        <source>Password for the hub {hub}:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="136"/>
        <source>Not synced: no password given.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="149"/>
        <source>Starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="173"/>
        <source>{n} change(s) to send; sending, then receiving the hub&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="175"/>
        <source>Sending changes: {done} of {total}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="176"/>
        <source>Receiving the hub&apos;s changes: {done} of {total}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="178"/>
        <source>Finishing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="192"/>
        <source>Stopping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="200"/>
        <source>Not synced.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="205"/>
        <source>The sync could not be started: {why}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="214"/>
        <source>Sync stopped. What was sent is safe on the hub; sync again to finish.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="219"/>
        <source>Synced: sent {pushed} change(s), received {pulled} journal row(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="222"/>
        <source>{n} new conflict(s) to decide in the Sync conflicts dock.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="223"/>
        <source>no new conflicts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="228"/>
        <source>the sync process ended with code {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="232"/>
        <source>Not synced: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>_ChartBase</name>
    <message>
        <location filename="../../itsmdesk/views/dashboard/charts.py" line="26"/>
        <source>No data for this period</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>argparse</name>
    <message>
        <location filename="../../itsmdesk/cli.py" line="29"/>
        <source>usage: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="30"/>
        <source>positional arguments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="31"/>
        <source>options</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="32"/>
        <source>show this help message and exit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="33"/>
        <source>show program&apos;s version number and exit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="34"/>
        <source>%(prog)s: error: %(message)s
</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="35"/>
        <source>argument %(argument_name)s: %(message)s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="36"/>
        <source>invalid choice: %(value)r (choose from %(choices)s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="37"/>
        <source>invalid %(type)s value: %(value)r</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="38"/>
        <source>the following arguments are required: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="39"/>
        <source>unrecognized arguments: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="40"/>
        <source>expected one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="41"/>
        <source>expected at least one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="42"/>
        <source>expected at most one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="43"/>
        <source>ambiguous option: %(option)s could match %(matches)s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="44"/>
        <source>not allowed with argument %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="45"/>
        <source>one of the arguments %s is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="46"/>
        <source>can&apos;t open &apos;%(filename)s&apos;: %(error)s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>availability</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="229"/>
        <source>Availability report (PDF)…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>cmdb</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="52"/>
        <source>line {line}, column {column}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="257"/>
        <source>Export CIs as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="258"/>
        <source>{n} CIs written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="259"/>
        <source>Export relations as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="260"/>
        <source>{n} relations written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="273"/>
        <source>Exporting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="116"/>
        <source>Import CIs/relations from CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="118"/>
        <source>Export CIs as CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="120"/>
        <source>Export relations as CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="122"/>
        <source>CMDB baselines…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="124"/>
        <source>Audit CMDB against a scan…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="126"/>
        <source>New CI</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <location filename="../../itsmdesk/i18n.py" line="81"/>
        <source>Unexpected error: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/messages.py" line="21"/>
        <source>itsmdesk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="4"/>
        <source>&quot;{value}&quot; is not a date (YYYY-MM-DD)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="5"/>
        <source>&quot;{value}&quot; is not a number of days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="6"/>
        <source>&apos;{name}&apos; already appears on line {first}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="7"/>
        <source>&apos;{name}&apos; is not a phase of this release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="8"/>
        <source>&apos;{name}&apos; is not a rollout wave</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="9"/>
        <source>&apos;{step}&apos; cannot depend on &apos;{other}&apos;: &apos;{other}&apos; already waits for &apos;{step}&apos; (that would be a cycle)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="10"/>
        <source>&apos;{step}&apos; is planned to start ({start}) before &apos;{other}&apos; ends ({end})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="11"/>
        <source>&apos;{step}&apos; matches several steps: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="12"/>
        <source>&apos;{value}&apos; is not a checksum (hex digits, optionally prefixed sha256:)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="13"/>
        <source>&apos;{value}&apos; is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="14"/>
        <source>&apos;{value}&apos; is not a valid recurrence rule: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="15"/>
        <source>&apos;{value}&apos; is not a whole number of at least 1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="16"/>
        <source>&apos;{value}&apos; is not an e-mail address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="17"/>
        <source>&apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="18"/>
        <source>&apos;{value}&apos; is not true or false</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="19"/>
        <source>&apos;{value}&apos; is outside the dates itsmdesk works with ({first} to {last})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="20"/>
        <source>&apos;{value}&apos; is too large (at most {max})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="21"/>
        <source>A CAB meeting needs a date and time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="22"/>
        <source>A CI cannot relate to itself ({name})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="23"/>
        <source>A CI named &apos;{value}&apos; already exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="24"/>
        <source>A CI needs a class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="25"/>
        <source>A PostgreSQL database is backed up with pg_dump, which is not installed here; install the PostgreSQL client tools, or run pg_dump -Fc -f FILE DBNAME on the server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="26"/>
        <source>A PostgreSQL database is restored with pg_restore from a backup pg_dump wrote: pg_restore --clean --if-exists -d DBNAME FILE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="27"/>
        <source>A PostgreSQL role named {login} exists already; choose another login for the administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="28"/>
        <source>A baseline named &apos;{value}&apos; already exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="29"/>
        <source>A baseline needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="30"/>
        <source>A business calendar needs working hours on at least one day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="31"/>
        <source>A calendar named {name} already exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="32"/>
        <source>A calendar needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="33"/>
        <source>A category is for incidents or for requests, not {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="34"/>
        <source>A category name is at most 200 characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="35"/>
        <source>A category needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="36"/>
        <source>A diagnostic script is a list of steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="39"/>
        <source>A login is 1 to 63 lowercase letters, digits, &apos;.&apos;, &apos;_&apos; or &apos;-&apos;, starting with a letter (&apos;{login}&apos; is not)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="40"/>
        <source>A mail becomes an incident or a request, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="41"/>
        <source>A password for the administrator {login} is needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="42"/>
        <source>A password needs at least {n} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="43"/>
        <source>A phase cannot sit inside another phase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="44"/>
        <source>A planned window needs a start and an end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="45"/>
        <source>A problem cannot go from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="46"/>
        <source>A queue filter needs a field, an operator and a value: {f}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="47"/>
        <source>A queue needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="48"/>
        <source>A resolution code is required to resolve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="49"/>
        <source>A role prefix is 1 to 31 lowercase letters, digits or &apos;_&apos;, starting with a letter (&apos;{prefix}&apos; is not)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="50"/>
        <source>A scope is written teams=NAME,NAME and/or site=CODE (parts joined by &apos;;&apos;), not &apos;{text}&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="51"/>
        <source>A shared database is a PostgreSQL database (postgresql://...)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="52"/>
        <source>A site code is 2 to 8 letters or digits (for example OSL), not &apos;{code}&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="53"/>
        <source>A target is for a service (an SLA) or for a team (an OLA), not both</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="54"/>
        <source>A ticket cannot be its own parent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="55"/>
        <source>A work log note needs some text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="56"/>
        <source>A {role} may not move a change from {source} to {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="57"/>
        <source>A {type} change cannot go from {source} to {target} (allowed: {options})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="58"/>
        <source>An action needs a text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="59"/>
        <source>An announcement cannot end before it starts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="60"/>
        <source>An announcement needs a title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="61"/>
        <source>An in-memory database cannot be backed up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="62"/>
        <source>Another import created the record {key} while this one was getting ready; nothing was imported. Run the import again: it will update what is there instead of doubling it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="63"/>
        <source>Another {kind} record already has external key {key}; nothing was saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="64"/>
        <source>Another {kind} record already has this external key; nothing was saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="65"/>
        <source>Answer {m} of step {n} is longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="66"/>
        <source>Answer {m} of step {n} needs a label</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="67"/>
        <source>Approve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="68"/>
        <source>Approve (pre-approved)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="69"/>
        <source>Articles link to CIs, known errors and incidents, not {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="70"/>
        <source>Assess</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="71"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="72"/>
        <source>Attribute {attr} is required for class {cls}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="73"/>
        <source>Attribute {attr}: &apos;{value}&apos; is not a valid {type}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="74"/>
        <source>Attribute {attr}: &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="75"/>
        <source>Availability is computed by ci or service, not {by}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="76"/>
        <source>Backed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="77"/>
        <source>Backup to {path} failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="79"/>
        <source>Bad database URL &apos;{url}&apos;: a file or folder name may be at most {most} bytes long, the whole path {path_most}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="81"/>
        <source>Bad database URL &apos;{url}&apos;: the file name holds a NUL character</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="82"/>
        <source>Bad database URL &apos;{url}&apos;: write postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="83"/>
        <source>Bad database URL &apos;{url}&apos;: write sqlite:///relative.db or sqlite:////absolute.db</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="84"/>
        <source>Bad database URL &apos;{url}&apos;: write the characters / # ? @ of a password percent-encoded (/ as %2F, # as %23, ? as %3F, @ as %40)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="85"/>
        <source>Bad port in database URL &apos;{url}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="87"/>
        <source>Both an incident and a request category are named {name}; say which kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="88"/>
        <source>CAB member</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="89"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="90"/>
        <source>CMDB owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="91"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="92"/>
        <source>Cannot create the folder {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="93"/>
        <source>Cannot create {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="94"/>
        <source>Cannot import {kind} with a mapping</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="95"/>
        <source>Cannot read mapping {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="96"/>
        <source>Cannot read the rules from {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="97"/>
        <source>Cannot read {path}: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="98"/>
        <source>Cannot read {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="99"/>
        <source>Cannot restore over {path}: {reason}; nothing was replaced</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="100"/>
        <source>Cannot sort a queue by {field}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="101"/>
        <source>Cannot sort a queue by {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="102"/>
        <source>Cannot use the PostgreSQL database {db} at {host}:{port}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="103"/>
        <source>Cannot use {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="104"/>
        <source>Cannot write the database file {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="105"/>
        <source>Cannot write the database file {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="106"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="107"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="108"/>
        <source>Checking a shared database needs the superuser&apos;s connection (the one setup-shared used): {login} sees only the rows its roles show</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="109"/>
        <source>Class {cls} has no attribute &apos;{attr}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="110"/>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="111"/>
        <source>Connection security must be one of {choices}, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="112"/>
        <source>Decision &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="113"/>
        <source>Defer / reassess</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="114"/>
        <source>Describe the solution to resolve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="115"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="116"/>
        <source>Export format must be text or html, not {fmt}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="117"/>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="118"/>
        <source>Fetch mail every 0 to 1440 minutes (0: only on demand), not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="119"/>
        <source>Field(s) {fields} cannot be bulk edited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="120"/>
        <source>Folding an event log needs the column with each row&apos;s time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="121"/>
        <source>Folding an event log needs the key column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="122"/>
        <source>Group by &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="123"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="124"/>
        <source>Implemented</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="125"/>
        <source>Import cancelled; nothing was written.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="126"/>
        <source>Importing {kind} needs a mapping: add --map MAPPING.toml or the name of a ready one (itsmdesk mappings lists them)</source>
        <oldsource>Importing {kind} needs a mapping: add --map MAPPING.toml (ready ones are in resources/import-maps/)</oldsource>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="127"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="128"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks comma-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="129"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks pipe-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="130"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks semicolon-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="131"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks tab-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="132"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}).{hint}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="133"/>
        <source>Line {line}: the file is not {encoding} (byte 0x{byte:02x}); set encoding = &quot;{guess}&quot; or &quot;auto&quot; in the mapping&apos;s [source]</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="134"/>
        <source>Mail rule {number} is not a rule (match, value, kind...)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="135"/>
        <source>Mail rule {number} needs a value to match</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="136"/>
        <source>Mail rule {number}: a mail becomes an incident or a request, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="137"/>
        <source>Mail rule {number}: match by one of {choices}, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="138"/>
        <source>Mail rule: there is no team {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="139"/>
        <source>Mail rule: there is no {kind} category {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="140"/>
        <source>Map at least one column to a field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="141"/>
        <source>Mapping {path} is for {mapped}, not {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="142"/>
        <source>Mapping {path} is not valid TOML: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="145"/>
        <source>Mapping {path}: [fields] {field}: an event log ([events] fold = true) cannot fill it; import the links from a file with one row per record and linked row</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="146"/>
        <source>Mapping {path}: [fields] {field}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="151"/>
        <source>Mapping {path}: importing {kind} needs key = &quot;COLUMN&quot;: the source&apos;s id, kept as external key so that a re-import updates instead of duplicating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="152"/>
        <source>Mapping {path}: {field} is not a field of {kind} (fields: {known})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="153"/>
        <source>Mapping {path}: {where}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="154"/>
        <source>Meeting status &apos;{value}&apos; is not one of: planned, held, cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="155"/>
        <source>Name the folder mail is taken from (usually INBOX)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="156"/>
        <source>No CAB action {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="157"/>
        <source>No CAB meeting {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="158"/>
        <source>No CI is named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="159"/>
        <source>No CI named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="160"/>
        <source>No IMAP mailbox is set up: fill in the mail settings first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="161"/>
        <source>No SMTP server is set: set {key} first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="162"/>
        <source>No account with login {login}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="163"/>
        <source>No announcement with id {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="164"/>
        <source>No baseline named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="165"/>
        <source>No business calendar {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="166"/>
        <source>No business service named {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="167"/>
        <source>No category named {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="168"/>
        <source>No change with reference &apos;{ref}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="169"/>
        <source>No change {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="170"/>
        <source>No default business calendar: create one named Default or pass --calendar NAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="171"/>
        <source>No incident or request {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="172"/>
        <source>No incident {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="173"/>
        <source>No new password for {login}: set ITSMDESK_NEW_PASSWORD or run the command in a terminal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="174"/>
        <source>No password for {login}: set ITSMDESK_PASSWORD or run the command in a terminal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="175"/>
        <source>No password for {who}: set ITSMDESK_PASSWORD, remember it in the keyring (File &gt; Connect in the desktop app), or run the command in a terminal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="176"/>
        <source>No password is known for the mailbox {user}: enter it in the mail settings (it is kept in the keyring)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="177"/>
        <source>No person with the login, e-mail address or name {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="178"/>
        <source>No problem or known error with id {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="179"/>
        <source>No problem {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="180"/>
        <source>No release with reference &apos;{ref}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="181"/>
        <source>No site with code {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="182"/>
        <source>No site with id {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="183"/>
        <source>No step &apos;{step}&apos; in this release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="184"/>
        <source>No such file: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="185"/>
        <source>No team {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="186"/>
        <source>No {kind} with id {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="187"/>
        <source>No {kind} {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="188"/>
        <source>Nobody named {name} is in the directory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="189"/>
        <source>Nothing has the reference or name &apos;{ref}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="190"/>
        <source>Only its owner may change the private saved queue {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="191"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="192"/>
        <source>Other people were changing the same records at the same moment and the database could not put this change in order ({reason}); nothing was changed, try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="193"/>
        <source>Overriding the risk needs a reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="194"/>
        <source>PIR outcome &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="195"/>
        <source>Page size &apos;{value}&apos; is not one of: A4, Letter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="196"/>
        <source>Pick at least one value for the filter on {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="197"/>
        <source>PostgreSQL refused to change the login {login}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="198"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="199"/>
        <source>Propagation &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="200"/>
        <source>Record the permanent solution (or a workaround) before resolving the problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="201"/>
        <source>Record the root cause before marking it known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="202"/>
        <source>Recording &apos;{decision}&apos; for {ref} against the votes (which say &apos;{outcome}&apos;) needs a reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="203"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="204"/>
        <source>Reject</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="205"/>
        <source>Relation type &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="206"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="207"/>
        <source>Return to requester</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="208"/>
        <source>Rework</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="209"/>
        <source>Risk level &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="210"/>
        <source>SLA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="211"/>
        <source>SLA targets must be positive minutes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="212"/>
        <source>SLA: {n} more tickets like these</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="213"/>
        <source>SLA: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="214"/>
        <source>SQLite error on {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="215"/>
        <source>Say why the ticket goes to another team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="216"/>
        <source>Say why the ticket is escalated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="217"/>
        <source>Say why the ticket is pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="218"/>
        <source>Schedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="219"/>
        <source>Select the incidents to link first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="220"/>
        <source>Select the tickets to change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="221"/>
        <source>Send to CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="222"/>
        <source>Send to ECAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="223"/>
        <source>Setting up a shared database needs a superuser, or a role with CREATEROLE that owns the database ({login} is neither)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="224"/>
        <source>Show at least one column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="225"/>
        <source>Some of the affected CIs are no longer in the CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="226"/>
        <source>Standard changes are pre-approved and do not go before the CAB: {refs}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="227"/>
        <source>Start implementing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="228"/>
        <source>Start review (PIR)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="229"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="230"/>
        <source>Status &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="231"/>
        <source>Step &apos;{name}&apos; cannot depend on itself</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="232"/>
        <source>Step &apos;{name}&apos; cannot move from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="233"/>
        <source>Step &apos;{name}&apos; waits for: {steps}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="234"/>
        <source>Step {n} is not a question with answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="235"/>
        <source>Step {n} needs a question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="236"/>
        <source>Step {n} needs at least one answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="237"/>
        <source>Step {n}: there is no team {team} to route to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="238"/>
        <source>Steps of different releases cannot depend on each other</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="239"/>
        <source>Submit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="240"/>
        <source>Take &apos;hub&apos; or &apos;replica&apos;, not &apos;{take}&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="241"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="242"/>
        <source>Template {name} is not active</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="244"/>
        <source>The SLA target P{priority} was removed by someone else; nothing was saved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="245"/>
        <source>The SMTP server {server} did not accept the test: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="246"/>
        <source>The business calendar has no working hours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="247"/>
        <source>The business calendar {name} has no working hours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="248"/>
        <source>The conflict on {record} ({field}) was decided already, by {who} at {when} UTC.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="249"/>
        <source>The copy of the hub is not consistent ({detail}); the replica was not made.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="250"/>
        <source>The database cannot be reached ({reason}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="251"/>
        <source>The database file {path} is busy: another connection of this program has been writing since {since}; nothing was changed, try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="252"/>
        <source>The database file {path} is busy: another program is writing to it ({reason}); nothing was changed, try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="253"/>
        <source>The database file {path} is busy: process {pid} ({program} by {user} on {host}) has been writing since {since}; nothing was changed, try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="254"/>
        <source>The database is busy with another writer ({reason}); nothing was saved, try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="255"/>
        <source>The diagnostic script routes to an unknown team: {team}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="256"/>
        <source>The escalation share must be 1-100 %, not {pct}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="257"/>
        <source>The file is empty (no header line)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="259"/>
        <source>The filter on {name} needs a value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="260"/>
        <source>The filters cannot be counted: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="261"/>
        <source>The first account must be an administrator&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="262"/>
        <source>The folder {folder} does not exist; nothing was written.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="263"/>
        <source>The hub refused this sync: {who} may not write {table} there ({detail}). Nothing of it was applied; the site&apos;s changes wait on the replica. Someone whose roles allow that write on the hub must run the sync.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="264"/>
        <source>The hub refused this sync: {who} may not write {table} there ({detail}). Nothing of it was applied; the site&apos;s changes wait on the replica. Someone with one of the roles {roles} on the hub must run the sync.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="265"/>
        <source>The hub {hub} is on schema version {found}, older than this itsmdesk ({ours}): upgrade the hub first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="266"/>
        <source>The import would break a rule of the database ({reason}); nothing was imported. Run it with --dry-run to see the rows involved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="267"/>
        <source>The length given to changes without an end must be 0-{most} minutes, not {minutes}; nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="268"/>
        <source>The login {login} is not a person of this database</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="269"/>
        <source>The mail server {host}:{port} could not be used: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="270"/>
        <source>The mailbox has no folder {folder}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="271"/>
        <source>The old password is wrong.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="272"/>
        <source>The period must end after it starts ({start} .. {end})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="273"/>
        <source>The period must start before it ends ({start} is not before {end}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="274"/>
        <source>The port must be between 1 and 65535 (0 for the usual one), not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="275"/>
        <source>The priority matrix needs a priority 1-5 for impact,urgency {key}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="276"/>
        <source>The question of step {n} is longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="277"/>
        <source>The replica kept changing during the sync; what was sent is safe on the hub. Sync again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="278"/>
        <source>The report period must end after it starts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="279"/>
        <source>The response target cannot be longer than the resolution target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="280"/>
        <source>The rules file must hold a JSON list of rules</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="281"/>
        <source>The server name {value} contains spaces</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="282"/>
        <source>The setting {key} is {value}; use a port number such as 587</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="283"/>
        <source>The setting {key} is {value}; use starttls, ssl or none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="284"/>
        <source>The setting {key} was changed by someone else after you opened it (your version {yours}, now {theirs}); nothing was saved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="285"/>
        <source>The shared database refused this for your account ({reason}); nothing was changed. Ask an administrator for the role it needs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="286"/>
        <source>The two passwords differ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="287"/>
        <source>The window is still reading from the database; nothing was changed, try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="288"/>
        <source>There is already a file at {path}; a replica is made in a new file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="289"/>
        <source>There is already a {kind} category named {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="290"/>
        <source>There is no database at {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="291"/>
        <source>There is no database at {path}. Create one with &apos;itsmdesk --db {url} init&apos;, or try the demo with &apos;itsmdesk --demo ...&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="292"/>
        <source>There is no site with the code &apos;{code}&apos; on the hub.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="293"/>
        <source>There is no sync conflict {id} in this database; list them with &apos;itsmdesk replica conflicts&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="294"/>
        <source>There is no sync file at {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="295"/>
        <source>There is no team named &apos;{name}&apos; on the hub; the scope names teams by their exact name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="296"/>
        <source>This computer has no keyring to keep the SMTP password in; set ITSMDESK_SMTP_PASSWORD where the mail is sent from. The other settings were saved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="297"/>
        <source>This database has accounts already: an administrator adds people.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="298"/>
        <source>This database has accounts: sign in to change anything (--user LOGIN or ITSMDESK_USER; the password from ITSMDESK_PASSWORD or asked for).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="299"/>
        <source>This database has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk. The database was not changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="300"/>
        <source>This database is a replica, not the hub: import a site&apos;s bundle at the hub (&apos;itsmdesk --db HUB sync import-bundle FILE&apos;). Nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="301"/>
        <source>This database is not a replica: make one with &apos;itsmdesk replica create --from URL --site CODE FILE.db&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="302"/>
        <source>This is not a shared database set up with &apos;itsmdesk admin setup-shared&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="303"/>
        <source>This mail is no longer waiting in the unmatched queue (it is {status}); nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="304"/>
        <source>This replica has no key to sign a carried file with (it was made by an older itsmdesk): sync over the network once, or make the replica again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="305"/>
        <source>This replica is on schema version {theirs} and the hub on {ours}: the hub must be upgraded first. Nothing was sent.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="306"/>
        <source>This replica is on schema version {theirs} and the hub on {ours}: upgrade itsmdesk here and open the replica once (it is upgraded), then sync again. Nothing was sent.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="307"/>
        <source>This replica was made from another database than {hub}; nothing was sent.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="308"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="309"/>
        <source>Trends are counted by ci, service, category or team, not {by}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="310"/>
        <source>Unknown CI class &apos;{value}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="311"/>
        <source>Unknown CSV kind &apos;{value}&apos; (use cis or relations)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="312"/>
        <source>Unknown announcement kind {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="313"/>
        <source>Unknown audience {audience}: use everyone or it_staff</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="314"/>
        <source>Unknown change status {status}; the statuses are {known}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="315"/>
        <source>Unknown field(s) for {kind}: {fields}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="316"/>
        <source>Unknown filter operator {op}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="317"/>
        <source>Unknown queue column(s): {cols}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="318"/>
        <source>Unknown queue {key}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="319"/>
        <source>Unknown record kind &apos;{kind}&apos;; choose one of: {kinds}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="320"/>
        <source>Unknown role(s): {roles} (roles: {known})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="321"/>
        <source>Unknown root cause analysis note(s): {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="322"/>
        <source>Unknown time zone {tz}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="323"/>
        <source>Unknown weekday in {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="324"/>
        <source>Unschedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="325"/>
        <source>Unsupported database URL &apos;{url}&apos;: use sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="326"/>
        <source>Updated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="327"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="328"/>
        <source>Vote &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="329"/>
        <source>Wave &apos;{name}&apos; has no site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="330"/>
        <source>Wave &apos;{name}&apos; is already deployed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="331"/>
        <source>Weekday must be 0 (Monday) to 6 (Sunday), not {day}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="332"/>
        <source>Working hours {span} are listed after a later span; list each day&apos;s hours in order</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="333"/>
        <source>Working hours {span} are not HH:MM-HH:MM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="334"/>
        <source>Working hours {span} overlap {other}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="335"/>
        <source>Working hours {text} are not like &quot;mon-fri 08:00-17:00&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="336"/>
        <source>Wrong login or password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="338"/>
        <source>You cannot deactivate your own account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="358"/>
        <source>creating {kind} {name} would repeat {value}, which {other} is also created with</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="359"/>
        <source>creating {kind} {name} would repeat {value}, which {record} already holds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="360"/>
        <source>creating {kind} {name}: its {field} would be longer than {max} characters ({length})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="391"/>
        <source>no external key: the cell is {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="426"/>
        <source>the hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="427"/>
        <source>the key is longer than {max} characters ({length})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="428"/>
        <source>the replica</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="429"/>
        <source>the same as line {first}: imported once</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="448"/>
        <source>{db} is not an itsmdesk database: it holds {count} tables of something else (such as &apos;{table}&apos;) and no itsmdesk schema. It was left untouched; give itsmdesk a new file or an empty database.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="457"/>
        <source>{label} must be at most {max}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="462"/>
        <source>{name} has no e-mail address; add one before subscribing them to {service}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="463"/>
        <source>{name} is an Outlook .msg file, which this installation cannot read (it needs the optional extract-msg package); save the mail as .eml in Outlook or drag it from Outlook on the web instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="464"/>
        <source>{name} is more than {max} bytes (it grew while being read); attachments may be at most {max} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="465"/>
        <source>{name} is not a business service; people subscribe to business services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="466"/>
        <source>{name} is not a mail file (.eml or .msg)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="467"/>
        <source>{name} is not a regular file (a device, a pipe or a folder); only files can be attached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="468"/>
        <source>{name} is not an Outlook mail that can be read (damaged, encrypted or not a .msg file).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="471"/>
        <source>{name} of {kind} is longer than {max} characters ({length}); shorten it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="477"/>
        <source>{n} record(s) changed while their duplicate external keys were renamed; nothing was changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="480"/>
        <source>{path} cannot be read as a database ({reason}); nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="481"/>
        <source>{path} carries the hub&apos;s changes from journal id {start}, but this replica is current only to {checkpoint}: import the answer to an earlier bundle first, or sync over the network. Nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="482"/>
        <source>{path} has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk first. Nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="483"/>
        <source>{path} holds a batch of site {other} inside site {site}&apos;s bundle; nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="486"/>
        <source>{path} is a site&apos;s bundle for the hub, not the hub&apos;s answer: import it at the hub (&apos;itsmdesk --db HUB sync import-bundle FILE&apos;). Nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="487"/>
        <source>{path} is damaged (SQLite&apos;s integrity check: {detail}); nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="488"/>
        <source>{path} is damaged (its checksum does not match what it says); nothing was applied. Carry the file again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="491"/>
        <source>{path} is not a file; nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="492"/>
        <source>{path} is not a regular file (a device, a pipe or a socket); an itsmdesk database is a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="493"/>
        <source>{path} is not an SQLite database (an itsmdesk backup is one); nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="495"/>
        <source>{path} is not an itsmdesk database (it has no schema version); nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="497"/>
        <source>{path} is not an itsmdesk sync file, or it is damaged (cut short?); nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="498"/>
        <source>{path} is not an itsmdesk sync file; nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="499"/>
        <source>{path} is not signed by site {site}&apos;s key (made elsewhere, or changed on the way); nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="501"/>
        <source>{path} is open in another program (an itsmdesk window or command); close it and restore again. Nothing was replaced</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="502"/>
        <source>{path} is the database itself; give a backup file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="503"/>
        <source>{path} is the hub&apos;s answer for a site, not a site&apos;s bundle: import it on the site&apos;s replica. Nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="504"/>
        <source>{path} is the hub&apos;s answer for site {theirs}, not for this replica ({ours}); nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="505"/>
        <source>{path} is the name of an unfinished backup&apos;s temporary file; give another name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="506"/>
        <source>{path} is the unfinished copy of an interrupted backup or restore, not a backup; nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="507"/>
        <source>{path} was made by a replica of another database; nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="508"/>
        <source>{path} was written by a newer itsmdesk; upgrade itsmdesk here first. Nothing was applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="515"/>
        <source>{path}, line {line}: a cell is longer than {limit} characters, the most a CSV cell may hold; shorten it (or close a quote left open)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="516"/>
        <source>{path}, line {line}: bad CSV ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="528"/>
        <source>{path}: journal row {row} was changed or removed after it was written (the hash chain breaks there); nothing was restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="531"/>
        <source>{record} already has external key {key}; nothing was saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="533"/>
        <source>{record} has no field {field} any more; keep the hub&apos;s value.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="534"/>
        <source>{record} is no longer there (deleted since the conflict), so the replica&apos;s value cannot be taken; keep the hub&apos;s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="536"/>
        <source>{record}: the hub deleted what the replica changed, so only the hub&apos;s side can be kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="537"/>
        <source>{record}: the row the replica added cannot be added back (it refers to something deleted since); keep the hub&apos;s side.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="538"/>
        <source>{record}: the row the replica changed is no longer there, so its value cannot be taken; keep the hub&apos;s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="562"/>
        <source>{table}: the unique index on external keys is missing (two imports at once could double records)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="563"/>
        <source>{table}: {n} external key(s) held by more than one record, e.g. {examples}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="564"/>
        <source>{table}: {n} record(s) held an external key another record already had and were renamed to KEY#dup-N, e.g. {examples}; merge or delete them</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="565"/>
        <source>{table}: {n} record(s) with a {field} that is not allowed, e.g. {examples}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="570"/>
        <source>{value} is already held by {record}: two records cannot share {fields}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="571"/>
        <source>{value} is also given on line {first}: two records cannot share {fields}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="573"/>
        <source>{value} is not a finite number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="578"/>
        <source>{value} is not on the scale {low} to {high}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="579"/>
        <source>{value} is too large: a whole number here is between {min} and {max}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="581"/>
        <source>{where} has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk. Nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="582"/>
        <source>{where} is not an itsmdesk database.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="583"/>
        <source>{who} may not record another member&apos;s vote: that needs the role change manager.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="584"/>
        <source>{who} may not {what}: that needs the role {role_name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="339"/>
        <source>a CI cannot relate to itself</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="37"/>
        <source>A file could not be read or written: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="38"/>
        <source>A file name or address holds a NUL character (code 0); remove it and try again. Nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="78"/>
        <source>Bad database URL &apos;{url}&apos; ({reason}): write postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="80"/>
        <source>Bad database URL &apos;{url}&apos;: it holds a NUL character</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="86"/>
        <source>Bad template {text}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="143"/>
        <source>Mapping {path} nests lists or tables too deeply to be a mapping</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="144"/>
        <source>Mapping {path}, line {line}: not UTF-8 text (byte {byte}); save the mapping as UTF-8</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="147"/>
        <source>Mapping {path}: [fields] {name}: create only applies to a link to another record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="148"/>
        <source>Mapping {path}: [fields] {name}: create.{key} = {value} is not a {model} {key}; allowed: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="149"/>
        <source>Mapping {path}: [fields] {name}: create.{key} is not a field of {model} (fields: {allowed})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="150"/>
        <source>Mapping {path}: [fields] {name}: create.{key} must be text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="243"/>
        <source>Text holding a NUL character (code 0) cannot be stored or searched; nothing was saved. Remove the character and try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="258"/>
        <source>The file {path} cannot be used: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="337"/>
        <source>Years {first}-{last} cannot be expanded: give at most {most} years between {low} and {high}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="340"/>
        <source>a CI name is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="341"/>
        <source>a class is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="342"/>
        <source>a duration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="343"/>
        <source>a name is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="344"/>
        <source>a period</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="345"/>
        <source>a time of day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="346"/>
        <source>a value of another kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="347"/>
        <source>administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="348"/>
        <source>agent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="349"/>
        <source>approve or reject a change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="350"/>
        <source>cannot create {kind} {value}: its {field} may hold at most {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="351"/>
        <source>change categories, SLA targets and calendars</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="352"/>
        <source>change manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="353"/>
        <source>change organisation settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="354"/>
        <source>ci: {n} CI(s) without a graph index entry; impact analysis cannot see them (repair with: itsmdesk check --repair)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="355"/>
        <source>class {cls} has no attribute &apos;{attr}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="356"/>
        <source>close a problem or publish a known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="357"/>
        <source>column appears twice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="361"/>
        <source>decide against the CAB&apos;s votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="362"/>
        <source>edit a private saved queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="363"/>
        <source>edit a shared saved queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="364"/>
        <source>edit change windows and templates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="365"/>
        <source>edit configuration items and their relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="366"/>
        <source>edit organisations, sites and teams</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="367"/>
        <source>emergency change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="368"/>
        <source>emergency release: shortened build and test</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="369"/>
        <source>external key longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="370"/>
        <source>highest risk of the bundled changes ({changes})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="371"/>
        <source>implement a change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="372"/>
        <source>integrity: {detail}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="373"/>
        <source>journal row {row} was changed or removed after it was written (the journal&apos;s hash chain breaks there)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="374"/>
        <source>journal: the triggers that keep it append-only were removed ({names})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="375"/>
        <source>key {key} again (first on line {first}); an event log needs [events] fold = true</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="376"/>
        <source>line ends after {given} of {columns} columns (truncated line?)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="377"/>
        <source>longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="378"/>
        <source>longer than {max} characters ({length})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="379"/>
        <source>major release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="380"/>
        <source>manage people, their roles and passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="381"/>
        <source>manage releases, their plans and waves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="382"/>
        <source>move a change through its lifecycle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="383"/>
        <source>move a ticket to another team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="384"/>
        <source>no CI named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="385"/>
        <source>no backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="386"/>
        <source>no category {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="387"/>
        <source>no change {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="388"/>
        <source>no ci {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="389"/>
        <source>no ci_class {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="390"/>
        <source>no event time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="392"/>
        <source>no incident {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="393"/>
        <source>no known_error {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="394"/>
        <source>no organisation {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="395"/>
        <source>no outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="396"/>
        <source>no outage, downtime {minutes} min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="397"/>
        <source>no person {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="398"/>
        <source>no problem {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="399"/>
        <source>no site {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="400"/>
        <source>no team {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="401"/>
        <source>no {kind} {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="402"/>
        <source>normal change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="403"/>
        <source>pg_dump failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="404"/>
        <source>problem manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="405"/>
        <source>publish service announcements</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="406"/>
        <source>raise a ticket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="407"/>
        <source>raise and edit a change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="408"/>
        <source>read and write private notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="409"/>
        <source>record a CAB decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="410"/>
        <source>record another member&apos;s vote</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="411"/>
        <source>relation: {n} relation(s) whose graph index entries differ from their CIs&apos;; impact analysis follows them wrongly (repair with: itsmdesk check --repair)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="412"/>
        <source>release manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="413"/>
        <source>requester</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="414"/>
        <source>required column is missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="415"/>
        <source>rollout in {waves} waves to {sites} sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="416"/>
        <source>rollout to {sites} sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="417"/>
        <source>run CAB meetings (members, agenda, minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="418"/>
        <source>schedule a change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="419"/>
        <source>see other people&apos;s tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="420"/>
        <source>see this ticket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="421"/>
        <source>service outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="422"/>
        <source>service outage, downtime {minutes} min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="423"/>
        <source>several release factors on top of risky changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="424"/>
        <source>standard change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="425"/>
        <source>team lead</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="430"/>
        <source>the same relation is on line {first}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="431"/>
        <source>unknown CI class &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="432"/>
        <source>unknown column (not a CI field or class attribute)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="433"/>
        <source>unknown column (use source, type, target, redundant, propagates)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="434"/>
        <source>unknown site &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="435"/>
        <source>unknown team &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="436"/>
        <source>unknown value {value} (the map knows: {known})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="437"/>
        <source>vote on a change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="438"/>
        <source>work on problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="439"/>
        <source>work on tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="440"/>
        <source>write knowledge articles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="441"/>
        <source>{cells} cells but the header has {columns} columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="442"/>
        <source>{cells} cells but {columns} columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="443"/>
        <source>{change} falls in blackout window &apos;{window}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="444"/>
        <source>{change} is outside the maintenance windows of {cis}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="445"/>
        <source>{change} overlaps {other} on {cis}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="446"/>
        <source>{change} overlaps {other}; impact path via {cis}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="447"/>
        <source>{db} already holds records; use another --db, or --force to add demo data anyway</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="449"/>
        <source>{failed} of {finished} earlier change(s) on these CIs failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="450"/>
        <source>{field} is required but empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="451"/>
        <source>{field} is required: map it in [fields]</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="452"/>
        <source>{label} &apos;{value}&apos; is already taken</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="453"/>
        <source>{label} &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="454"/>
        <source>{label} is longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="455"/>
        <source>{label} is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="456"/>
        <source>{label} must be a whole number of at least {min}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="458"/>
        <source>{label}: &apos;{value}&apos; is not a date and time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="459"/>
        <source>{label}: the end ({end}) must come after the start ({start})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="460"/>
        <source>{local} does not exist in {zone} (the clocks jumped forward); read as {actual}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="461"/>
        <source>{login} is the last administrator: make someone else an administrator first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="469"/>
        <source>{name} is {size} bytes; attachments may be at most {max} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="470"/>
        <source>{name} must be 1 (high), 2 (medium) or 3 (low)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="472"/>
        <source>{name} of {kind} is {value}, outside the numbers it can hold ({low} to {high})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="473"/>
        <source>{name}={value} is not valid: {doc}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="474"/>
        <source>{n} business service(s) impacted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="475"/>
        <source>{n} business service(s) impacted: {services}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="476"/>
        <source>{n} business service(s) impacted: {services} and {more} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="478"/>
        <source>{pairs} overlapping change(s), {blackouts} blackout(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="479"/>
        <source>{pairs} overlapping change(s), {blackouts} blackout(s), outside maintenance window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="484"/>
        <source>{path} is a folder, not a database file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="485"/>
        <source>{path} is a folder; give a file name for the backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="489"/>
        <source>{path} is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="490"/>
        <source>{path} is not UTF-8 text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="494"/>
        <source>{path} is not an iCalendar file: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="496"/>
        <source>{path} is not an itsmdesk database or is corrupt ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="500"/>
        <source>{path} is not valid JSON: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="509"/>
        <source>{path}, line {line}: DTEND must be of the same type as DTSTART (both dates, or both dates and times)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="510"/>
        <source>{path}, line {line}: DTEND {end} is before DTSTART {start}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="511"/>
        <source>{path}, line {line}: DURATION &apos;{raw}&apos; is negative</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="512"/>
        <source>{path}, line {line}: DURATION &apos;{raw}&apos; is not a duration ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="513"/>
        <source>{path}, line {line}: DURATION must be a length such as P1D, not {what}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="514"/>
        <source>{path}, line {line}: RRULE &apos;{raw}&apos; is not a rule itsmdesk can read ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="517"/>
        <source>{path}, line {line}: the event has {count} {prop} lines; it may have one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="518"/>
        <source>{path}, line {line}: the event lasts {days} days; a holiday lasts at most {most}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="519"/>
        <source>{path}, line {line}: the event reaches {day}, outside the dates itsmdesk works with ({first} to {last})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="520"/>
        <source>{path}, line {line}: the event repeats more than {most} times in {first}-{last}; is it a holiday?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="521"/>
        <source>{path}, line {line}: the event&apos;s repetition cannot be computed ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="522"/>
        <source>{path}, line {line}: the file names more than {most} holidays; is it a holiday list?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="523"/>
        <source>{path}, line {line}: {prop} &apos;{raw}&apos; is not a date that exists ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="524"/>
        <source>{path}, line {line}: {prop} &apos;{raw}&apos; is not a list of dates ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="525"/>
        <source>{path}, line {line}: {prop} must be a date or a date and time, not {what}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="526"/>
        <source>{path}, line {line}: {prop} must hold dates, not {what}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="527"/>
        <source>{path}, line {line}: {prop} {day} is outside the dates itsmdesk works with ({first} to {last})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="529"/>
        <source>{person} is not on the CAB for {category}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="530"/>
        <source>{raw} gives {name} {value}, which is not one of: {shown}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="532"/>
        <source>{record} changed while the import ran; nothing was imported. Run the import again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="535"/>
        <source>{record} was changed by {who} at {when} UTC after you opened it (your version {yours}, now {theirs}); nothing was saved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="539"/>
        <source>{ref} cannot be approved against the CAB&apos;s votes ({detail})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="540"/>
        <source>{ref} cannot go from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="541"/>
        <source>{ref} has no CAB approval ({detail})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="542"/>
        <source>{ref} has no workaround to apply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="543"/>
        <source>{ref} is not resolved yet; an article needs the resolution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="544"/>
        <source>{ref} is {status}: changing its risk needs a reason (a new level sends it back for approval)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="545"/>
        <source>{ref} is {status}: its risk is no longer changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="546"/>
        <source>{ref} is {status}; a review follows implementation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="547"/>
        <source>{ref} is {status}; only changes not yet started can be rescheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="548"/>
        <source>{ref} needs a planned start before it can be {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="549"/>
        <source>{ref} needs an implementation plan and a backout plan before submission</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="550"/>
        <source>{ref} was not rejected by the CAB ({detail})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="551"/>
        <source>{ref}: stored SLA {stored} but its history gives {computed} (repair with: itsmdesk sla refresh)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="552"/>
        <source>{release} already delivers &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="553"/>
        <source>{release} bundles no change; add the approved changes first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="554"/>
        <source>{release} cannot move from {old} to {new} (allowed: {allowed})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="555"/>
        <source>{release} cannot move to {new}: bundled change(s) not approved: {changes}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="556"/>
        <source>{release} is {status}; waves are deployed once it is approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="557"/>
        <source>{report} needs --{option} REF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="558"/>
        <source>{src} already {type} {tgt}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="559"/>
        <source>{table} row {row}: points at a missing {parent}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="560"/>
        <source>{table}.{column}: {n} row(s) point at a missing {parent}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="561"/>
        <source>{table}: reference {ref} used {n} times</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="566"/>
        <source>{text} is not a date (YYYY-MM-DD)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="567"/>
        <source>{text} is not a duration like 30m, 8h or 1h30m</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="568"/>
        <source>{text} is not years like 2026-2030</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="569"/>
        <source>{type} change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="572"/>
        <source>{value} is neither true ({true}) nor false ({false})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="574"/>
        <source>{value} is not a number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="575"/>
        <source>{value} is not a number (decimal separator {separator})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="576"/>
        <source>{value} is not a valid {name} (one of: {shown}); add a map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="577"/>
        <source>{value} is not a whole number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="580"/>
        <source>{value} matches none of the date formats {formats}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>knowledge</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="319"/>
        <source>Article from incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="320"/>
        <source>Reference of a resolved incident:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="337"/>
        <source>New &amp;article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="340"/>
        <source>Article from resolved &amp;incident…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>panels</name>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="38"/>
        <source>Ticket queues</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="39"/>
        <source>CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="40"/>
        <source>Change calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="41"/>
        <source>Announcements</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="42"/>
        <source>Knowledge search</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="43"/>
        <source>Problems and known errors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="44"/>
        <source>Trends dashboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="45"/>
        <source>Availability</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="46"/>
        <source>Releases</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="47"/>
        <source>Changes and CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="49"/>
        <source>Sync conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="50"/>
        <source>Unmatched mail</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>problems</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="210"/>
        <source>New &amp;problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="211"/>
        <source>New &amp;known error</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
