<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>AnnouncementsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="40"/>
        <source>Add…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="40"/>
        <source>Add a manual announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="41"/>
        <source>Withdraw</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="41"/>
        <source>Withdraw the selected announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="42"/>
        <source>Copy text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="42"/>
        <source>Copy all as plain text for an e-mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44"/>
        <source>Copy HTML</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44"/>
        <source>Copy all as HTML for an e-mail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="71"/>
        <source>until further notice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="72"/>
        <source>NOW</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="72"/>
        <source>upcoming</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="75"/>
        <source>Services: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="84"/>
        <source>No current announcements.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="102"/>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="105"/>
        <source>New announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="102"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="105"/>
        <source>Text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="129"/>
        <source>Announcements copied to the clipboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="140"/>
        <source>New &amp;announcement…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ArticleForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="40"/>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="174"/>
        <source>New article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="40"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="44"/>
        <source>vpn, remote access</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="46"/>
        <source>Draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="46"/>
        <source>Published</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="47"/>
        <source>Retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="52"/>
        <source>Cate&amp;gory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="53"/>
        <source>T&amp;ags</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="55"/>
        <source>Stat&amp;us</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="62"/>
        <source>Write Markdown: # heading, - list, **bold**, `code`</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="76"/>
        <source>INC-…, KE-… or a CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="77"/>
        <source>&amp;Add link</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="78"/>
        <source>&amp;Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="103"/>
        <source>&amp;Text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="104"/>
        <source>&amp;Links</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="105"/>
        <source>&amp;Versions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="108"/>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="151"/>
        <source>by {author}, version {version}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="160"/>
        <source>v{n} · {at} · {who}
{fields}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="220"/>
        <source>Save the changes to this article?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AuditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="346"/>
        <source>Audit the CMDB against a scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="349"/>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="350"/>
        <source>Audit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="357"/>
        <source>Choose the scan (CSV: name, class, site, … as exported).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="359"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="359"/>
        <source>CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="359"/>
        <source>Scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="362"/>
        <source>Accept scan into the CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="374"/>
        <source>Scan file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="386"/>
        <source>Unknown (scanned, not in the CMDB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="387"/>
        <source>Missing (in the CMDB, not found)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="388"/>
        <source>Different</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="389"/>
        <source>Bad rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="396"/>
        <source>{s} scanned: {m} match, {u} unknown, {x} missing, {d} differences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="405"/>
        <source>Accept scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="406"/>
        <source>Create the unknown CIs and update the different ones from the scan?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AvailabilityModel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="45"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="45"/>
        <source>Failures</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="45"/>
        <source>Downtime (h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46"/>
        <source>MTTR (h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46"/>
        <source>MTBF (h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46"/>
        <source>Availability %</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AvailabilityPanel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="100"/>
        <source>Configuration item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="101"/>
        <source>Business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="108"/>
        <source>&amp;Compute</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="109"/>
        <source>Export CS&amp;V…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="110"/>
        <source>Export &amp;PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="114"/>
        <source>Per</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="116"/>
        <source>from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="118"/>
        <source>to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="140"/>
        <source>Most downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="179"/>
        <source>{n} with outages · {f} failures · {d} h downtime in {p} h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="194"/>
        <source>Export availability</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="195"/>
        <source>CSV (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="198"/>
        <source>{n} rows written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="203"/>
        <source>Availability report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="204"/>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="210"/>
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
    <name>BaselineDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="253"/>
        <source>CMDB baselines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="256"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="256"/>
        <source>Taken (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="257"/>
        <source>CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="257"/>
        <source>Relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="263"/>
        <source>Name of a new baseline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="265"/>
        <source>All CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="266"/>
        <source>Take baseline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="267"/>
        <source>Compare with now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="275"/>
        <source>Difference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="275"/>
        <source>Then</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="275"/>
        <source>Now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="319"/>
        <source>CIs added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320"/>
        <source>CIs removed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="321"/>
        <source>CIs changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="322"/>
        <source>Relations added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="323"/>
        <source>Relations removed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="325"/>
        <source>Relations changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="329"/>
        <source>No differences</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BulkEditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="29"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="30"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="31"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="32"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="33"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="34"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="35"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="42"/>
        <source>Edit {n} tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="52"/>
        <source>Pending reason / solution when needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="55"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="56"/>
        <source>New value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="57"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="63"/>
        <source>The change applies to all {n} selected tickets at once and can be undone with Ctrl+Shift+Z.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="80"/>
        <source>(nobody)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="80"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90"/>
        <source>1 high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90"/>
        <source>2 medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90"/>
        <source>3 low</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CABMeetingForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="57"/>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="181"/>
        <source>New CAB meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="62"/>
        <source>Weekly CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="67"/>
        <source>Emergency CAB (ECAB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="80"/>
        <source>&amp;Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="81"/>
        <source>&amp;Starts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="82"/>
        <source>&amp;Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="85"/>
        <source>Quorum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="87"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="91"/>
        <source>&amp;Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="95"/>
        <source>Member</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="95"/>
        <source>Present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="113"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="114"/>
        <source>Quorum outcome</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="114"/>
        <source>Decision / conditions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="122"/>
        <source>Build agenda from changes awaiting CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="125"/>
        <source>Conditions for the selected change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="126"/>
        <source>Record decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="135"/>
        <source>Action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="135"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="136"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="136"/>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="143"/>
        <source>New action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="145"/>
        <source>(no owner)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="150"/>
        <source>Add action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="157"/>
        <source>Meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="158"/>
        <source>Attendees</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="159"/>
        <source>Agenda and votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="160"/>
        <source>Actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="163"/>
        <source>CAB pack…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="165"/>
        <source>Minutes…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="167"/>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="249"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="249"/>
        <source>no</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CIForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="77"/>
        <source>Planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="77"/>
        <source>In production</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="78"/>
        <source>In maintenance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="78"/>
        <source>Retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="79"/>
        <source>Low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="79"/>
        <source>Medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="79"/>
        <source>High</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="80"/>
        <source>Critical</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="81"/>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="359"/>
        <source>New CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="103"/>
        <source>every dependency needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="104"/>
        <source>Redundancy: the CI stays up while at least this many of its redundant dependencies are up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="111"/>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="114"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="118"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="119"/>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="140"/>
        <source>Class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="120"/>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="168"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="121"/>
        <source>Criticality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="122"/>
        <source>Owner team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="123"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="124"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="125"/>
        <source>Vendor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="126"/>
        <source>Serial</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="127"/>
        <source>Members that must stay up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="128"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="129"/>
        <source>Class attributes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="131"/>
        <source>Save (Ctrl+S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="139"/>
        <source>Direction</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="139"/>
        <source>Relation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="139"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="140"/>
        <source>Redundant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="146"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="148"/>
        <source>redundant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="149"/>
        <source>Add</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="150"/>
        <source>Remove selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="155"/>
        <source>This CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="167"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="167"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="167"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="174"/>
        <source>When (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="174"/>
        <source>Who</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="174"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="175"/>
        <source>Old</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="175"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="178"/>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="179"/>
        <source>Relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="180"/>
        <source>Open records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="181"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="182"/>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="230"/>
        <source>this CI →</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="230"/>
        <source>→ this CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="232"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="235"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="235"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="236"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="236"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="240"/>
        <source>Relations ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="241"/>
        <source>Open records ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="335"/>
        <source>Remove relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="336"/>
        <source>Remove {n} relation(s)?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="365"/>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="365"/>
        <source>Save the changes to {name}?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CabMinutes</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="28"/>
        <source>{approve} for, {reject} against, {abstain} abstain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="34"/>
        <source>no quorum: {votes} of {quorum} votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="36"/>
        <source>{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="45"/>
        <source>Emergency CAB minutes: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="46"/>
        <source>CAB minutes: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="49"/>
        <source>Meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="50"/>
        <source>Date (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="52"/>
        <source>Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="53"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="54"/>
        <source>Chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="55"/>
        <source>Present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="56"/>
        <source>Apologies</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="57"/>
        <source>Quorum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="60"/>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="62"/>
        <source>Decisions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="63"/>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="102"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="63"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="64"/>
        <source>Votes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="64"/>
        <source>Decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="65"/>
        <source>Conditions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="75"/>
        <source>No changes were discussed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="82"/>
        <source>{type} change · planned {start} – {end} UTC · now {status}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="86"/>
        <source>Member</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="86"/>
        <source>Vote</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="87"/>
        <source>Comment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="91"/>
        <source>no votes recorded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="94"/>
        <source>&lt;b&gt;Decision:&lt;/b&gt; {decision} &lt;font color=&apos;#6b7280&apos;&gt;(quorum rule: {rule})&lt;/font&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="98"/>
        <source>&lt;b&gt;Conditions:&lt;/b&gt; {conditions}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="101"/>
        <source>Actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="102"/>
        <source>Action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="103"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="103"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="104"/>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="111"/>
        <source>No actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="126"/>
        <source>CAB minutes {ref}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CabPack</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="72"/>
        <source>Emergency CAB pack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="73"/>
        <source>Change Advisory Board pack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="79"/>
        <source>Chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="80"/>
        <source>Invited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="82"/>
        <source>Quorum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="83"/>
        <source>Changes on the agenda</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="84"/>
        <source>Forward schedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="85"/>
        <source>{n} change(s) in the next 28 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="89"/>
        <source>Contents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="93"/>
        <source>Agenda</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="94"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="112"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="95"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="112"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="95"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="96"/>
        <source>Planned start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="97"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="114"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="147"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="103"/>
        <source>No changes on the agenda</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="107"/>
        <source>Forward schedule of change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="109"/>
        <source>Approved, scheduled and in-progress changes from {date} for 28 days.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="113"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="133"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="113"/>
        <source>Start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="114"/>
        <source>End</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="119"/>
        <source>Nothing scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="128"/>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="130"/>
        <source>(service outage)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="132"/>
        <source>Type / category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="134"/>
        <source>Planned window (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="136"/>
        <source>Downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="137"/>
        <source>Requester / team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="139"/>
        <source>Implementer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="141"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="142"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="148"/>
        <source>Level {level}, computed score {score} ({computed})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="151"/>
        <source>; overridden: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="154"/>
        <source>Factor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="154"/>
        <source>Points</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="155"/>
        <source>Weight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="155"/>
        <source>Why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="159"/>
        <source>Impacted services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="161"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="162"/>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="171"/>
        <source>Criticality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="166"/>
        <source>No business service impacted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="167"/>
        <source>Affected CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="169"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="170"/>
        <source>Class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="175"/>
        <source>No CI recorded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="176"/>
        <source>Implementation plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="177"/>
        <source>Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="178"/>
        <source>Test plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="180"/>
        <source>Conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="182"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="183"/>
        <source>With</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="184"/>
        <source>When (UTC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="185"/>
        <source>Detail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="192"/>
        <source>No conflicts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="205"/>
        <source>CAB pack {ref}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CabPrinting</name>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="60"/>
        <source>Save PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="61"/>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
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
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="203"/>
        <source>+%n more</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="283"/>
        <source>Releases</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="285"/>
        <source>(no service)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="287"/>
        <source>(no CI)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="449"/>
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
        <location filename="../../itsmdesk/views/calendar/panel.py" line="50"/>
        <source>Reschedule %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="93"/>
        <source>Month</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="93"/>
        <source>Week</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="93"/>
        <source>Day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="94"/>
        <source>Timeline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="97"/>
        <source>Rows per CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="98"/>
        <source>Rows per service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="102"/>
        <source>All statuses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="120"/>
        <source>Previous</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="121"/>
        <source>Today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="121"/>
        <source>Go to today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="122"/>
        <source>Next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="123"/>
        <source>Undo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="123"/>
        <source>Undo the last reschedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="125"/>
        <source>Redo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="130"/>
        <source>Export .ics…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="130"/>
        <source>Export this range as iCalendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="151"/>
        <source>Conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="154"/>
        <source>Fill: status · left stripe: risk · red outline: conflict · red shade: blackout · green: maintenance window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="186"/>
        <source>All teams</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="187"/>
        <source>All services</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/panel.py" line="236"/>
        <source>Conflicts (%n)</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="285"/>
        <source>%s moved to %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="299"/>
        <source>Export change calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="300"/>
        <source>iCalendar (*.ics)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="310"/>
        <source>%s written (%s changes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="320"/>
        <source>Export change calendar (.ics)…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChangeForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="113"/>
        <source>new (draft)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="131"/>
        <source>(no team)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="146"/>
        <source>Downtime window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="152"/>
        <source>Service outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="162"/>
        <source>&amp;Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="165"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="168"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="184"/>
        <source>Downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="186"/>
        <source>&amp;Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="187"/>
        <source>&amp;Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="171"/>
        <source>People</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="167"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="177"/>
        <source>Planned window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="191"/>
        <source>&amp;Implementation plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="192"/>
        <source>&amp;Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="193"/>
        <source>Te&amp;st plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="197"/>
        <source>Drop CIs here from the CMDB tree, or add one by name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="204"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="206"/>
        <source>Add</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="208"/>
        <source>Remove selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="221"/>
        <source>Factor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="221"/>
        <source>Points</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="222"/>
        <source>Weight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="222"/>
        <source>Why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="227"/>
        <source>Assess risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="230"/>
        <source>Override</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="233"/>
        <source>(computed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="237"/>
        <source>Reason (required)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="238"/>
        <source>Apply override</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="244"/>
        <source>Conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="253"/>
        <source>(not reviewed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="257"/>
        <source>Record review</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="259"/>
        <source>Outcome</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="260"/>
        <source>Lessons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="261"/>
        <source>Incidents caused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="265"/>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="266"/>
        <source>Plans</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="267"/>
        <source>Affected CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="268"/>
        <source>Risk and conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="269"/>
        <source>Review (PIR)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="272"/>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="297"/>
        <source>New change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="306"/>
        <source>Status: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="329"/>
        <source>Requester: %s · Implementer: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="354"/>
        <source>Risk not assessed yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="356"/>
        <source>Risk: %s (score %s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="359"/>
        <source>overridden from %s: %s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChangesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="49"/>
        <source>Search reference or title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="51"/>
        <source>All statuses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="56"/>
        <source>More</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="58"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="61"/>
        <source>Ref</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="58"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="61"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="58"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="59"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="59"/>
        <source>Planned start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="59"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="62"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="61"/>
        <source>Date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="81"/>
        <source>Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="82"/>
        <source>CAB meetings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="83"/>
        <location filename="../../itsmdesk/views/changes/panel.py" line="111"/>
        <source>Success rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="99"/>
        <source>By month</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="99"/>
        <source>By type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="100"/>
        <source>By team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="103"/>
        <source>Export CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="109"/>
        <source>Group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="109"/>
        <source>Finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="109"/>
        <source>Successful</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="110"/>
        <source>Failed / backed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="110"/>
        <source>Incidents caused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="142"/>
        <source>Export success rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="143"/>
        <source>CSV (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="228"/>
        <source>Standard change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="228"/>
        <source>Template:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="269"/>
        <source>New change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="270"/>
        <source>New standard change from template…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="271"/>
        <source>New CAB meeting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="273"/>
        <source>CAB pack (PDF, print preview)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="275"/>
        <source>CAB minutes (PDF, print preview)…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Cli</name>
    <message>
        <location filename="../../itsmdesk/cli.py" line="65"/>
        <source>itsmdesk: IT service support (incidents, problems, CMDB, changes, releases).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="67"/>
        <source>With no command, the desktop application starts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="70"/>
        <source>sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/DB (default: $ITSMDESK_DB, else a file in your data folder)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="73"/>
        <source>start the GUI on a demo database (created on first use)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="117"/>
        <location filename="../../itsmdesk/cli.py" line="129"/>
        <source>itsmdesk: error: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="121"/>
        <source>itsmdesk: interrupted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="131"/>
        <source>(set ITSMDESK_DEBUG=1 for details)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="22"/>
        <source>AFTER</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="23"/>
        <source>APPROVED</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="24"/>
        <source>AT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="25"/>
        <source>AVAILABILITY_PCT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="26"/>
        <source>CATEGORY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="27"/>
        <source>CAUSED_INCIDENTS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="28"/>
        <source>CHANGE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="29"/>
        <source>CHANGE_PCT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="30"/>
        <source>CHECKSUM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="31"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="32"/>
        <source>CIS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="33"/>
        <source>CLASS_LABEL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="34"/>
        <source>COUNT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="35"/>
        <source>CRITICALITY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="36"/>
        <source>DELTA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="37"/>
        <source>DEPTH</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="38"/>
        <source>DETAIL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="39"/>
        <source>DOWNTIME_H</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="40"/>
        <source>END</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="41"/>
        <source>ESCALATE_PCT</source>
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
        <source>PRIORITY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="63"/>
        <source>RANK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="64"/>
        <source>RATE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="65"/>
        <source>REF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="66"/>
        <source>REFS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="67"/>
        <source>RELATION</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="68"/>
        <source>RELATIONS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="69"/>
        <source>RESOLUTION_MIN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="70"/>
        <source>RESPONSE_MIN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="71"/>
        <source>RISK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="72"/>
        <source>SCOPE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="73"/>
        <source>SITE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="74"/>
        <source>SLA_STATE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="75"/>
        <source>START</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="76"/>
        <source>STATUS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="77"/>
        <source>STEP</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="78"/>
        <source>STEPS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="79"/>
        <source>SUCCESSFUL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="80"/>
        <source>SUGGESTED_TITLE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="81"/>
        <source>TAKEN_AT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="82"/>
        <source>TITLE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="83"/>
        <source>TO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="84"/>
        <source>VERSION</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="85"/>
        <source>VIA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="86"/>
        <source>WEIGHT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="87"/>
        <source>WHO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="88"/>
        <source>WHY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="125"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="144"/>
        <source>would create {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="146"/>
        <source>create {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="148"/>
        <source>nothing written; create {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="149"/>
        <source>{kind}: {n} rows read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="151"/>
        <source>update {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="152"/>
        <source>unchanged {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="153"/>
        <source>rejected {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="156"/>
        <source>journal_rows {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="168"/>
        <source>line {line}, column {column}: {reason}</source>
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
        <location filename="../../itsmdesk/commands/changes.py" line="34"/>
        <source>change management: conflicts, transitions, success rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="37"/>
        <source>conflicting changes and window violations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="40"/>
        <source>skip impact-path conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="44"/>
        <source>move a change to another status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="51"/>
        <source>change success rate per type, team or month</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="58"/>
        <source>assess a change&apos;s risk and show its factors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="63"/>
        <location filename="../../itsmdesk/commands/changes.py" line="69"/>
        <source>forward schedule of change as .ics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="66"/>
        <source>change calendar: export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="138"/>
        <source>{ref}: risk {level} (score {score})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="157"/>
        <source>{path} written ({n} changes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="19"/>
        <source>what fails if a CI fails (down) or what it needs (up)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="20"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="23"/>
        <source>relation steps (default: no limit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="25"/>
        <source>treat every relation as a single point of failure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="26"/>
        <source>only the business services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="30"/>
        <source>CMDB baselines: take, list, compare with now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="32"/>
        <source>snapshot CIs and relations under a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="35"/>
        <source>only CIs of this class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="36"/>
        <source>only CIs at this site (code)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="37"/>
        <source>a business service and everything it needs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="39"/>
        <source>list baselines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="42"/>
        <source>compare a baseline with the CMDB now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="47"/>
        <source>compare the CMDB with a discovered list (CSV)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="50"/>
        <source>apply the scan: create unknown CIs and update different ones</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="76"/>
        <source>{n} CIs ({services} business services)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="88"/>
        <source>baseline &apos;{name}&apos; taken: {n} items</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="98"/>
        <source>all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="115"/>
        <source>baseline &apos;{name}&apos; ({at} UTC) against now:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="118"/>
        <source>no differences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="120"/>
        <source>+ CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="122"/>
        <source>- CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="124"/>
        <source>~ CI {name}: {field} {old} -&gt; {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="127"/>
        <source>+ relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="129"/>
        <source>- relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="131"/>
        <source>~ relation {name}: {field} {old} -&gt; {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="148"/>
        <source>bad row: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="150"/>
        <source>unknown  {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="152"/>
        <source>missing  {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="154"/>
        <source>differs  {name}: {field} CMDB {cmdb}, scan {scan}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="156"/>
        <source>{scanned} scanned: {matching} match, {unknown} unknown, {missing} missing, {different} differences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="14"/>
        <source>create the database or upgrade its schema</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="17"/>
        <source>fill the database with deterministic demo data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="21"/>
        <source>add demo data even though the database already holds records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="24"/>
        <source>print counts per record kind as JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="27"/>
        <source>write a consistent copy of the database to FILE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="31"/>
        <source>check the file, the references between records and the CMDB graph index</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="34"/>
        <source>first put the CMDB graph index right (it is derived from the CIs and relations; nothing else changes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="40"/>
        <source>list records of one kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="42"/>
        <source>one of: {kinds}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="48"/>
        <source>who changed what on a record (by reference or CI name)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="64"/>
        <source>created {db} at schema {version}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="67"/>
        <source>{db} is up to date (schema {version})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="70"/>
        <source>upgraded {db} from schema {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="85"/>
        <source>demo data ({size}, seed {seed}) written to {db} in {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="104"/>
        <source>backup of {db} written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="117"/>
        <source>CMDB graph index repaired ({cis} CI(s), {relations} relation(s) still wrong)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="124"/>
        <source>{n} problem(s) found in {db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="128"/>
        <source>{db}: OK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="171"/>
        <source>creating the demo database ...</source>
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
        <location filename="../../itsmdesk/commands/importing.py" line="23"/>
        <source>import records from a CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="27"/>
        <source>mapping for another tool&apos;s export (see README)</source>
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
        <location filename="../../itsmdesk/commands/importing.py" line="40"/>
        <source>reading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="41"/>
        <source>checking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="42"/>
        <source>checking rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="43"/>
        <source>writing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="44"/>
        <source>writing records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="45"/>
        <source>writing history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="46"/>
        <source>exporting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="66"/>
        <source>(empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="74"/>
        <source>create CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="74"/>
        <source>add relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="76"/>
        <source>update CI {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="76"/>
        <source>update relation {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="85"/>
        <source>... and {n} more CIs to create or update (not listed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="87"/>
        <source>... and {n} more relations to create or update (not listed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="90"/>
        <source>relations not in the file are kept (the import never removes relations)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="120"/>
        <source>... and {n} more bad rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="124"/>
        <source>rejected rows written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="13"/>
        <source>failures, MTBF, MTTR and availability per CI or business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="16"/>
        <source>period start (default: a year before the end)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="18"/>
        <source>period end, inclusive day (default: now)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="21"/>
        <source>only the N with most downtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="23"/>
        <source>write the figures as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="24"/>
        <source>write the report as PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="28"/>
        <source>incidents per CI, service, category or team, top movers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="31"/>
        <source>period start (default: 90 days before the end)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="32"/>
        <source>period end, inclusive day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="37"/>
        <source>knowledge base</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="39"/>
        <source>full-text search of articles, best first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="45"/>
        <source>problem management</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="48"/>
        <source>recurring incidents not yet linked to a problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="50"/>
        <source>look at incidents of the last N days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="52"/>
        <source>incidents within N days of each other belong together</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="66"/>
        <source>{n} rows written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="73"/>
        <source>{n} page(s) written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="81"/>
        <source>service availability {start} .. {end} UTC ({hours} h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="83"/>
        <source>ci availability {start} .. {end} UTC ({hours} h)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="101"/>
        <source>ci</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="101"/>
        <source>service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="102"/>
        <source>category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="102"/>
        <source>team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="103"/>
        <source>incidents by {by}, {start} .. {end}: {total} (previous period {previous})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="108"/>
        <source>top movers:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="12"/>
        <source>release management: show, move status, deploy waves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="15"/>
        <source>a release with its changes, risk, plan and DML items</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="21"/>
        <source>move a release to STATUS (checks the change roll-up)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="27"/>
        <source>deploy one rollout wave: update the site&apos;s CI versions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="30"/>
        <source>the wave&apos;s name (or a unique prefix) or id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="49"/>
        <source>type {type} · status {status} · risk {risk} · window {start} – {end} UTC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="52"/>
        <source>manager {manager} · team {team} · next: {next}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="56"/>
        <source>  risk {level} {why}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="58"/>
        <source>Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="59"/>
        <source>  (NOT all approved: cannot deploy)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="60"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="60"/>
        <source>NO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="64"/>
        <source>Affected services: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="66"/>
        <source>Plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="72"/>
        <source>Definitive media library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="76"/>
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
        <location filename="../../itsmdesk/commands/servicedesk.py" line="13"/>
        <source>full-text search over tickets (title, description, work log)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="16"/>
        <source>only open tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="20"/>
        <source>quick open: any record by reference or words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="26"/>
        <source>ticket queues: counts, or the first rows of one queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="27"/>
        <source>queue key (all_open, unassigned, breached, ...)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="33"/>
        <source>SLA clocks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="35"/>
        <source>flag tickets at risk and mark breaches (run every minute)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="36"/>
        <source>pretend it is this UTC time (YYYY-MM-DD HH:MM)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="39"/>
        <source>show the SLA targets per priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="42"/>
        <source>service announcements</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="44"/>
        <source>current announcements as text or HTML (for e-mail)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="48"/>
        <source>add a manual announcement</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="54"/>
        <source>service CI name (repeatable)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="57"/>
        <source>business calendars for SLA clocks (the change calendar is `calendar`)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="60"/>
        <source>calendars and their holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="62"/>
        <source>create a calendar with office hours Mon-Fri 08-17</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="67"/>
        <source>holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="68"/>
        <source>import holidays from an .ics file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="71"/>
        <source>calendar name (default: the default one)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="130"/>
        <source>{flagged} flagged at risk, {breached} breached, {notifications} notifications</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="158"/>
        <source>wrote {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="175"/>
        <source>announced: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="185"/>
        <source>{name} ({timezone}): {n} holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="198"/>
        <source>created calendar {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="215"/>
        <source>{added} holidays added to {name}, {skipped} already there</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CmdbPanel</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="32"/>
        <source>By class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="33"/>
        <source>By site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="34"/>
        <source>By business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="37"/>
        <source>Filter CIs by name (Ctrl+Shift+F)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="40"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="41"/>
        <source>Show what fails if the selected CI fails (Ctrl+I)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="43"/>
        <source>New CI</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CmdbTree</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="81"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="81"/>
        <source>Class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="81"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="111"/>
        <source>{name}
Class: {cls}
Status: {status}
Criticality: {crit}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="125"/>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="170"/>
        <source>More… (next {n})</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DashboardPanel</name>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="37"/>
        <source>Business service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="37"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="38"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="38"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42"/>
        <source>Last 7 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42"/>
        <source>Last 30 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="43"/>
        <source>Last 90 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="43"/>
        <source>Last 12 months</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="49"/>
        <source>Top </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="50"/>
        <source>&amp;Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="55"/>
        <source>Incidents by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="63"/>
        <source>Most incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="65"/>
        <source>Top movers (vs previous period)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="67"/>
        <source>Incidents opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="105"/>
        <source>{total} incidents ({change:+} vs previous period)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DiagnosticEditor</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="52"/>
        <source>Diagnostic scripts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="65"/>
        <source>&amp;New…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="66"/>
        <source>Re&amp;name…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="67"/>
        <source>Categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="76"/>
        <source>&amp;Add step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="77"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="98"/>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="78"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="99"/>
        <source>Up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="79"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="100"/>
        <source>Down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="81"/>
        <source>Steps (asked in this order)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="88"/>
        <source>e.g. Is more than one user affected?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="90"/>
        <source>&amp;Question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="93"/>
        <source>Answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="94"/>
        <source>Route ticket to team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="97"/>
        <source>Add a&amp;nswer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="103"/>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="282"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="108"/>
        <source>Answers the agent can pick</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="133"/>
        <source>The incident form asks these questions for a ticket of the chosen category; an answer may send the ticket to another team.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="146"/>
        <source>Incident categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="147"/>
        <source>Request categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="200"/>
        <source>Unsaved script</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="201"/>
        <source>Save the changes to the script of {name}?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="214"/>
        <source>Steps of {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="215"/>
        <source>Steps (pick a category)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="223"/>
        <source>Name of the new incident category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="224"/>
        <source>Name of the new request category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="225"/>
        <source>New category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="247"/>
        <source>Rename category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="247"/>
        <source>New name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="266"/>
        <source>(no question yet)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="282"/>
        <source>Step {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="296"/>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="299"/>
        <source>Yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="300"/>
        <source>No</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="332"/>
        <source>(no routing)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="340"/>
        <source>(unknown team {team})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="413"/>
        <source>Script not saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="424"/>
        <source>Saved {n} steps for {name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="89"/>
        <source>Choose the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="90"/>
        <source>A CSV export from another tool: tickets, an event log, CIs or relations.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="93"/>
        <source>Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="93"/>
        <source>Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="94"/>
        <source>Problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="94"/>
        <source>Configuration items</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="95"/>
        <source>CI relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="99"/>
        <source>Path of the CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="101"/>
        <source>&amp;Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="107"/>
        <source>&amp;Import as:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="108"/>
        <source>&amp;File:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="111"/>
        <source>Nothing is written until the last page; the dry run shows every row that would be rejected, with its line, column and reason.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="117"/>
        <source>Import file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="118"/>
        <source>CSV files (*.csv *.txt);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>GanttView</name>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="76"/>
        <source>No dated steps yet: give the steps planned start and end times to see the chart.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="135"/>
        <source>not scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="191"/>
        <source>now</source>
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
        <location filename="../../itsmdesk/views/importer/actions.py" line="23"/>
        <source>&amp;Import…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/actions.py" line="26"/>
        <source>Import tickets, event logs, CIs or relations from another tool&apos;s CSV</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="65"/>
        <source>Import CIs or relations from CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="69"/>
        <source>CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="70"/>
        <source>Relations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="73"/>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="79"/>
        <source>Import nothing if any row is bad</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="80"/>
        <source>Import the good rows, save the bad ones</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="82"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="83"/>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="84"/>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="99"/>
        <source>Bad rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="85"/>
        <source>Choose a file, then Preview.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="89"/>
        <source>Record / field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="89"/>
        <source>Now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="90"/>
        <source>After import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="94"/>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="205"/>
        <source>What would change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="96"/>
        <source>Line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="96"/>
        <source>Column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="96"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="111"/>
        <source>Preview</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="112"/>
        <source>Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="125"/>
        <source>CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="136"/>
        <source>Would create {c}, update {u}; {n} unchanged; {r} bad rows.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="139"/>
        <source>Relations missing from the file are kept: the import never removes relations.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="144"/>
        <source>Bad rows ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="154"/>
        <source>New relation: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="155"/>
        <source>Changed relation: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="157"/>
        <source>New CI: {name} ({cls})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="158"/>
        <source>Changed CI: {name} ({cls})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="161"/>
        <source>Line {line} of the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="170"/>
        <source>… and {n} more not listed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="173"/>
        <source>Nothing would change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="174"/>
        <source>What would change ({n})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="180"/>
        <source>Save the bad rows to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="184"/>
        <source>Importing…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportWizard</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="59"/>
        <source>line {line}, column {column}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="614"/>
        <source>Import from another tool</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="626"/>
        <source>&amp;Import</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>IncidentForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="135"/>
        <source>Short summary of what the caller reports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="138"/>
        <source>What happens, since when, what was tried</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="143"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="146"/>
        <source>Type a CI name, or drop one from the CMDB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="155"/>
        <source>(no team)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="156"/>
        <source>(nobody)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="157"/>
        <source>Major incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="173"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="174"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="175"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="176"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="177"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="178"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="179"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="180"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="183"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="185"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="186"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="615"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="187"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="197"/>
        <source>Why is the ticket waiting? (needed for pending)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="206"/>
        <source>How it was solved (needed to resolve)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="207"/>
        <source>Move</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="209"/>
        <source>Apply the status change and save (Ctrl+Return)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="216"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="217"/>
        <source>Move to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="218"/>
        <source>Pending reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="219"/>
        <source>Resolution code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="220"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="221"/>
        <source>Lifecycle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="242"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="243"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="244"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="245"/>
        <source>Parent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="246"/>
        <source>Child tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="247"/>
        <source>Links</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="250"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="297"/>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="253"/>
        <source>Save (Ctrl+S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="255"/>
        <source>Escalate…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="298"/>
        <source>Move status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="299"/>
        <source>Add work log note</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="322"/>
        <source>New service request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="323"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="652"/>
        <source>New incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="61"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="328"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="58"/>
        <source>1 – high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="59"/>
        <source>2 – medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="60"/>
        <source>3 – low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="62"/>
        <source>Awaiting approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="63"/>
        <source>Assigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="64"/>
        <source>In progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="65"/>
        <source>Pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="66"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="67"/>
        <source>Fulfilled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="68"/>
        <source>Closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="69"/>
        <source>Cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="378"/>
        <source>Reopen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="405"/>
        <source>Service request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="405"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="426"/>
        <source>SLA paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="428"/>
        <source>SLA met</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="428"/>
        <source>SLA breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="434"/>
        <source>Breached {t}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="434"/>
        <source>At risk: {t} left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="435"/>
        <source>{t} left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="442"/>
        <source>Announced for this CI/service: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="541"/>
        <source>Nothing to save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="551"/>
        <source>Saved {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="595"/>
        <source>Resolve child tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="596"/>
        <source>This major incident has open child tickets. Resolve them too?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="609"/>
        <source>To another team (functional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="609"/>
        <source>To the team lead (hierarchical)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="610"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="615"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="619"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="623"/>
        <source>Escalate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="610"/>
        <source>How?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="619"/>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="623"/>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="644"/>
        <source>{n} people notified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="652"/>
        <source>New request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="658"/>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="658"/>
        <source>Discard the changes to {t}?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="44"/>
        <source>Known errors and articles that match</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="47"/>
        <source>Diagnostic script</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="50"/>
        <source>Record answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="64"/>
        <source>Add a note… (Ctrl+L)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="66"/>
        <source>Public (caller sees it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="68"/>
        <source>Add note</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="75"/>
        <source>Work log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="85"/>
        <source>Attach file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="88"/>
        <source>Attachments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="105"/>
        <source>Save the ticket first to add notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="110"/>
        <source>system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="111"/>
        <source>public</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="111"/>
        <source>private</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="117"/>
        <source>No notes yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="133"/>
        <source>Type a title to see matching known errors.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="195"/>
        <source>Attach file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="211"/>
        <source>Save attachment</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KnowledgePanel</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="36"/>
        <source>Search the knowledge base…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="38"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="39"/>
        <source>New article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="70"/>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="81"/>
        <source>Type words to search titles, tags and text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="97"/>
        <source>{n} article(s), best match first</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KnownErrorForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="36"/>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="138"/>
        <source>New known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="36"/>
        <source>What the error looks like, in a line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="39"/>
        <source>Workaround only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="40"/>
        <source>Fix planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="41"/>
        <source>Fix in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="41"/>
        <source>Fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="42"/>
        <source>Will not be fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="46"/>
        <source>Open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="47"/>
        <source>Retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="51"/>
        <source>CI names, comma separated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="59"/>
        <source>Error &amp;code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="60"/>
        <source>Solution &amp;status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="61"/>
        <source>Stat&amp;us</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="62"/>
        <source>&amp;Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="63"/>
        <source>Affected C&amp;Is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="64"/>
        <source>Symptom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="65"/>
        <source>Root cause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="66"/>
        <source>Workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="69"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="69"/>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="74"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="70"/>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="75"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="71"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="74"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="78"/>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="78"/>
        <source>Who</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="79"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="79"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="81"/>
        <source>&amp;Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="82"/>
        <source>&amp;Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="83"/>
        <source>C&amp;hanges</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="84"/>
        <source>Histor&amp;y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="86"/>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="88"/>
        <source>Raise R&amp;FC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="178"/>
        <source>Save the changes to this known error?</source>
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
    <name>MainWindow</name>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="56"/>
        <source>itsmdesk — {db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="88"/>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="88"/>
        <source>&amp;Records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="89"/>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="89"/>
        <source>Re&amp;ports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="90"/>
        <source>&amp;Tools</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="90"/>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="93"/>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="97"/>
        <source>&amp;Quick open…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="102"/>
        <source>Close tab</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="106"/>
        <source>&amp;About itsmdesk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="145"/>
        <source>Reset layout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="186"/>
        <source>{title} arrives in a later version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="199"/>
        <source>SQLite file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="199"/>
        <source>PostgreSQL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="205"/>
        <source>Who works at this desk (Ctrl+Shift+P)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="237"/>
        <source>Connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="238"/>
        <source>Disconnected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="271"/>
        <source>🔔 {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="272"/>
        <source>{n} unread notifications (Ctrl+Shift+M)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="294"/>
        <source>Signed in: {name} ▾</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="306"/>
        <source>&lt;h2&gt;itsmdesk {version}&lt;/h2&gt;&lt;p&gt;Open a queue on the left, or press &lt;b&gt;Ctrl+K&lt;/b&gt; to find any record by reference or words.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="313"/>
        <source>Welcome</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="325"/>
        <source>No form for {kind} yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="391"/>
        <source>About itsmdesk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="392"/>
        <source>itsmdesk {version}
IT Service Support on {db}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MappingPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="221"/>
        <source>Map the columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="222"/>
        <source>Load a ready mapping (value maps, date formats, event-log folding) or pick a source column for each field.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="225"/>
        <source>(none: map by hand)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="229"/>
        <source>&amp;Load mapping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="231"/>
        <source>&amp;Save mapping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="234"/>
        <source>&amp;Event log: several rows per record, keep each as history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="240"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="240"/>
        <source>Source column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="241"/>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="248"/>
        <source>Mapping:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="253"/>
        <source>External &amp;key column:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="255"/>
        <source>Event &amp;time column:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="256"/>
        <source>Event &amp;author column:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="268"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="301"/>
        <source>one of: {values}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="302"/>
        <source>looked up by name or reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="303"/>
        <source>date and time (formats: load a mapping)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="304"/>
        <source>date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="304"/>
        <source>whole number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="305"/>
        <source>yes / no</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="305"/>
        <source>number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="312"/>
        <source>Load mapping</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="313"/>
        <source>Mappings (*.toml);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="368"/>
        <source>Save mapping</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="369"/>
        <source>Mappings (*.toml)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MergeDialog</name>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="26"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="27"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="28"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="29"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="30"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="31"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="32"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="33"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="34"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="35"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="36"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="37"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="38"/>
        <source>Major incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="39"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="40"/>
        <source>Pending reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="41"/>
        <source>Resolution code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="42"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="53"/>
        <source>(empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="67"/>
        <source>Someone else saved this ticket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="72"/>
        <source>Choose which value to keep where you both changed a field. Your other changes are kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="77"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="77"/>
        <source>Saved by them</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="77"/>
        <source>Yours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="97"/>
        <source>(unchanged by you)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="102"/>
        <source>Save merged</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PdfCommon</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="14"/>
        <source>draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="15"/>
        <source>submitted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="16"/>
        <source>assessed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="17"/>
        <source>awaiting cab</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="18"/>
        <source>approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="19"/>
        <source>rejected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="20"/>
        <source>scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="21"/>
        <source>implementing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="22"/>
        <source>implemented</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="23"/>
        <source>in review</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="24"/>
        <source>closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="25"/>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="26"/>
        <source>backed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="28"/>
        <source>standard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="29"/>
        <source>normal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="30"/>
        <source>emergency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="31"/>
        <source>major</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="32"/>
        <source>minor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="34"/>
        <source>low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="35"/>
        <source>medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="36"/>
        <source>high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="37"/>
        <source>very high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="38"/>
        <source>critical</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="39"/>
        <source>not assessed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="41"/>
        <source>approve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="42"/>
        <source>reject</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="43"/>
        <source>abstain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="44"/>
        <source>deferred</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="45"/>
        <source>pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="47"/>
        <source>planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="48"/>
        <source>held</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="49"/>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="51"/>
        <source>planning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="52"/>
        <source>build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="53"/>
        <source>test</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="54"/>
        <source>deploying</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="55"/>
        <source>deployed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="56"/>
        <source>in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="57"/>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="58"/>
        <source>skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="60"/>
        <source>same ci</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="61"/>
        <source>impact path</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="62"/>
        <source>blackout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="63"/>
        <source>outside maintenance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="65"/>
        <source>services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="66"/>
        <source>type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="67"/>
        <source>outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="68"/>
        <source>failure rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="69"/>
        <source>conflicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="70"/>
        <source>changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="71"/>
        <source>sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="72"/>
        <source>backout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="73"/>
        <source>combined</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="75"/>
        <source>in production</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="76"/>
        <source>in maintenance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="77"/>
        <source>retired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="78"/>
        <source>depends on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="79"/>
        <source>runs on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="80"/>
        <source>hosted on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="81"/>
        <source>connected to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="82"/>
        <source>part of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="83"/>
        <source>uses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="85"/>
        <source>new</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="86"/>
        <source>approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="87"/>
        <source>assigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="88"/>
        <source>resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="89"/>
        <source>fulfilled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="90"/>
        <source>investigating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="91"/>
        <source>root cause known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="92"/>
        <source>workaround only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="93"/>
        <source>fix planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="94"/>
        <source>fix in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="95"/>
        <source>fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="96"/>
        <source>won&apos;t fix</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="98"/>
        <source>incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="99"/>
        <source>request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="100"/>
        <source>phone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="101"/>
        <source>email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="102"/>
        <source>portal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="103"/>
        <source>walk in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="104"/>
        <source>chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="105"/>
        <source>monitoring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="106"/>
        <source>solved (workaround)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="107"/>
        <source>solved permanently</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="108"/>
        <source>solved by change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="109"/>
        <source>not reproducible</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="110"/>
        <source>duplicate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="111"/>
        <source>user error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="112"/>
        <source>no fault found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="114"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="115"/>
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
        <location filename="../../itsmdesk/reports/pdf_common.py" line="310"/>
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
        <location filename="../../itsmdesk/views/importer/wizard.py" line="135"/>
        <source>Preview</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="136"/>
        <source>Check that the columns split correctly; change the delimiter or encoding if they do not.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="140"/>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="144"/>
        <source>Detect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="157"/>
        <source>&amp;Delimiter:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="161"/>
        <source>&amp;Encoding:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="191"/>
        <source>Read as: delimiter “{d}”, encoding {e}, {n} columns (first {rows} rows shown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="208"/>
        <source>{n} rows in the preview do not split into the header&apos;s columns, e.g. {example}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProblemForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="76"/>
        <source>Short description of the problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="92"/>
        <source>CI name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="95"/>
        <source>&amp;Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="96"/>
        <source>&amp;Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="97"/>
        <source>Cate&amp;gory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="99"/>
        <source>Business ser&amp;vice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="100"/>
        <source>&amp;CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="101"/>
        <source>&amp;Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="110"/>
        <source>&amp;Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="111"/>
        <source>&amp;Root cause analysis</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="112"/>
        <source>&amp;Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="113"/>
        <source>&amp;Known errors and changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="114"/>
        <source>&amp;History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="116"/>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="119"/>
        <source>Raise R&amp;FC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="121"/>
        <source>C&amp;lose problem…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="151"/>
        <source>What is happening, since when, who is affected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="152"/>
        <source>How to restore service until the fix is in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="153"/>
        <source>The permanent solution (the corrective change)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="154"/>
        <source>The underlying cause, once known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="156"/>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="157"/>
        <source>Root cause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="158"/>
        <source>Workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="159"/>
        <source>Permanent solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="165"/>
        <source>What people and monitoring observe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="166"/>
        <source>Possible causes still open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="167"/>
        <source>Logs, measurements, tests that confirm or refute</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="168"/>
        <source>The cause the evidence supports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="170"/>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="172"/>
        <source>Symptoms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="172"/>
        <source>Hypotheses</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="173"/>
        <source>Evidence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="173"/>
        <source>Cause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="175"/>
        <source>Timeline of linked incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="176"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="244"/>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="176"/>
        <source>What</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="177"/>
        <source>Record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="177"/>
        <source>Detail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="190"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="190"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="220"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="227"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="190"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="228"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="289"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="191"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="191"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="198"/>
        <source>INC-000123, INC-000124 …</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="199"/>
        <source>Lin&amp;k</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="200"/>
        <source>&amp;Unlink selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="201"/>
        <source>Resolve open incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="204"/>
        <source>Link incidents:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="220"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="221"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="225"/>
        <source>Record as &amp;known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="227"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="234"/>
        <source>Known errors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="239"/>
        <source>Corrective changes (RFCs)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="244"/>
        <source>Who</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="245"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="245"/>
        <source>Old</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="42"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="246"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="42"/>
        <source>Investigating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="43"/>
        <source>Root cause known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="43"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="44"/>
        <source>Closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="253"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="256"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="286"/>
        <source>Problem recorded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="287"/>
        <source>Incident opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="288"/>
        <source>Incident resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="289"/>
        <source>Work log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="309"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="332"/>
        <source>New problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="355"/>
        <source>Changed by someone else</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="356"/>
        <source>The form will reload; re-apply your edits.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="378"/>
        <source>Saved {ref}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="394"/>
        <source>{ref} raised.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="410"/>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="421"/>
        <source>Resolve linked incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="411"/>
        <source>The fix for {ref} is in. Resolve its {n} open linked incident(s) too?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="422"/>
        <source>Resolve every open incident linked to this problem?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="431"/>
        <source>{n} incident(s) resolved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="483"/>
        <source>Save the changes to this problem?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProblemsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="34"/>
        <source>&amp;Problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="35"/>
        <source>&amp;Known errors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="36"/>
        <source>Ca&amp;ndidates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="51"/>
        <source>Open problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="52"/>
        <source>All problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="53"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="53"/>
        <source>Investigating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="54"/>
        <source>Root cause known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="55"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="55"/>
        <source>Closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="58"/>
        <source>Search problems…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="60"/>
        <source>New problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="67"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="92"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="67"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="92"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="68"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="68"/>
        <source>Service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="69"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="94"/>
        <location filename="../../itsmdesk/views/problems/panel.py" line="123"/>
        <source>Incidents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="84"/>
        <source>Search symptoms, error codes, workarounds…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="86"/>
        <source>New known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="93"/>
        <source>Error code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="93"/>
        <source>Solution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="108"/>
        <source>Last 14 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="108"/>
        <source>Last 30 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="109"/>
        <source>Last 90 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="112"/>
        <source>&amp;Create problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="115"/>
        <source>Recurring incidents, not yet linked to a problem:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="122"/>
        <source>CI / service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="122"/>
        <source>Incidents look like</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="123"/>
        <source>Last</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QueueEditor</name>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="44"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="45"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="46"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="47"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="48"/>
        <source>SLA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="49"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="50"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="51"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="52"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="53"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="54"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="55"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="56"/>
        <source>Updated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="57"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="58"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="59"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="60"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="61"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="64"/>
        <source>is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="65"/>
        <source>is not</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="66"/>
        <source>is one of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="67"/>
        <source>is none of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="68"/>
        <source>less than</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="69"/>
        <source>at most</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="70"/>
        <source>more than</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="71"/>
        <source>at least</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="72"/>
        <source>is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="73"/>
        <source>is not empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="74"/>
        <source>contains</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="77"/>
        <source>before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="78"/>
        <source>on or before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="79"/>
        <source>after</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="80"/>
        <source>on or after</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="83"/>
        <source>new</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="84"/>
        <source>approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="85"/>
        <source>assigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="86"/>
        <source>in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="87"/>
        <source>pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="88"/>
        <source>resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="89"/>
        <source>closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="90"/>
        <source>fulfilled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="91"/>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="92"/>
        <source>ok</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="93"/>
        <source>at risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="94"/>
        <source>breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="95"/>
        <source>paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="96"/>
        <source>met</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="97"/>
        <source>incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="98"/>
        <source>request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="99"/>
        <source>phone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="100"/>
        <source>email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="101"/>
        <source>portal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="102"/>
        <source>walk in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="103"/>
        <source>chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="104"/>
        <source>monitoring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="105"/>
        <source>1 high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="106"/>
        <source>2 medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="107"/>
        <source>3 low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="144"/>
        <source>(pick one or more)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="238"/>
        <source>text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="238"/>
        <source>exact value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="246"/>
        <source>My teams (signed-in person&apos;s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="259"/>
        <source>Me (signed-in person)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="276"/>
        <source>relative to today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="277"/>
        <source>fixed date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="281"/>
        <source> days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="282"/>
        <source>Negative: in the past (-7 = a week ago)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="381"/>
        <source>Edit queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="381"/>
        <source>New queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="387"/>
        <source>e.g. Network tickets this week</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="388"/>
        <source>Shared with everyone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="390"/>
        <source>Unshared queues are listed only for you</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="392"/>
        <source>&amp;Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="400"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="401"/>
        <source>Condition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="402"/>
        <source>Value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="406"/>
        <source>&amp;Add filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="409"/>
        <source>&amp;Remove filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="415"/>
        <source>Tickets that match all of these</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="428"/>
        <source>newest / highest first (descending)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="429"/>
        <source>oldest / lowest first (ascending)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="433"/>
        <source>&amp;Sort by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="442"/>
        <source>Tick the columns to show; drag or use the buttons to order them</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="444"/>
        <source>Move &amp;up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="446"/>
        <source>Move do&amp;wn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="451"/>
        <source>Columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="573"/>
        <source>Counting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="581"/>
        <source>Matches {n} tickets now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="601"/>
        <source>Queue not saved</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="299"/>
        <location filename="../../itsmdesk/views/queue/model.py" line="305"/>
        <source>paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="304"/>
        <source>ok</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="304"/>
        <source>at risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="304"/>
        <source>breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="305"/>
        <source>met</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QueuePanel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="40"/>
        <source>My open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="41"/>
        <source>My team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="42"/>
        <source>Unassigned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="43"/>
        <source>SLA at risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="44"/>
        <source>Breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="45"/>
        <source>All open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="46"/>
        <source>Resolved recently</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="47"/>
        <source>All tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="71"/>
        <source>Filter: words or a reference…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="80"/>
        <source>New ticket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="81"/>
        <source>Record a new incident (Ctrl+N)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="84"/>
        <source>Edit selected…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="85"/>
        <source>Change a field on every selected ticket (Ctrl+E)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="217"/>
        <source>{n} tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="258"/>
        <source>Select the tickets to change first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="274"/>
        <source>Changed {n} tickets (Ctrl+Shift+Z undoes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="283"/>
        <source>No bulk edit to undo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="288"/>
        <source>Undid the bulk edit of {n} tickets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="303"/>
        <source>Save queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="303"/>
        <source>Name of the new queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="330"/>
        <source>Only saved queues can be edited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="349"/>
        <source>New queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="351"/>
        <source>Edit queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="352"/>
        <source>Save queue as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="358"/>
        <source>Only saved queues can be deleted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="370"/>
        <source>&amp;New incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="371"/>
        <source>New service &amp;request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="373"/>
        <source>&amp;Bulk edit selected tickets…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="374"/>
        <source>&amp;Undo last bulk edit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="375"/>
        <source>Refresh &amp;queues</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="376"/>
        <source>&amp;Save queue as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="377"/>
        <source>New &amp;queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="378"/>
        <source>Edit saved &amp;queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="379"/>
        <source>&amp;Delete saved queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="381"/>
        <source>Filter queue</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QuickOpen</name>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="11"/>
        <source>Incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="12"/>
        <source>Request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="13"/>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="14"/>
        <source>Known error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="15"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="16"/>
        <source>Release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="17"/>
        <source>Article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="18"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="19"/>
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
        <source>A reference (INC-123, CHG-7…) or words</source>
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
        <location filename="../../itsmdesk/views/forms/common.py" line="52"/>
        <source>Saved {ref}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleaseForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="101"/>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="303"/>
        <source>New release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="110"/>
        <source>&amp;Move</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="113"/>
        <source>Release plan P&amp;DF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="117"/>
        <source>Move to:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="125"/>
        <source>&amp;Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="126"/>
        <source>&amp;Changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="127"/>
        <source>&amp;Plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="128"/>
        <source>&amp;Media library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="129"/>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="129"/>
        <source>Who</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="129"/>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="221"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="130"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="130"/>
        <source>Old</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="130"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="132"/>
        <source>&amp;History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="139"/>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="166"/>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="170"/>
        <source>&amp;Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="171"/>
        <source>&amp;Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="172"/>
        <source>&amp;Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="173"/>
        <source>Planned &amp;start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="174"/>
        <source>Planned &amp;end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="175"/>
        <source>Descr&amp;iption</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="176"/>
        <source>&amp;Backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="177"/>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="189"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="188"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="188"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="188"/>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="223"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="189"/>
        <source>Approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="195"/>
        <source>CHG-000123</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="197"/>
        <source>&amp;Add change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="199"/>
        <source>&amp;Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="220"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="220"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="220"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="221"/>
        <source>Planned start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="222"/>
        <source>Planned end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="222"/>
        <source>Actual start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="223"/>
        <source>Actual end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="223"/>
        <source>After</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="233"/>
        <source>Add s&amp;tep…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="239"/>
        <source>Set stat&amp;us</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="241"/>
        <source>&amp;Edit step…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="245"/>
        <source>De&amp;lete step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="247"/>
        <source>Deplo&amp;y wave…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="249"/>
        <source>Update the software CIs at the wave&apos;s site to the versions in the media library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="272"/>
        <source>Item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="272"/>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="277"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="272"/>
        <source>Checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="273"/>
        <source>Master CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="275"/>
        <source>Item name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="279"/>
        <source>sha256:…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="280"/>
        <source>Add &amp;item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="282"/>
        <source>Remo&amp;ve item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="291"/>
        <source>Software this release delivers (each is a software CI in the CMDB). Deploying a wave sets the version of the matching software CIs at the wave&apos;s site.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="330"/>
        <source>all changes approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="331"/>
        <source>no changes bundled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="332"/>
        <source>{n} change(s) not approved: cannot deploy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="336"/>
        <source>Status &lt;b&gt;{status}&lt;/b&gt; · type {type} · risk &lt;b&gt;&lt;span style=&apos;color:{rc}&apos;&gt;{risk}&lt;/span&gt;&lt;/b&gt; · &lt;span style=&apos;color:{ac}&apos;&gt;{approval}&lt;/span&gt; · manager {manager}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="350"/>
        <source>no factors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="356"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="356"/>
        <source>NO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="362"/>
        <source>no changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="363"/>
        <source>Affected services: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="523"/>
        <source>Delete step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="524"/>
        <source>Delete &apos;{name}&apos; from the plan?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="540"/>
        <source>Deploy &apos;{wave}&apos; at {site}?

{count} software CI(s) will be updated:
{names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="544"/>
        <source>…and {n} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="545"/>
        <source>Deploy wave</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="551"/>
        <source>{wave}: {n} CI(s) updated; release is {status}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleaseListModel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="48"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="48"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="49"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="49"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="50"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="50"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51"/>
        <source>Start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51"/>
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
        <location filename="../../itsmdesk/views/releases/preview.py" line="51"/>
        <source>all bundled changes approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="52"/>
        <source>no changes bundled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="53"/>
        <source>{n} of {m} changes NOT approved: deployment is blocked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="57"/>
        <source>Field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="57"/>
        <source>Value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="87"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58"/>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70"/>
        <source>Risk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="60"/>
        <source>Planned window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="61"/>
        <location filename="../../itsmdesk/views/releases/preview.py" line="92"/>
        <source>Release manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="61"/>
        <source>Release team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="62"/>
        <source>Change approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="67"/>
        <source>Factor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="67"/>
        <source>Level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="67"/>
        <source>Why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70"/>
        <source>Change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70"/>
        <source>Approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71"/>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="75"/>
        <source>None</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77"/>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77"/>
        <source>Owner</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77"/>
        <source>Site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77"/>
        <source>Planned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>Actual</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78"/>
        <source>After</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="87"/>
        <source>Item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="87"/>
        <source>Checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="87"/>
        <source>Master CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="92"/>
        <source>Change manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="92"/>
        <source>CAB chair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93"/>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93"/>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93"/>
        <source>Signature</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93"/>
        <source>Date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="103"/>
        <source>Save release plan PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="104"/>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="124"/>
        <source>Release plan {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="127"/>
        <source>Save PDF…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReleasesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="101"/>
        <source>Open releases</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="102"/>
        <source>All releases</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="107"/>
        <source>Search reference, name, version…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="109"/>
        <source>&amp;New release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="194"/>
        <source>Release plan PDF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="195"/>
        <source>Release reference (e.g. REL-000001):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="202"/>
        <source>New &amp;release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="206"/>
        <source>Release &amp;plan PDF…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RunPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="431"/>
        <source>Dry run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="431"/>
        <source>Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="432"/>
        <source>Reads and checks everything; writes nothing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="433"/>
        <source>Writes in one transaction: all rows or, if cancelled, none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="441"/>
        <source>&amp;Cancel import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="454"/>
        <source>Rows that would be rejected (line, column, reason):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="455"/>
        <source>Rejected rows:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="458"/>
        <source>Import the valid rows and save the rejected ones to:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="460"/>
        <source>rejected rows (.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="461"/>
        <source>B&amp;rowse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="490"/>
        <source>Working…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="497"/>
        <source>Save rejected rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="498"/>
        <source>CSV files (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="513"/>
        <source>Reading the file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="514"/>
        <source>Checking rows…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="515"/>
        <source>Writing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="516"/>
        <source>Writing records…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="517"/>
        <source>Updating records…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="518"/>
        <source>Writing history…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="525"/>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="557"/>
        <source>Rejected rows were saved to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="563"/>
        <source>… and {n} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="569"/>
        <source>Nothing was imported: {n} rows are invalid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="571"/>
        <source>{n} rows are invalid: fix the file or the mapping and go back, or import only the valid rows (below).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="574"/>
        <source>Every row is valid. Import writes the following:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="575"/>
        <source>Imported.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="578"/>
        <source>Rows read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="579"/>
        <source>Records to create</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="579"/>
        <source>Records created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="581"/>
        <source>Records to update</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="581"/>
        <source>Records updated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="583"/>
        <source>Unchanged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="584"/>
        <source>Rejected rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="585"/>
        <source>New people</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="586"/>
        <source>New teams</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="587"/>
        <source>New categories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="588"/>
        <source>New CIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="589"/>
        <source>New CI classes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="590"/>
        <source>New sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="591"/>
        <source>New linked problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="592"/>
        <source>New linked changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="593"/>
        <source>History entries</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ServiceDeskActions</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="27"/>
        <source>Sign in as</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="27"/>
        <source>Person</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="37"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="41"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="44"/>
        <source>Notifications</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="37"/>
        <source>Sign in first (Ctrl+Shift+P).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="41"/>
        <source>No unread notifications.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="46"/>
        <source>{n} notifications read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="55"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="59"/>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="71"/>
        <source>Import holidays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="56"/>
        <source>Create a business calendar first (itsmdesk business-calendar create).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="59"/>
        <source>Calendar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="62"/>
        <source>Holidays (.ics)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="63"/>
        <source>iCalendar files (*.ics)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="72"/>
        <source>{added} holidays added, {skipped} already there.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="84"/>
        <source>Escalation check: {f} newly at risk, {b} newly breached</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="106"/>
        <source>Sign in &amp;as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="107"/>
        <source>&amp;Notifications…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="108"/>
        <source>Run SLA &amp;escalation now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="109"/>
        <source>&amp;SLA targets…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="110"/>
        <source>Priority &amp;matrix…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="111"/>
        <source>Import &amp;holidays (.ics)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="112"/>
        <source>&amp;Diagnostic scripts…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialogs</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="34"/>
        <source>SLA targets ({kind})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="36"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="36"/>
        <source>Response (min)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="36"/>
        <source>Resolution (min)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="54"/>
        <source>Escalate at</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="61"/>
        <source>Targets count business minutes on the SLA&apos;s calendar and stop while a ticket is pending.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="85"/>
        <source>Priority matrix</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="87"/>
        <source>Impact \ Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="88"/>
        <source>high</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="88"/>
        <source>medium</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="88"/>
        <source>low</source>
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
    <name>SuggestionsWidget</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="41"/>
        <source>&amp;Link</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="42"/>
        <source>Apply &amp;workaround</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="43"/>
        <source>Open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="51"/>
        <source>Known errors and articles that may match</source>
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
        <location filename="../../itsmdesk/cli.py" line="32"/>
        <source>usage: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="33"/>
        <source>positional arguments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="34"/>
        <source>options</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="35"/>
        <source>show this help message and exit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="36"/>
        <source>show program&apos;s version number and exit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="37"/>
        <source>%(prog)s: error: %(message)s
</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="38"/>
        <source>argument %(argument_name)s: %(message)s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="39"/>
        <source>invalid choice: %(value)r (choose from %(choices)s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="40"/>
        <source>invalid %(type)s value: %(value)r</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="41"/>
        <source>the following arguments are required: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="42"/>
        <source>unrecognized arguments: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="43"/>
        <source>expected one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="44"/>
        <source>expected at least one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="45"/>
        <source>expected at most one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="46"/>
        <source>ambiguous option: %(option)s could match %(matches)s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="47"/>
        <source>not allowed with argument %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="48"/>
        <source>one of the arguments %s is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="49"/>
        <source>can&apos;t open &apos;%(filename)s&apos;: %(error)s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>availability</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="223"/>
        <source>Availability report (PDF)…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>cmdb</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="45"/>
        <source>line {line}, column {column}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="216"/>
        <source>Export CIs as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="217"/>
        <source>{n} CIs written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="218"/>
        <source>Export relations as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="219"/>
        <source>{n} relations written to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="227"/>
        <source>Exporting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="114"/>
        <source>Import CIs/relations from CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="116"/>
        <source>Export CIs as CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="118"/>
        <source>Export relations as CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="120"/>
        <source>CMDB baselines…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="122"/>
        <source>Audit CMDB against a scan…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="124"/>
        <source>New CI</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <location filename="../../itsmdesk/i18n.py" line="87"/>
        <source>Unexpected error: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/messages.py" line="14"/>
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
        <source>A CAB meeting needs a date and time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="20"/>
        <source>A CI cannot relate to itself ({name})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="21"/>
        <source>A CI named &apos;{value}&apos; already exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="22"/>
        <source>A CI needs a class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="23"/>
        <source>A baseline named &apos;{value}&apos; already exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="24"/>
        <source>A baseline needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="25"/>
        <source>A calendar named {name} already exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="26"/>
        <source>A calendar needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="27"/>
        <source>A category is for incidents or for requests, not {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="28"/>
        <source>A category name is at most 200 characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="29"/>
        <source>A category needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="30"/>
        <source>A diagnostic script is a list of steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="31"/>
        <source>A phase cannot sit inside another phase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="32"/>
        <source>A planned window needs a start and an end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="33"/>
        <source>A problem cannot go from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="34"/>
        <source>A queue filter needs a field, an operator and a value: {f}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="35"/>
        <source>A queue needs a name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="36"/>
        <source>A resolution code is required to resolve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="37"/>
        <source>A ticket cannot be its own parent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="38"/>
        <source>A work log note needs some text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="39"/>
        <source>A {role} may not move a change from {source} to {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="40"/>
        <source>A {type} change cannot go from {source} to {target} (allowed: {options})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="41"/>
        <source>An action needs a text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="42"/>
        <source>An announcement cannot end before it starts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="43"/>
        <source>An announcement needs a title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="44"/>
        <source>An in-memory database cannot be backed up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="45"/>
        <source>Answer {m} of step {n} is longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="46"/>
        <source>Answer {m} of step {n} needs a label</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="47"/>
        <source>Approve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="48"/>
        <source>Approve (pre-approved)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="49"/>
        <source>Articles link to CIs, known errors and incidents, not {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="50"/>
        <source>Assess</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="51"/>
        <source>Assignee</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="52"/>
        <source>Attribute {attr} is required for class {cls}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="53"/>
        <source>Attribute {attr}: &apos;{value}&apos; is not a valid {type}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="54"/>
        <source>Attribute {attr}: &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="55"/>
        <source>Availability is computed by ci or service, not {by}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="56"/>
        <source>Backed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="57"/>
        <source>Backup to {path} failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="58"/>
        <source>Bad database URL &apos;{url}&apos;: write postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="59"/>
        <source>Bad database URL &apos;{url}&apos;: write sqlite:///relative.db or sqlite:////absolute.db</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="60"/>
        <source>Bad port in database URL &apos;{url}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="61"/>
        <source>Bad template {template!r}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="62"/>
        <source>Both an incident and a request category are named {name}; say which kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="63"/>
        <source>CI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="64"/>
        <source>Caller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="65"/>
        <source>Cannot create the folder {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="66"/>
        <source>Cannot create {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="67"/>
        <source>Cannot import {kind} with a mapping</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="68"/>
        <source>Cannot read mapping {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="69"/>
        <source>Cannot read {path}: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="70"/>
        <source>Cannot read {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="71"/>
        <source>Cannot sort a queue by {field}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="72"/>
        <source>Cannot sort a queue by {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="73"/>
        <source>Cannot use the PostgreSQL database {db} at {host}:{port}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="74"/>
        <source>Cannot write the database file {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="75"/>
        <source>Cannot write the database file {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="76"/>
        <source>Category</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="77"/>
        <source>Channel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="78"/>
        <source>Class {cls} has no attribute &apos;{attr}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="79"/>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="80"/>
        <source>Defer / reassess</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="81"/>
        <source>Describe the solution to resolve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="82"/>
        <source>Due</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="83"/>
        <source>Export format must be text or html, not {fmt}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="84"/>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="85"/>
        <source>Field(s) {fields} cannot be bulk edited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="86"/>
        <source>Folding an event log needs the column with each row&apos;s time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="87"/>
        <source>Folding an event log needs the key column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="88"/>
        <source>Group by &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="89"/>
        <source>Impact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="90"/>
        <source>Implemented</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="91"/>
        <source>Import cancelled; nothing was written.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="92"/>
        <source>Importing {kind} needs a mapping: add --map MAPPING.toml (ready ones are in resources/import-maps/)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="93"/>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="94"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks comma-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="95"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks pipe-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="96"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks semicolon-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="97"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}). The file looks tab-separated; set delimiter in [source].</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="98"/>
        <source>Line 1: column(s) {missing} named in the mapping are not in the file&apos;s header ({count} columns: {shown}).{hint}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="99"/>
        <source>Line {line}: the file is not {encoding} (byte 0x{byte:02x}); set encoding = &quot;{guess}&quot; or &quot;auto&quot; in the mapping&apos;s [source]</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="100"/>
        <source>Map at least one column to a field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="101"/>
        <source>Mapping {path} is for {mapped}, not {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="102"/>
        <source>Mapping {path} is not valid TOML: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="103"/>
        <source>Mapping {path}: [fields] {field}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="104"/>
        <source>Mapping {path}: importing {kind} needs key = &quot;COLUMN&quot;: the source&apos;s id, kept as external key so that a re-import updates instead of duplicating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="105"/>
        <source>Mapping {path}: {field} is not a field of {kind} (fields: {known})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="106"/>
        <source>Mapping {path}: {where}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="107"/>
        <source>Meeting status &apos;{value}&apos; is not one of: planned, held, cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="108"/>
        <source>No CAB action {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="109"/>
        <source>No CAB meeting {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="110"/>
        <source>No CI is named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="111"/>
        <source>No CI named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="112"/>
        <source>No baseline named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="113"/>
        <source>No business calendar {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="114"/>
        <source>No category named {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="115"/>
        <source>No change with reference &apos;{ref}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="116"/>
        <source>No change {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="117"/>
        <source>No default business calendar: create one named Default or pass --calendar NAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="118"/>
        <source>No incident or request {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="119"/>
        <source>No incident {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="120"/>
        <source>No problem or known error with id {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="121"/>
        <source>No problem {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="122"/>
        <source>No release with reference &apos;{ref}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="123"/>
        <source>No step &apos;{step}&apos; in this release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="124"/>
        <source>No such file: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="125"/>
        <source>No {kind} with id {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="126"/>
        <source>No {kind} {ref}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="127"/>
        <source>Not an iCalendar file: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="128"/>
        <source>Nothing has the reference or name &apos;{ref}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="129"/>
        <source>Opened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="130"/>
        <source>Overriding the risk needs a reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="131"/>
        <source>PIR outcome &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="132"/>
        <source>Page size &apos;{value}&apos; is not one of: A4, Letter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="133"/>
        <source>Pick at least one value for the filter on {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="134"/>
        <source>Priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="135"/>
        <source>Propagation &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="136"/>
        <source>Record the permanent solution (or a workaround) before resolving the problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="137"/>
        <source>Record the root cause before marking it known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="138"/>
        <source>Reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="139"/>
        <source>Reject</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="140"/>
        <source>Relation type &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="141"/>
        <source>Resolved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="142"/>
        <source>Return to requester</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="143"/>
        <source>Rework</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="144"/>
        <source>Risk level &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="145"/>
        <source>SLA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="146"/>
        <source>SLA targets must be positive minutes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="147"/>
        <source>SQLite error on {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="148"/>
        <source>Say why the ticket goes to another team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="149"/>
        <source>Say why the ticket is escalated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="150"/>
        <source>Say why the ticket is pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="151"/>
        <source>Schedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="152"/>
        <source>Select the tickets to change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="153"/>
        <source>Send to CAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="154"/>
        <source>Send to ECAB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="155"/>
        <source>Show at least one column</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="156"/>
        <source>Standard changes are pre-approved and do not go before the CAB: {refs}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="157"/>
        <source>Start implementing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="158"/>
        <source>Start review (PIR)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="159"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="160"/>
        <source>Status &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="161"/>
        <source>Step &apos;{name}&apos; cannot depend on itself</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="162"/>
        <source>Step &apos;{name}&apos; cannot move from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="163"/>
        <source>Step &apos;{name}&apos; waits for: {steps}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="164"/>
        <source>Step {n} is not a question with answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="165"/>
        <source>Step {n} needs a question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="166"/>
        <source>Step {n} needs at least one answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="167"/>
        <source>Step {n}: there is no team {team} to route to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="168"/>
        <source>Steps of different releases cannot depend on each other</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="169"/>
        <source>Submit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="170"/>
        <source>Team</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="171"/>
        <source>Template {name} is not active</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="172"/>
        <source>The business calendar has no working hours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="173"/>
        <source>The diagnostic script routes to an unknown team: {team}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="174"/>
        <source>The escalation share must be 1-100 %, not {pct}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="175"/>
        <source>The file is empty (no header line)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="176"/>
        <source>The filter on {name} needs a value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="177"/>
        <source>The filters cannot be counted: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="178"/>
        <source>The period must end after it starts ({start} .. {end})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="179"/>
        <source>The priority matrix needs a priority 1-5 for impact,urgency {key}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="180"/>
        <source>The question of step {n} is longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="181"/>
        <source>The response target cannot be longer than the resolution target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="182"/>
        <source>There is already a {kind} category named {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="183"/>
        <source>This database has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk. The database was not changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="184"/>
        <source>Title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="185"/>
        <source>Trends are counted by ci, service, category or team, not {by}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="186"/>
        <source>Unknown CI class &apos;{value}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="187"/>
        <source>Unknown CSV kind &apos;{value}&apos; (use cis or relations)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="188"/>
        <source>Unknown announcement kind {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="189"/>
        <source>Unknown field(s) for {kind}: {fields}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="190"/>
        <source>Unknown filter operator {op}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="191"/>
        <source>Unknown queue column(s): {cols}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="192"/>
        <source>Unknown queue {key}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="193"/>
        <source>Unknown record kind &apos;{kind}&apos;; choose one of: {kinds}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="194"/>
        <source>Unknown root cause analysis note(s): {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="195"/>
        <source>Unknown time zone {tz}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="196"/>
        <source>Unschedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="197"/>
        <source>Unsupported database URL &apos;{url}&apos;: use sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="198"/>
        <source>Updated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="199"/>
        <source>Urgency</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="200"/>
        <source>Vote &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="201"/>
        <source>Wave &apos;{name}&apos; has no site</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="202"/>
        <source>Wave &apos;{name}&apos; is already deployed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="203"/>
        <source>Weekday must be 0 (Monday) to 6 (Sunday), not {day}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="204"/>
        <source>Working hours {span} are not HH:MM-HH:MM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="205"/>
        <source>Working hours {span} end before they start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="206"/>
        <source>a CI cannot relate to itself</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="207"/>
        <source>a CI name is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="208"/>
        <source>a class is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="209"/>
        <source>a name is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="210"/>
        <source>ci: {n} CI(s) without a graph index entry; impact analysis cannot see them (repair with: itsmdesk check --repair)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="211"/>
        <source>class {cls} has no attribute &apos;{attr}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="212"/>
        <source>column appears twice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="213"/>
        <source>emergency change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="214"/>
        <source>emergency release: shortened build and test</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="215"/>
        <source>highest risk of the bundled changes ({changes})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="216"/>
        <source>integrity: {detail}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="217"/>
        <source>key {key} again (first on line {first}); an event log needs [events] fold = true</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="218"/>
        <source>line ends after {given} of {columns} columns (truncated line?)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="219"/>
        <source>longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="220"/>
        <source>longer than {max} characters ({length})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="221"/>
        <source>major release</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="222"/>
        <source>no CI named &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="223"/>
        <source>no backout plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="224"/>
        <source>no category {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="225"/>
        <source>no change {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="226"/>
        <source>no ci {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="227"/>
        <source>no ci_class {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="228"/>
        <source>no event time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="229"/>
        <source>no external key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="230"/>
        <source>no incident {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="231"/>
        <source>no known_error {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="232"/>
        <source>no organisation {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="233"/>
        <source>no outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="234"/>
        <source>no outage, downtime {minutes} min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="235"/>
        <source>no person {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="236"/>
        <source>no problem {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="237"/>
        <source>no site {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="238"/>
        <source>no team {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="239"/>
        <source>no {kind} {value} (add create_missing = true to the mapping to create it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="240"/>
        <source>normal change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="241"/>
        <source>pg_dump failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="242"/>
        <source>pg_dump is not installed; install the PostgreSQL client tools</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="243"/>
        <source>relation: {n} relation(s) whose graph index entries differ from their CIs&apos;; impact analysis follows them wrongly (repair with: itsmdesk check --repair)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="244"/>
        <source>required column is missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="245"/>
        <source>rollout in {waves} waves to {sites} sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="246"/>
        <source>rollout to {sites} sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="247"/>
        <source>service outage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="248"/>
        <source>service outage, downtime {minutes} min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="249"/>
        <source>several release factors on top of risky changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="250"/>
        <source>standard change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="251"/>
        <source>the same relation is on line {first}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="252"/>
        <source>unknown CI class &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="253"/>
        <source>unknown column (not a CI field or class attribute)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="254"/>
        <source>unknown column (use source, type, target, redundant, propagates)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="255"/>
        <source>unknown site &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="256"/>
        <source>unknown team &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="257"/>
        <source>unknown value {value} (the map knows: {known})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="258"/>
        <source>{cells} cells but the header has {columns} columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="259"/>
        <source>{cells} cells but {columns} columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="260"/>
        <source>{change} falls in blackout window &apos;{window}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="261"/>
        <source>{change} is outside the maintenance windows of {cis}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="262"/>
        <source>{change} overlaps {other} on {cis}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="263"/>
        <source>{change} overlaps {other}; impact path via {cis}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="264"/>
        <source>{db} already holds records; use another --db, or --force to add demo data anyway</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="265"/>
        <source>{failed} of {finished} earlier change(s) on these CIs failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="266"/>
        <source>{field} is required but empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="267"/>
        <source>{field} is required: map it in [fields]</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="268"/>
        <source>{label} &apos;{value}&apos; is already taken</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="269"/>
        <source>{label} &apos;{value}&apos; is not one of: {allowed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="270"/>
        <source>{label} is longer than {max} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="271"/>
        <source>{label} is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="272"/>
        <source>{label} must be a whole number of at least {min}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="273"/>
        <source>{label}: &apos;{value}&apos; is not a date and time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="274"/>
        <source>{label}: the end ({end}) must come after the start ({start})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="275"/>
        <source>{name} is {size} bytes; attachments may be at most {max} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="276"/>
        <source>{name} must be 1 (high), 2 (medium) or 3 (low)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="277"/>
        <source>{n} business service(s) impacted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="278"/>
        <source>{n} business service(s) impacted: {services}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="279"/>
        <source>{n} business service(s) impacted: {services} and {more} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="280"/>
        <source>{pairs} overlapping change(s), {blackouts} blackout(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="281"/>
        <source>{pairs} overlapping change(s), {blackouts} blackout(s), outside maintenance window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="282"/>
        <source>{path} is a folder, not a database file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="283"/>
        <source>{path} is a folder; give a file name for the backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="284"/>
        <source>{path} is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="285"/>
        <source>{path} is not UTF-8 text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="286"/>
        <source>{path} is not an itsmdesk database or is corrupt ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="287"/>
        <source>{path} is not valid JSON: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="288"/>
        <source>{path}: bad CSV at line {line}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="289"/>
        <source>{person} is not on the CAB for {category}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="290"/>
        <source>{raw} gives {name} {value}, which is not one of: {shown}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="291"/>
        <source>{record} changed while the import ran; nothing was imported. Run the import again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="292"/>
        <source>{record} was changed by {who} at {when} UTC after you opened it (your version {yours}, now {theirs}); nothing was saved.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="293"/>
        <source>{ref} cannot go from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="294"/>
        <source>{ref} has no CAB approval ({detail})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="295"/>
        <source>{ref} has no workaround to apply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="296"/>
        <source>{ref} is not resolved yet; an article needs the resolution</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="297"/>
        <source>{ref} is {status}; a review follows implementation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="298"/>
        <source>{ref} is {status}; only changes not yet started can be rescheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="299"/>
        <source>{ref} needs a planned start before it can be {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="300"/>
        <source>{ref} needs an implementation plan and a backout plan before submission</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="301"/>
        <source>{ref} was not rejected by the CAB ({detail})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="302"/>
        <source>{release} already delivers &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="303"/>
        <source>{release} bundles no change; add the approved changes first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="304"/>
        <source>{release} cannot move from {old} to {new} (allowed: {allowed})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="305"/>
        <source>{release} cannot move to {new}: bundled change(s) not approved: {changes}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="306"/>
        <source>{release} is {status}; waves are deployed once it is approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="307"/>
        <source>{report} needs --{option} REF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="308"/>
        <source>{src} already {type} {tgt}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="309"/>
        <source>{table} row {row}: points at a missing {parent}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="310"/>
        <source>{table}.{column}: {n} row(s) point at a missing {parent}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="311"/>
        <source>{table}: reference {ref} used {n} times</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="312"/>
        <source>{type} change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="313"/>
        <source>{value} is neither true ({true}) nor false ({false})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="314"/>
        <source>{value} is not a number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="315"/>
        <source>{value} is not a number (decimal separator {separator})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="316"/>
        <source>{value} is not a valid {name} (one of: {shown}); add a map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="317"/>
        <source>{value} is not a whole number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="318"/>
        <source>{value} matches none of the date formats {formats}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>knowledge</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="116"/>
        <source>Article from incident</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="117"/>
        <source>Reference of a resolved incident:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="140"/>
        <source>New &amp;article</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="143"/>
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
</context>
<context>
    <name>parent</name>
    <message>
        <location filename="../../itsmdesk/views/forms/common.py" line="27"/>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>problems</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="188"/>
        <source>New &amp;problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="189"/>
        <source>New &amp;known error</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
