<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="sv">
<context>
    <name>AnnouncementsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="40" />
        <source>Add…</source>
        <translation>Lägg till…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="40" />
        <source>Add a manual announcement</source>
        <translation>Lägg till ett manuellt meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="41" />
        <source>Withdraw</source>
        <translation>Dra tillbaka</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="41" />
        <source>Withdraw the selected announcement</source>
        <translation>Dra tillbaka det markerade meddelandet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="42" />
        <source>Copy text</source>
        <translation>Kopiera text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="42" />
        <source>Copy all as plain text for an e-mail</source>
        <translation>Kopiera allt som oformaterad text för ett e-postmeddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44" />
        <source>Copy HTML</source>
        <translation>Kopiera HTML</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44" />
        <source>Copy all as HTML for an e-mail</source>
        <translation>Kopiera allt som HTML för ett e-postmeddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="71" />
        <source>until further notice</source>
        <translation>tills vidare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="72" />
        <source>NOW</source>
        <translation>NU</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="72" />
        <source>upcoming</source>
        <translation>kommande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="75" />
        <source>Services: </source>
        <translation>Tjänster: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="84" />
        <source>No current announcements.</source>
        <translation>Inga aktuella meddelanden.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="102" />
        <location filename="../../itsmdesk/views/announcements/panel.py" line="105" />
        <source>New announcement</source>
        <translation>Nytt meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="102" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="105" />
        <source>Text</source>
        <translation>Text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="129" />
        <source>Announcements copied to the clipboard</source>
        <translation>Meddelandena har kopierats till urklipp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="140" />
        <source>New &amp;announcement…</source>
        <translation>Nytt medd&amp;elande…</translation>
    </message>
</context>
<context>
    <name>ArticleForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="40" />
        <location filename="../../itsmdesk/views/forms/article_form.py" line="174" />
        <source>New article</source>
        <translation>Ny artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="40" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="44" />
        <source>vpn, remote access</source>
        <translation>vpn, fjärråtkomst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="46" />
        <source>Draft</source>
        <translation>Utkast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="46" />
        <source>Published</source>
        <translation>Publicerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="47" />
        <source>Retired</source>
        <translation>Avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="52" />
        <source>Cate&amp;gory</source>
        <translation>Kate&amp;gori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="53" />
        <source>T&amp;ags</source>
        <translation>T&amp;aggar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="55" />
        <source>Stat&amp;us</source>
        <translation>Stat&amp;us</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="62" />
        <source>Write Markdown: # heading, - list, **bold**, `code`</source>
        <translation>Skriv Markdown: # rubrik, - lista, **fetstil**, `kod`</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="76" />
        <source>INC-…, KE-… or a CI name</source>
        <translation>INC-…, KE-… eller ett CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="77" />
        <source>&amp;Add link</source>
        <translation>&amp;Lägg till länk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="78" />
        <source>&amp;Remove</source>
        <translation>Ta &amp;bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="103" />
        <source>&amp;Text</source>
        <translation>&amp;Text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="104" />
        <source>&amp;Links</source>
        <translation>L&amp;änkar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="105" />
        <source>&amp;Versions</source>
        <translation>&amp;Versioner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="108" />
        <source>&amp;Save</source>
        <translation>&amp;Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="151" />
        <source>by {author}, version {version}</source>
        <translation>av {author}, version {version}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="160" />
        <source>v{n} · {at} · {who}
{fields}</source>
        <translation>v{n} · {at} · {who}
{fields}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/article_form.py" line="220" />
        <source>Save the changes to this article?</source>
        <translation>Vill du spara ändringarna i den här artikeln?</translation>
    </message>
</context>
<context>
    <name>AuditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="346" />
        <source>Audit the CMDB against a scan</source>
        <translation>Granska CMDB mot en skanning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="349" />
        <source>Browse…</source>
        <translation>Bläddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="350" />
        <source>Audit</source>
        <translation>Granska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="357" />
        <source>Choose the scan (CSV: name, class, site, … as exported).</source>
        <translation>Välj skanningen (CSV: namn, klass, plats, … som vid export).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="359" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="359" />
        <source>CMDB</source>
        <translation>CMDB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="359" />
        <source>Scan</source>
        <translation>Skanning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="362" />
        <source>Accept scan into the CMDB</source>
        <translation>För in skanningen i CMDB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="374" />
        <source>Scan file</source>
        <translation>Skanningsfil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="386" />
        <source>Unknown (scanned, not in the CMDB)</source>
        <translation>Okända (skannade, finns inte i CMDB)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="387" />
        <source>Missing (in the CMDB, not found)</source>
        <translation>Saknade (finns i CMDB, hittades inte)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="388" />
        <source>Different</source>
        <translation>Avvikande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="389" />
        <source>Bad rows</source>
        <translation>Felaktiga rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="396" />
        <source>{s} scanned: {m} match, {u} unknown, {x} missing, {d} differences</source>
        <translation>{s} skannade: {m} matchar, {u} okända, {x} saknas, {d} avvikelser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="405" />
        <source>Accept scan</source>
        <translation>Godta skanning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="406" />
        <source>Create the unknown CIs and update the different ones from the scan?</source>
        <translation>Vill du skapa de okända CI:na och uppdatera de avvikande utifrån skanningen?</translation>
    </message>
</context>
<context>
    <name>AvailabilityModel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="45" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="45" />
        <source>Failures</source>
        <translation>Fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="45" />
        <source>Downtime (h)</source>
        <translation>Driftstopp (h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46" />
        <source>MTTR (h)</source>
        <translation>MTTR (h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46" />
        <source>MTBF (h)</source>
        <translation>MTBF (h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46" />
        <source>Availability %</source>
        <translation>Tillgänglighet %</translation>
    </message>
</context>
<context>
    <name>AvailabilityPanel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="100" />
        <source>Configuration item</source>
        <translation>Konfigurationsobjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="101" />
        <source>Business service</source>
        <translation>Verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="108" />
        <source>&amp;Compute</source>
        <translation>&amp;Beräkna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="109" />
        <source>Export CS&amp;V…</source>
        <translation>Exportera CS&amp;V…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="110" />
        <source>Export &amp;PDF…</source>
        <translation>Exportera &amp;PDF…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="114" />
        <source>Per</source>
        <translation>Per</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="116" />
        <source>from</source>
        <translation>från</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="118" />
        <source>to</source>
        <translation>till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="140" />
        <source>Most downtime</source>
        <translation>Mest driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="179" />
        <source>{n} with outages · {f} failures · {d} h downtime in {p} h</source>
        <translation>{n} med avbrott · {f} fel · {d} h driftstopp på {p} h</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="194" />
        <source>Export availability</source>
        <translation>Exportera tillgänglighet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="195" />
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="198" />
        <source>{n} rows written to {path}</source>
        <translation>{n} rader skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="203" />
        <source>Availability report</source>
        <translation>Tillgänglighetsrapport</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="204" />
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="210" />
        <source>{pages} page(s) written to {path}</source>
        <translation>{pages} sida/sidor skrivna till {path}</translation>
    </message>
</context>
<context>
    <name>AvailabilityReport</name>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="41" />
        <location filename="../../itsmdesk/reports/availability_report.py" line="106" />
        <source>No outages in this period.</source>
        <translation>Inga avbrott under perioden.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="66" />
        <source>downtime (hours)</source>
        <translation>driftstopp (timmar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="73" />
        <source>Availability per configuration item</source>
        <translation>Tillgänglighet per konfigurationsobjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="75" />
        <source>Availability per business service</source>
        <translation>Tillgänglighet per verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="82" />
        <source>Period</source>
        <translation>Period</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="83" />
        <source>{hours} hours</source>
        <translation>{hours} timmar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="85" />
        <source>Configuration items with outages</source>
        <translation>Konfigurationsobjekt med avbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="86" />
        <source>Business services with outages</source>
        <translation>Verksamhetstjänster med avbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="87" />
        <location filename="../../itsmdesk/reports/availability_report.py" line="97" />
        <source>Failures</source>
        <translation>Fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="88" />
        <source>Total downtime</source>
        <translation>Totalt driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="89" />
        <source>How outages are measured</source>
        <translation>Hur avbrott mäts</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="90" />
        <source>Incidents with impact high or medium; outage start/end when recorded, else opened to resolved; clipped to the period; overlapping outages merged into one failure. MTBF = uptime / failures, MTTR = downtime / failures.</source>
        <translation>Incidenter med påverkan hög eller medel; avbrottets start/slut när de är registrerade, annars från öppnad till löst; begränsat till perioden; överlappande avbrott slås ihop till ett fel. MTBF = drifttid / antal fel, MTTR = driftstopp / antal fel.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="92" />
        <source>Per configuration item</source>
        <translation>Per konfigurationsobjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="93" />
        <source>Per business service</source>
        <translation>Per verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="94" />
        <source>Most downtime</source>
        <translation>Mest driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="96" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="98" />
        <source>Downtime h</source>
        <translation>Driftstopp h</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="99" />
        <source>MTTR h</source>
        <translation>MTTR h</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="100" />
        <source>MTBF h</source>
        <translation>MTBF h</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="101" />
        <source>Availability %</source>
        <translation>Tillgänglighet %</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/availability_report.py" line="110" />
        <source>{n} more rows are in the CSV export (itsmdesk availability --csv FILE).</source>
        <translation>{n} rader till finns i CSV-exporten (itsmdesk availability --csv FIL).</translation>
    </message>
</context>
<context>
    <name>BaselineDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="253" />
        <source>CMDB baselines</source>
        <translation>CMDB-baslinjer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="256" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="256" />
        <source>Taken (UTC)</source>
        <translation>Tagen (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="257" />
        <source>CIs</source>
        <translation>CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="257" />
        <source>Relations</source>
        <translation>Relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="263" />
        <source>Name of a new baseline</source>
        <translation>Namn på en ny baslinje</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="265" />
        <source>All CIs</source>
        <translation>Alla CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="266" />
        <source>Take baseline</source>
        <translation>Ta baslinje</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="267" />
        <source>Compare with now</source>
        <translation>Jämför med nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="275" />
        <source>Difference</source>
        <translation>Skillnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="275" />
        <source>Then</source>
        <translation>Då</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="275" />
        <source>Now</source>
        <translation>Nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="319" />
        <source>CIs added</source>
        <translation>Tillagda CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320" />
        <source>CIs removed</source>
        <translation>Borttagna CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="321" />
        <source>CIs changed</source>
        <translation>Ändrade CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="322" />
        <source>Relations added</source>
        <translation>Tillagda relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="323" />
        <source>Relations removed</source>
        <translation>Borttagna relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="325" />
        <source>Relations changed</source>
        <translation>Ändrade relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="329" />
        <source>No differences</source>
        <translation>Inga skillnader</translation>
    </message>
</context>
<context>
    <name>BulkEditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="29" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="30" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="31" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="32" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="33" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="34" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="35" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="42" />
        <source>Edit {n} tickets</source>
        <translation>Redigera {n} ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="52" />
        <source>Pending reason / solution when needed</source>
        <translation>Orsak till väntan / lösning vid behov</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="55" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="56" />
        <source>New value</source>
        <translation>Nytt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="57" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="63" />
        <source>The change applies to all {n} selected tickets at once and can be undone with Ctrl+Shift+Z.</source>
        <translation>Ändringen gäller alla {n} markerade ärenden på en gång och kan ångras med Ctrl+Shift+Z.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="80" />
        <source>(nobody)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="80" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90" />
        <source>1 high</source>
        <translation>1 hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90" />
        <source>2 medium</source>
        <translation>2 medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90" />
        <source>3 low</source>
        <translation>3 låg</translation>
    </message>
</context>
<context>
    <name>CABMeetingForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="57" />
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="181" />
        <source>New CAB meeting</source>
        <translation>Nytt CAB-möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="62" />
        <source>Weekly CAB</source>
        <translation>Veckovis CAB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="67" />
        <source>Emergency CAB (ECAB)</source>
        <translation>Akut-CAB (ECAB)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="80" />
        <source>&amp;Title</source>
        <translation>&amp;Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="81" />
        <source>&amp;Starts</source>
        <translation>&amp;Börjar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="82" />
        <source>&amp;Location</source>
        <translation>&amp;Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="85" />
        <source>Quorum</source>
        <translation>Kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="87" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="91" />
        <source>&amp;Notes</source>
        <translation>&amp;Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="95" />
        <source>Member</source>
        <translation>Medlem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="95" />
        <source>Present</source>
        <translation>Närvarande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="113" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="114" />
        <source>Quorum outcome</source>
        <translation>Utfall enligt kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="114" />
        <source>Decision / conditions</source>
        <translation>Beslut / villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="122" />
        <source>Build agenda from changes awaiting CAB</source>
        <translation>Skapa dagordning från ändringar som väntar på CAB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="125" />
        <source>Conditions for the selected change</source>
        <translation>Villkor för den markerade ändringen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="126" />
        <source>Record decision</source>
        <translation>Registrera beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="135" />
        <source>Action</source>
        <translation>Åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="135" />
        <source>Owner</source>
        <translation>Ägare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="136" />
        <source>Due</source>
        <translation>Förfaller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="136" />
        <source>Done</source>
        <translation>Klar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="143" />
        <source>New action</source>
        <translation>Ny åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="145" />
        <source>(no owner)</source>
        <translation>(ingen ägare)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="150" />
        <source>Add action</source>
        <translation>Lägg till åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="157" />
        <source>Meeting</source>
        <translation>Möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="158" />
        <source>Attendees</source>
        <translation>Deltagare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="159" />
        <source>Agenda and votes</source>
        <translation>Dagordning och röster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="160" />
        <source>Actions</source>
        <translation>Åtgärder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="163" />
        <source>CAB pack…</source>
        <translation>CAB-underlag…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="165" />
        <source>Minutes…</source>
        <translation>Protokoll…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="167" />
        <source>&amp;Save</source>
        <translation>&amp;Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="249" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/cab_meeting_form.py" line="249" />
        <source>no</source>
        <translation>nej</translation>
    </message>
</context>
<context>
    <name>CIForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="77" />
        <source>Planned</source>
        <translation>Planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="77" />
        <source>In production</source>
        <translation>I produktion</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="78" />
        <source>In maintenance</source>
        <translation>Under underhåll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="78" />
        <source>Retired</source>
        <translation>Avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="79" />
        <source>Low</source>
        <translation>Låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="79" />
        <source>Medium</source>
        <translation>Medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="79" />
        <source>High</source>
        <translation>Hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="80" />
        <source>Critical</source>
        <translation>Kritisk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="81" />
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="359" />
        <source>New CI</source>
        <translation>Nytt CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="103" />
        <source>every dependency needed</source>
        <translation>alla beroenden krävs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="104" />
        <source>Redundancy: the CI stays up while at least this many of its redundant dependencies are up</source>
        <translation>Redundans: CI:t förblir i drift så länge minst så här många av dess redundanta beroenden är i drift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="111" />
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="114" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="118" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="119" />
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="140" />
        <source>Class</source>
        <translation>Klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="120" />
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="168" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="121" />
        <source>Criticality</source>
        <translation>Kritikalitet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="122" />
        <source>Owner team</source>
        <translation>Ägande team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="123" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="124" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="125" />
        <source>Vendor</source>
        <translation>Leverantör</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="126" />
        <source>Serial</source>
        <translation>Serienummer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="127" />
        <source>Members that must stay up</source>
        <translation>Medlemmar som måste vara i drift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="128" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="129" />
        <source>Class attributes</source>
        <translation>Klassattribut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="131" />
        <source>Save (Ctrl+S)</source>
        <translation>Spara (Ctrl+S)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="139" />
        <source>Direction</source>
        <translation>Riktning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="139" />
        <source>Relation</source>
        <translation>Relation</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="139" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="140" />
        <source>Redundant</source>
        <translation>Redundant</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="146" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="148" />
        <source>redundant</source>
        <translation>redundant</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="149" />
        <source>Add</source>
        <translation>Lägg till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="150" />
        <source>Remove selected</source>
        <translation>Ta bort markerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="155" />
        <source>This CI</source>
        <translation>Detta CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="167" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="167" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="167" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="174" />
        <source>When (UTC)</source>
        <translation>När (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="174" />
        <source>Who</source>
        <translation>Vem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="174" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="175" />
        <source>Old</source>
        <translation>Gammalt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="175" />
        <source>New</source>
        <translation>Nytt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="178" />
        <source>Details</source>
        <translation>Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="179" />
        <source>Relations</source>
        <translation>Relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="180" />
        <source>Open records</source>
        <translation>Öppna poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="181" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="182" />
        <source>History</source>
        <translation>Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="230" />
        <source>this CI →</source>
        <translation>detta CI →</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="230" />
        <source>→ this CI</source>
        <translation>→ detta CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="232" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="235" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="235" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="236" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="236" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="240" />
        <source>Relations ({n})</source>
        <translation>Relationer ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="241" />
        <source>Open records ({n})</source>
        <translation>Öppna poster ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="335" />
        <source>Remove relations</source>
        <translation>Ta bort relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="336" />
        <source>Remove {n} relation(s)?</source>
        <translation>Vill du ta bort {n} relation(er)?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="365" />
        <source>Unsaved changes</source>
        <translation>Osparade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/ci_form.py" line="365" />
        <source>Save the changes to {name}?</source>
        <translation>Vill du spara ändringarna i {name}?</translation>
    </message>
</context>
<context>
    <name>CabMinutes</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="28" />
        <source>{approve} for, {reject} against, {abstain} abstain</source>
        <translation>{approve} för, {reject} emot, {abstain} avstår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="34" />
        <source>no quorum: {votes} of {quorum} votes</source>
        <translation>ej beslutsmässigt: {votes} av {quorum} röster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="36" />
        <source>{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}</source>
        <translation>{approve} för, {reject} emot, {abstain} avstår; kvorum {quorum}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="45" />
        <source>Emergency CAB minutes: {title}</source>
        <translation>Protokoll akut-CAB: {title}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="46" />
        <source>CAB minutes: {title}</source>
        <translation>CAB-protokoll: {title}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="49" />
        <source>Meeting</source>
        <translation>Möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="50" />
        <source>Date (UTC)</source>
        <translation>Datum (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="52" />
        <source>Location</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="53" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="54" />
        <source>Chair</source>
        <translation>Ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="55" />
        <source>Present</source>
        <translation>Närvarande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="56" />
        <source>Apologies</source>
        <translation>Anmält förhinder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="57" />
        <source>Quorum</source>
        <translation>Kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="60" />
        <source>Notes</source>
        <translation>Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="62" />
        <source>Decisions</source>
        <translation>Beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="63" />
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="102" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="63" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="64" />
        <source>Votes</source>
        <translation>Röster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="64" />
        <source>Decision</source>
        <translation>Beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="65" />
        <source>Conditions</source>
        <translation>Villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="75" />
        <source>No changes were discussed</source>
        <translation>Inga ändringar behandlades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="82" />
        <source>{type} change · planned {start} – {end} UTC · now {status}</source>
        <translation>Ändring ({type}) · planerad {start} – {end} UTC · nu {status}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="86" />
        <source>Member</source>
        <translation>Medlem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="86" />
        <source>Vote</source>
        <translation>Röst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="87" />
        <source>Comment</source>
        <translation>Kommentar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="91" />
        <source>no votes recorded</source>
        <translation>inga röster registrerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="94" />
        <source>&lt;b&gt;Decision:&lt;/b&gt; {decision} &lt;font color='#6b7280'&gt;(quorum rule: {rule})&lt;/font&gt;</source>
        <translation>&lt;b&gt;Beslut:&lt;/b&gt; {decision} &lt;font color='#6b7280'&gt;(kvorumregel: {rule})&lt;/font&gt;</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="98" />
        <source>&lt;b&gt;Conditions:&lt;/b&gt; {conditions}</source>
        <translation>&lt;b&gt;Villkor:&lt;/b&gt; {conditions}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="101" />
        <source>Actions</source>
        <translation>Åtgärder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="102" />
        <source>Action</source>
        <translation>Åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="103" />
        <source>Owner</source>
        <translation>Ansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="103" />
        <source>Due</source>
        <translation>Senast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="104" />
        <source>Done</source>
        <translation>Klar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="111" />
        <source>No actions</source>
        <translation>Inga åtgärder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="126" />
        <source>CAB minutes {ref}</source>
        <translation>CAB-protokoll {ref}</translation>
    </message>
</context>
<context>
    <name>CabPack</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="72" />
        <source>Emergency CAB pack</source>
        <translation>Underlag för akut-CAB (ECAB)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="73" />
        <source>Change Advisory Board pack</source>
        <translation>Underlag för Change Advisory Board</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="79" />
        <source>Chair</source>
        <translation>Ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="80" />
        <source>Invited</source>
        <translation>Inbjudna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="82" />
        <source>Quorum</source>
        <translation>Kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="83" />
        <source>Changes on the agenda</source>
        <translation>Ändringar på dagordningen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="84" />
        <source>Forward schedule</source>
        <translation>Ändringsschema</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="85" />
        <source>{n} change(s) in the next 28 days</source>
        <translation>{n} ändring(ar) de kommande 28 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="89" />
        <source>Contents</source>
        <translation>Innehåll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="93" />
        <source>Agenda</source>
        <translation>Dagordning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="94" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="112" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="95" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="112" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="95" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="96" />
        <source>Planned start</source>
        <translation>Planerad start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="97" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="114" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="147" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="103" />
        <source>No changes on the agenda</source>
        <translation>Inga ändringar på dagordningen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="107" />
        <source>Forward schedule of change</source>
        <translation>Schema för kommande ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="109" />
        <source>Approved, scheduled and in-progress changes from {date} for 28 days.</source>
        <translation>Godkända, schemalagda och pågående ändringar under 28 dagar från {date}.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="113" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="133" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="113" />
        <source>Start</source>
        <translation>Start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="114" />
        <source>End</source>
        <translation>Slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="119" />
        <source>Nothing scheduled</source>
        <translation>Inget schemalagt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="128" />
        <source>none</source>
        <translation>inget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="130" />
        <source>(service outage)</source>
        <translation>(tjänsteavbrott)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="132" />
        <source>Type / category</source>
        <translation>Typ / kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="134" />
        <source>Planned window (UTC)</source>
        <translation>Planerat fönster (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="136" />
        <source>Downtime</source>
        <translation>Driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="137" />
        <source>Requester / team</source>
        <translation>Beställare / team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="139" />
        <source>Implementer</source>
        <translation>Genomförare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="141" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="142" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="148" />
        <source>Level {level}, computed score {score} ({computed})</source>
        <translation>Nivå {level}, beräknad poäng {score} ({computed})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="151" />
        <source>; overridden: {reason}</source>
        <translation>; åsidosatt: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="154" />
        <source>Factor</source>
        <translation>Faktor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="154" />
        <source>Points</source>
        <translation>Poäng</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="155" />
        <source>Weight</source>
        <translation>Vikt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="155" />
        <source>Why</source>
        <translation>Varför</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="159" />
        <source>Impacted services</source>
        <translation>Påverkade tjänster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="161" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="162" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="171" />
        <source>Criticality</source>
        <translation>Kritikalitet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="166" />
        <source>No business service impacted.</source>
        <translation>Ingen verksamhetstjänst påverkas.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="167" />
        <source>Affected CIs</source>
        <translation>Berörda CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="169" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="170" />
        <source>Class</source>
        <translation>Klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="175" />
        <source>No CI recorded.</source>
        <translation>Inga CI:n registrerade.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="176" />
        <source>Implementation plan</source>
        <translation>Implementeringsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="177" />
        <source>Backout plan</source>
        <translation>Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="178" />
        <source>Test plan</source>
        <translation>Testplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="180" />
        <source>Conflicts</source>
        <translation>Konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="182" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="183" />
        <source>With</source>
        <translation>Med</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="184" />
        <source>When (UTC)</source>
        <translation>När (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="185" />
        <source>Detail</source>
        <translation>Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="192" />
        <source>No conflicts.</source>
        <translation>Inga konflikter.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="205" />
        <source>CAB pack {ref}</source>
        <translation>CAB-underlag {ref}</translation>
    </message>
</context>
<context>
    <name>CabPrinting</name>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="60" />
        <source>Save PDF</source>
        <translation>Spara PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="61" />
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="71" />
        <source>%s written (%s pages)</source>
        <translation>%s skriven (%s sidor)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="86" />
        <source>Print preview: %s</source>
        <translation>Förhandsgranskning: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="99" />
        <source>CAB</source>
        <translation>CAB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="99" />
        <source>There are no CAB meetings yet.</source>
        <translation>Det finns inga CAB-möten ännu.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="102" />
        <source>CAB meeting</source>
        <translation>CAB-möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/printing.py" line="102" />
        <source>Meeting:</source>
        <translation>Möte:</translation>
    </message>
</context>
<context>
    <name>CalendarCanvas</name>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="203" />
        <source>+%n more</source>
        <translation>
            <numerusform>+%n till</numerusform>
            <numerusform>+%n till</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="283" />
        <source>Releases</source>
        <translation>Releaser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="285" />
        <source>(no service)</source>
        <translation>(ingen tjänst)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="287" />
        <source>(no CI)</source>
        <translation>(inget CI)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="449" />
        <source>Conflicts with other changes or windows</source>
        <translation>Krockar med andra ändringar eller fönster</translation>
    </message>
</context>
<context>
    <name>CalendarExport</name>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="37" />
        <source>Risk: {level}</source>
        <translation>Risk: {level}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="39" />
        <source>(score {score})</source>
        <translation>(poäng {score})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="42" />
        <source>; overridden: {reason}</source>
        <translation>; åsidosatt: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="44" />
        <source>none</source>
        <translation>inga</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="46" />
        <source>Type: {type}   Status: {status}</source>
        <translation>Typ: {type}   Status: {status}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="48" />
        <source>Services: {names}</source>
        <translation>Tjänster: {names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="50" />
        <source>CIs: {names}</source>
        <translation>CI:n: {names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="54" />
        <source>Downtime: {start} - {end} UTC</source>
        <translation>Driftstopp: {start} - {end} UTC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="56" />
        <source>Downtime from {start} UTC</source>
        <translation>Driftstopp från {start} UTC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="57" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="58" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="59" />
        <source>Implementation plan</source>
        <translation>Implementeringsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="61" />
        <source>Backout plan</source>
        <translation>Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="62" />
        <source>Test plan</source>
        <translation>Testplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/ical.py" line="78" />
        <source>Forward schedule of change</source>
        <translation>Schema för kommande ändringar</translation>
    </message>
</context>
<context>
    <name>CalendarPanel</name>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="50" />
        <source>Reschedule %s</source>
        <translation>Planera om %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="93" />
        <source>Month</source>
        <translation>Månad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="93" />
        <source>Week</source>
        <translation>Vecka</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="93" />
        <source>Day</source>
        <translation>Dag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="94" />
        <source>Timeline</source>
        <translation>Tidslinje</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="97" />
        <source>Rows per CI</source>
        <translation>Rader per CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="98" />
        <source>Rows per service</source>
        <translation>Rader per tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="102" />
        <source>All statuses</source>
        <translation>Alla statusar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="120" />
        <source>Previous</source>
        <translation>Föregående</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="121" />
        <source>Today</source>
        <translation>Idag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="121" />
        <source>Go to today</source>
        <translation>Gå till idag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="122" />
        <source>Next</source>
        <translation>Nästa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="123" />
        <source>Undo</source>
        <translation>Ångra</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="123" />
        <source>Undo the last reschedule</source>
        <translation>Ångra den senaste omplaneringen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="125" />
        <source>Redo</source>
        <translation>Gör om</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="130" />
        <source>Export .ics…</source>
        <translation>Exportera .ics…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="130" />
        <source>Export this range as iCalendar</source>
        <translation>Exportera det här intervallet som iCalendar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="151" />
        <source>Conflicts</source>
        <translation>Konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="154" />
        <source>Fill: status · left stripe: risk · red outline: conflict · red shade: blackout · green: maintenance window</source>
        <translation>Fyllning: status · vänster rand: risk · röd kontur: konflikt · röd skuggning: frysperiod · grön: underhållsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="186" />
        <source>All teams</source>
        <translation>Alla team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="187" />
        <source>All services</source>
        <translation>Alla tjänster</translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/panel.py" line="236" />
        <source>Conflicts (%n)</source>
        <translation>
            <numerusform>Konflikter (%n)</numerusform>
            <numerusform>Konflikter (%n)</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="285" />
        <source>%s moved to %s</source>
        <translation>%s flyttad till %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="299" />
        <source>Export change calendar</source>
        <translation>Exportera ändringskalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="300" />
        <source>iCalendar (*.ics)</source>
        <translation>iCalendar (*.ics)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="310" />
        <source>%s written (%s changes)</source>
        <translation>%s skriven (%s ändringar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="320" />
        <source>Export change calendar (.ics)…</source>
        <translation>Exportera ändringskalender (.ics)…</translation>
    </message>
</context>
<context>
    <name>ChangeForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="113" />
        <source>new (draft)</source>
        <translation>ny (utkast)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="131" />
        <source>(no team)</source>
        <translation>(inget team)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="146" />
        <source>Downtime window</source>
        <translation>Driftstoppsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="152" />
        <source>Service outage</source>
        <translation>Tjänsteavbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="162" />
        <source>&amp;Title</source>
        <translation>&amp;Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="165" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="168" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="184" />
        <source>Downtime</source>
        <translation>Driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="186" />
        <source>&amp;Reason</source>
        <translation>&amp;Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="187" />
        <source>&amp;Description</source>
        <translation>&amp;Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="171" />
        <source>People</source>
        <translation>Personer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="167" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="177" />
        <source>Planned window</source>
        <translation>Planerat fönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="191" />
        <source>&amp;Implementation plan</source>
        <translation>&amp;Implementeringsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="192" />
        <source>&amp;Backout plan</source>
        <translation>&amp;Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="193" />
        <source>Te&amp;st plan</source>
        <translation>&amp;Testplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="197" />
        <source>Drop CIs here from the CMDB tree, or add one by name.</source>
        <translation>Dra hit CI:n från CMDB-trädet eller lägg till ett via namn.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="204" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="206" />
        <source>Add</source>
        <translation>Lägg till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="208" />
        <source>Remove selected</source>
        <translation>Ta bort markerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="221" />
        <source>Factor</source>
        <translation>Faktor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="221" />
        <source>Points</source>
        <translation>Poäng</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="222" />
        <source>Weight</source>
        <translation>Vikt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="222" />
        <source>Why</source>
        <translation>Varför</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="227" />
        <source>Assess risk</source>
        <translation>Bedöm risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="230" />
        <source>Override</source>
        <translation>Åsidosätt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="233" />
        <source>(computed)</source>
        <translation>(beräknad)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="237" />
        <source>Reason (required)</source>
        <translation>Orsak (obligatorisk)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="238" />
        <source>Apply override</source>
        <translation>Tillämpa åsidosättning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="244" />
        <source>Conflicts</source>
        <translation>Konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="253" />
        <source>(not reviewed)</source>
        <translation>(ej granskad)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="257" />
        <source>Record review</source>
        <translation>Registrera granskning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="259" />
        <source>Outcome</source>
        <translation>Utfall</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="260" />
        <source>Lessons</source>
        <translation>Lärdomar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="261" />
        <source>Incidents caused</source>
        <translation>Orsakade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="265" />
        <source>Details</source>
        <translation>Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="266" />
        <source>Plans</source>
        <translation>Planer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="267" />
        <source>Affected CIs</source>
        <translation>Berörda CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="268" />
        <source>Risk and conflicts</source>
        <translation>Risk och konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="269" />
        <source>Review (PIR)</source>
        <translation>Granskning (PIR)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="272" />
        <source>&amp;Save</source>
        <translation>&amp;Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="297" />
        <source>New change</source>
        <translation>Ny ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="306" />
        <source>Status: %s</source>
        <translation>Status: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="329" />
        <source>Requester: %s · Implementer: %s</source>
        <translation>Beställare: %s · Genomförare: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="354" />
        <source>Risk not assessed yet.</source>
        <translation>Risken är inte bedömd ännu.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="356" />
        <source>Risk: %s (score %s)</source>
        <translation>Risk: %s (poäng %s)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/change_form.py" line="359" />
        <source>overridden from %s: %s</source>
        <translation>åsidosatt från %s: %s</translation>
    </message>
</context>
<context>
    <name>ChangesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="49" />
        <source>Search reference or title</source>
        <translation>Sök referens eller rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="51" />
        <source>All statuses</source>
        <translation>Alla statusar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="56" />
        <source>More</source>
        <translation>Mer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="58" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="61" />
        <source>Ref</source>
        <translation>Ref</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="58" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="61" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="58" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="59" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="59" />
        <source>Planned start</source>
        <translation>Planerad start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="59" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="62" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="61" />
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="81" />
        <source>Changes</source>
        <translation>Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="82" />
        <source>CAB meetings</source>
        <translation>CAB-möten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="83" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="111" />
        <source>Success rate</source>
        <translation>Andel lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="99" />
        <source>By month</source>
        <translation>Per månad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="99" />
        <source>By type</source>
        <translation>Per typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="100" />
        <source>By team</source>
        <translation>Per team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="103" />
        <source>Export CSV…</source>
        <translation>Exportera CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="109" />
        <source>Group</source>
        <translation>Grupp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="109" />
        <source>Finished</source>
        <translation>Avslutade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="109" />
        <source>Successful</source>
        <translation>Lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="110" />
        <source>Failed / backed out</source>
        <translation>Misslyckade / återställda</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="110" />
        <source>Incidents caused</source>
        <translation>Orsakade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="142" />
        <source>Export success rate</source>
        <translation>Exportera andel lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="143" />
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="228" />
        <source>Standard change</source>
        <translation>Standardändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="228" />
        <source>Template:</source>
        <translation>Mall:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="269" />
        <source>New change</source>
        <translation>Ny ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="270" />
        <source>New standard change from template…</source>
        <translation>Ny standardändring från mall…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="271" />
        <source>New CAB meeting</source>
        <translation>Nytt CAB-möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="273" />
        <source>CAB pack (PDF, print preview)…</source>
        <translation>CAB-underlag (PDF, förhandsgranskning)…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="275" />
        <source>CAB minutes (PDF, print preview)…</source>
        <translation>CAB-protokoll (PDF, förhandsgranskning)…</translation>
    </message>
</context>
<context>
    <name>Cli</name>
    <message>
        <location filename="../../itsmdesk/cli.py" line="65" />
        <source>itsmdesk: IT service support (incidents, problems, CMDB, changes, releases).</source>
        <translation>itsmdesk: IT-servicestöd (incidenter, problem, CMDB, ändringar, releaser).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="67" />
        <source>With no command, the desktop application starts.</source>
        <translation>Utan kommando startar skrivbordsprogrammet.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="70" />
        <source>sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/DB (default: $ITSMDESK_DB, else a file in your data folder)</source>
        <translation>sqlite:///FIL eller postgresql://ANVÄNDARE:LÖSEN@VÄRD:PORT/DB (standard: $ITSMDESK_DB, annars en fil i din datamapp)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="73" />
        <source>start the GUI on a demo database (created on first use)</source>
        <translation>starta det grafiska gränssnittet med en demodatabas (skapas första gången)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="117" />
        <location filename="../../itsmdesk/cli.py" line="129" />
        <source>itsmdesk: error: {message}</source>
        <translation>itsmdesk: fel: {message}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="121" />
        <source>itsmdesk: interrupted</source>
        <translation>itsmdesk: avbrutet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="131" />
        <source>(set ITSMDESK_DEBUG=1 for details)</source>
        <translation>(sätt ITSMDESK_DEBUG=1 för detaljer)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="22" />
        <source>AFTER</source>
        <translation>EFTER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="23" />
        <source>APPROVED</source>
        <translation>GODKÄND</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="24" />
        <source>AT</source>
        <translation>TIDPUNKT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="25" />
        <source>AVAILABILITY_PCT</source>
        <translation>TILLGÄNGLIGHET_PROCENT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="26" />
        <source>CATEGORY</source>
        <translation>KATEGORI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="27" />
        <source>CAUSED_INCIDENTS</source>
        <translation>ORSAKADE_INCIDENTER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="28" />
        <source>CHANGE</source>
        <translation>ÄNDRING</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="29" />
        <source>CHANGE_PCT</source>
        <translation>FÖRÄNDRING_PROCENT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="30" />
        <source>CHECKSUM</source>
        <translation>KONTROLLSUMMA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="31" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="32" />
        <source>CIS</source>
        <translation>CI:N</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="33" />
        <source>CLASS_LABEL</source>
        <translation>KLASS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="34" />
        <source>COUNT</source>
        <translation>ANTAL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="35" />
        <source>CRITICALITY</source>
        <translation>KRITIKALITET</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="36" />
        <source>DELTA</source>
        <translation>DIFFERENS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="37" />
        <source>DEPTH</source>
        <translation>DJUP</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="38" />
        <source>DETAIL</source>
        <translation>DETALJ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="39" />
        <source>DOWNTIME_H</source>
        <translation>DRIFTSTOPP_H</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="40" />
        <source>END</source>
        <translation>SLUT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="41" />
        <source>ESCALATE_PCT</source>
        <translation>ESKALERA_PROCENT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="42" />
        <source>FACTOR</source>
        <translation>FAKTOR</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="43" />
        <source>FAILED</source>
        <translation>MISSLYCKADE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="44" />
        <source>FAILURES</source>
        <translation>FEL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="45" />
        <source>FIELD</source>
        <translation>FÄLT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="46" />
        <source>FINISHED</source>
        <translation>AVSLUTADE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="47" />
        <source>FROM</source>
        <translation>FRÅN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="48" />
        <source>INCIDENTS</source>
        <translation>INCIDENTER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="49" />
        <source>ITEM</source>
        <translation>OBJEKT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="50" />
        <source>KEY</source>
        <translation>NYCKEL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="51" />
        <source>KIND</source>
        <translation>TYP</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="52" />
        <source>MTBF_H</source>
        <translation>MTBF_H</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="53" />
        <source>MTTR_H</source>
        <translation>MTTR_H</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="54" />
        <source>NAME</source>
        <translation>NAMN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="55" />
        <source>NEW</source>
        <translation>NYTT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="56" />
        <source>OLD</source>
        <translation>GAMMALT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="57" />
        <source>ON</source>
        <translation>GÄLLER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="58" />
        <source>OTHER</source>
        <translation>ANNAN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="59" />
        <source>OWNER</source>
        <translation>ÄGARE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="60" />
        <source>POINTS</source>
        <translation>POÄNG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="61" />
        <source>PREVIOUS</source>
        <translation>FÖREGÅENDE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="62" />
        <source>PRIORITY</source>
        <translation>PRIORITET</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="63" />
        <source>RANK</source>
        <translation>RANG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="64" />
        <source>RATE</source>
        <translation>ANDEL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="65" />
        <source>REF</source>
        <translation>REF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="66" />
        <source>REFS</source>
        <translation>REFERENSER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="67" />
        <source>RELATION</source>
        <translation>RELATION</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="68" />
        <source>RELATIONS</source>
        <translation>RELATIONER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="69" />
        <source>RESOLUTION_MIN</source>
        <translation>LÖSNING_MIN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="70" />
        <source>RESPONSE_MIN</source>
        <translation>SVAR_MIN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="71" />
        <source>RISK</source>
        <translation>RISK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="72" />
        <source>SCOPE</source>
        <translation>OMFATTNING</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="73" />
        <source>SITE</source>
        <translation>PLATS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="74" />
        <source>SLA_STATE</source>
        <translation>SLA_LÄGE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="75" />
        <source>START</source>
        <translation>START</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="76" />
        <source>STATUS</source>
        <translation>STATUS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="77" />
        <source>STEP</source>
        <translation>STEG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="78" />
        <source>STEPS</source>
        <translation>STEG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="79" />
        <source>SUCCESSFUL</source>
        <translation>LYCKADE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="80" />
        <source>SUGGESTED_TITLE</source>
        <translation>FÖRESLAGEN_RUBRIK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="81" />
        <source>TAKEN_AT</source>
        <translation>TAGEN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="82" />
        <source>TITLE</source>
        <translation>RUBRIK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="83" />
        <source>TO</source>
        <translation>TILL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="84" />
        <source>VERSION</source>
        <translation>VERSION</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="85" />
        <source>VIA</source>
        <translation>VIA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="86" />
        <source>WEIGHT</source>
        <translation>VIKT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="87" />
        <source>WHO</source>
        <translation>VEM</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="88" />
        <source>WHY</source>
        <translation>VARFÖR</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="125" />
        <source>(none)</source>
        <translation>(inga)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="144" />
        <source>would create {n}</source>
        <translation>skulle skapa {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="146" />
        <source>create {n}</source>
        <translation>skapa {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="148" />
        <source>nothing written; create {n}</source>
        <translation>inget skrivet; skapa {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="149" />
        <source>{kind}: {n} rows read</source>
        <translation>{kind}: {n} rader lästa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="151" />
        <source>update {n}</source>
        <translation>uppdatera {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="152" />
        <source>unchanged {n}</source>
        <translation>oförändrade {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="153" />
        <source>rejected {n}</source>
        <translation>avvisade {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="156" />
        <source>journal_rows {n}</source>
        <translation>journalrader {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="168" />
        <source>line {line}, column {column}: {reason}</source>
        <translation>rad {line}, kolumn {column}: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="14" />
        <source>ticket categories and their diagnostic scripts</source>
        <translation>ärendekategorier och deras diagnosskript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="16" />
        <source>categories with the number of script steps</source>
        <translation>kategorier med antalet skriptsteg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="20" />
        <source>a category's diagnostic script (JSON)</source>
        <translation>en kategoris diagnosskript (JSON)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="22" />
        <source>print the script as JSON</source>
        <translation>skriv ut skriptet som JSON</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="26" />
        <source>replace the script from a JSON file: [{"question": ..., "answers": [{"label": ..., "route_team": ...}]}] (route_team: a team id or name; [] removes the script)</source>
        <translation>ersätt skriptet från en JSON-fil: [{"question": ..., "answers": [{"label": ..., "route_team": ...}]}] (route_team: ett teams id eller namn; [] tar bort skriptet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/categories.py" line="68" />
        <source>{n} steps saved for {kind} category {name}</source>
        <translation>{n} steg sparade för {kind}-kategorin {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="34" />
        <source>change management: conflicts, transitions, success rate</source>
        <translation>ändringshantering: konflikter, statusbyten, andel lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="37" />
        <source>conflicting changes and window violations</source>
        <translation>ändringar i konflikt och brott mot ändringsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="40" />
        <source>skip impact-path conflicts</source>
        <translation>hoppa över konflikter via påverkansvägar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="44" />
        <source>move a change to another status</source>
        <translation>flytta en ändring till en annan status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="51" />
        <source>change success rate per type, team or month</source>
        <translation>andel lyckade ändringar per typ, team eller månad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="58" />
        <source>assess a change's risk and show its factors</source>
        <translation>bedöm en ändrings risk och visa dess faktorer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="63" />
        <location filename="../../itsmdesk/commands/changes.py" line="69" />
        <source>forward schedule of change as .ics</source>
        <translation>schema för kommande ändringar som .ics</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="66" />
        <source>change calendar: export</source>
        <translation>ändringskalender: export</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="138" />
        <source>{ref}: risk {level} (score {score})</source>
        <translation>{ref}: risk {level} (poäng {score})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="157" />
        <source>{path} written ({n} changes)</source>
        <translation>{path} skriven ({n} ändringar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="19" />
        <source>what fails if a CI fails (down) or what it needs (up)</source>
        <translation>vad som slutar fungera om ett CI fallerar (down) eller vad det behöver (up)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="20" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="23" />
        <source>relation steps (default: no limit)</source>
        <translation>antal relationssteg (standard: ingen gräns)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="25" />
        <source>treat every relation as a single point of failure</source>
        <translation>behandla varje relation som en enskild felpunkt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="26" />
        <source>only the business services</source>
        <translation>bara verksamhetstjänsterna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="30" />
        <source>CMDB baselines: take, list, compare with now</source>
        <translation>CMDB-baslinjer: ta, lista, jämför med nuläget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="32" />
        <source>snapshot CIs and relations under a name</source>
        <translation>ögonblicksbild av CI:n och relationer under ett namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="35" />
        <source>only CIs of this class</source>
        <translation>bara CI:n av denna klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="36" />
        <source>only CIs at this site (code)</source>
        <translation>bara CI:n på denna plats (kod)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="37" />
        <source>a business service and everything it needs</source>
        <translation>en verksamhetstjänst och allt den behöver</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="39" />
        <source>list baselines</source>
        <translation>lista baslinjer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="42" />
        <source>compare a baseline with the CMDB now</source>
        <translation>jämför en baslinje med CMDB:n nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="47" />
        <source>compare the CMDB with a discovered list (CSV)</source>
        <translation>jämför CMDB:n med en inventerad lista (CSV)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="50" />
        <source>apply the scan: create unknown CIs and update different ones</source>
        <translation>tillämpa skanningen: skapa okända CI:n och uppdatera avvikande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="76" />
        <source>{n} CIs ({services} business services)</source>
        <translation>{n} CI:n ({services} verksamhetstjänster)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="88" />
        <source>baseline '{name}' taken: {n} items</source>
        <translation>baslinjen '{name}' tagen: {n} poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="98" />
        <source>all</source>
        <translation>alla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="115" />
        <source>baseline '{name}' ({at} UTC) against now:</source>
        <translation>baslinjen '{name}' ({at} UTC) jämfört med nu:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="118" />
        <source>no differences</source>
        <translation>inga skillnader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="120" />
        <source>+ CI {name}</source>
        <translation>+ CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="122" />
        <source>- CI {name}</source>
        <translation>- CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="124" />
        <source>~ CI {name}: {field} {old} -&gt; {new}</source>
        <translation>~ CI {name}: {field} {old} -&gt; {new}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="127" />
        <source>+ relation {name}</source>
        <translation>+ relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="129" />
        <source>- relation {name}</source>
        <translation>- relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="131" />
        <source>~ relation {name}: {field} {old} -&gt; {new}</source>
        <translation>~ relation {name}: {field} {old} -&gt; {new}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="148" />
        <source>bad row: {error}</source>
        <translation>felaktig rad: {error}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="150" />
        <source>unknown  {name}</source>
        <translation>okänt    {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="152" />
        <source>missing  {name}</source>
        <translation>saknas   {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="154" />
        <source>differs  {name}: {field} CMDB {cmdb}, scan {scan}</source>
        <translation>avviker  {name}: {field} CMDB {cmdb}, skanning {scan}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="156" />
        <source>{scanned} scanned: {matching} match, {unknown} unknown, {missing} missing, {different} differences</source>
        <translation>{scanned} skannade: {matching} stämmer, {unknown} okända, {missing} saknas, {different} avvikelser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="14" />
        <source>create the database or upgrade its schema</source>
        <translation>skapa databasen eller uppgradera dess schema</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="17" />
        <source>fill the database with deterministic demo data</source>
        <translation>fyll databasen med deterministiska demodata</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="21" />
        <source>add demo data even though the database already holds records</source>
        <translation>lägg till demodata trots att databasen redan innehåller poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="24" />
        <source>print counts per record kind as JSON</source>
        <translation>skriv ut antal per posttyp som JSON</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="27" />
        <source>write a consistent copy of the database to FILE</source>
        <translation>skriv en konsistent kopia av databasen till FILE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="31" />
        <source>check the file, the references between records and the CMDB graph index</source>
        <translation>kontrollera filen, referenserna mellan poster och CMDB:ns grafindex</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="34" />
        <source>first put the CMDB graph index right (it is derived from the CIs and relations; nothing else changes)</source>
        <translation>rätta först CMDB:ns grafindex (det härleds från CI:erna och relationerna; inget annat ändras)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="40" />
        <source>list records of one kind</source>
        <translation>lista poster av en typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="42" />
        <source>one of: {kinds}</source>
        <translation>en av: {kinds}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="48" />
        <source>who changed what on a record (by reference or CI name)</source>
        <translation>vem som ändrade vad på en post (efter referens eller CI-namn)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="64" />
        <source>created {db} at schema {version}</source>
        <translation>skapade {db} med schema {version}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="67" />
        <source>{db} is up to date (schema {version})</source>
        <translation>{db} är aktuell (schema {version})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="70" />
        <source>upgraded {db} from schema {old} to {new}</source>
        <translation>uppgraderade {db} från schema {old} till {new}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="85" />
        <source>demo data ({size}, seed {seed}) written to {db} in {seconds} s</source>
        <translation>demodata ({size}, frö {seed}) skrivna till {db} på {seconds} s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="104" />
        <source>backup of {db} written to {path}</source>
        <translation>säkerhetskopia av {db} skriven till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="117" />
        <source>CMDB graph index repaired ({cis} CI(s), {relations} relation(s) still wrong)</source>
        <translation>CMDB:ns grafindex reparerat ({cis} CI, {relations} relation(er) fortfarande fel)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="124" />
        <source>{n} problem(s) found in {db}</source>
        <translation>{n} fel hittade i {db}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="128" />
        <source>{db}: OK</source>
        <translation>{db}: OK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="171" />
        <source>creating the demo database ...</source>
        <translation>skapar demodatabasen ...</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/exporting.py" line="12" />
        <source>export CIs or relations as CSV</source>
        <translation>exportera CI:n eller relationer som CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/exporting.py" line="23" />
        <source>{n} cis written to {path}</source>
        <translation>{n} CI:n skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/exporting.py" line="25" />
        <source>{n} relations written to {path}</source>
        <translation>{n} relationer skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="23" />
        <source>import records from a CSV file</source>
        <translation>importera poster från en CSV-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="27" />
        <source>mapping for another tool's export (see README)</source>
        <translation>mappning för ett annat verktygs export (se README)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="29" />
        <source>show what would change; write nothing</source>
        <translation>torrkörning: visa vad som skulle ändras; skriv inget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="31" />
        <source>import the good rows and write the bad ones to this file</source>
        <translation>importera de korrekta raderna och skriv de felaktiga till denna fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="32" />
        <source>no progress on stderr</source>
        <translation>ingen förloppsvisning på stderr</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="34" />
        <source>print the report (counts, bad rows, dry-run changes) as JSON</source>
        <translation>skriv ut rapporten (antal, felaktiga rader, torrkörningens ändringar) som JSON</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="40" />
        <source>reading</source>
        <translation>läser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="41" />
        <source>checking</source>
        <translation>kontrollerar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="42" />
        <source>checking rows</source>
        <translation>kontrollerar rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="43" />
        <source>writing</source>
        <translation>skriver</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="44" />
        <source>writing records</source>
        <translation>skriver poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="45" />
        <source>writing history</source>
        <translation>skriver historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="46" />
        <source>exporting</source>
        <translation>exporterar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="66" />
        <source>(empty)</source>
        <translation>(tomt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="74" />
        <source>create CI {name}</source>
        <translation>skapa CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="74" />
        <source>add relation {name}</source>
        <translation>lägg till relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="76" />
        <source>update CI {name}</source>
        <translation>uppdatera CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="76" />
        <source>update relation {name}</source>
        <translation>uppdatera relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="85" />
        <source>... and {n} more CIs to create or update (not listed)</source>
        <translation>... och {n} CI:n till att skapa eller uppdatera (visas inte)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="87" />
        <source>... and {n} more relations to create or update (not listed)</source>
        <translation>... och {n} relationer till att skapa eller uppdatera (visas inte)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="90" />
        <source>relations not in the file are kept (the import never removes relations)</source>
        <translation>relationer som inte finns i filen behålls (importen tar aldrig bort relationer)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="120" />
        <source>... and {n} more bad rows</source>
        <translation>... och {n} felaktiga rader till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="124" />
        <source>rejected rows written to {path}</source>
        <translation>avvisade rader skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="13" />
        <source>failures, MTBF, MTTR and availability per CI or business service</source>
        <translation>fel, MTBF, MTTR och tillgänglighet per CI eller verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="16" />
        <source>period start (default: a year before the end)</source>
        <translation>periodens början (standard: ett år före slutet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="18" />
        <source>period end, inclusive day (default: now)</source>
        <translation>periodens slut, dagen inräknad (standard: nu)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="21" />
        <source>only the N with most downtime</source>
        <translation>bara de N med mest driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="23" />
        <source>write the figures as CSV</source>
        <translation>skriv siffrorna som CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="24" />
        <source>write the report as PDF</source>
        <translation>skriv rapporten som PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="28" />
        <source>incidents per CI, service, category or team, top movers</source>
        <translation>incidenter per CI, tjänst, kategori eller team, största förändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="31" />
        <source>period start (default: 90 days before the end)</source>
        <translation>periodens början (standard: 90 dagar före slutet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="32" />
        <source>period end, inclusive day</source>
        <translation>periodens slut, dagen inräknad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="37" />
        <source>knowledge base</source>
        <translation>kunskapsbas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="39" />
        <source>full-text search of articles, best first</source>
        <translation>fritextsökning i artiklar, bästa träff först</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="45" />
        <source>problem management</source>
        <translation>problemhantering</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="48" />
        <source>recurring incidents not yet linked to a problem</source>
        <translation>återkommande incidenter som ännu inte är kopplade till ett problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="50" />
        <source>look at incidents of the last N days</source>
        <translation>titta på incidenter från de senaste N dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="52" />
        <source>incidents within N days of each other belong together</source>
        <translation>incidenter inom N dagar från varandra hör ihop</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="66" />
        <source>{n} rows written to {path}</source>
        <translation>{n} rader skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="73" />
        <source>{n} page(s) written to {path}</source>
        <translation>{n} sidor skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="81" />
        <source>service availability {start} .. {end} UTC ({hours} h)</source>
        <translation>tillgänglighet per tjänst {start} .. {end} UTC ({hours} h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="83" />
        <source>ci availability {start} .. {end} UTC ({hours} h)</source>
        <translation>tillgänglighet per CI {start} .. {end} UTC ({hours} h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="101" />
        <source>ci</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="101" />
        <source>service</source>
        <translation>tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="102" />
        <source>category</source>
        <translation>kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="102" />
        <source>team</source>
        <translation>team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="103" />
        <source>incidents by {by}, {start} .. {end}: {total} (previous period {previous})</source>
        <translation>incidenter per {by}, {start} .. {end}: {total} (föregående period {previous})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="108" />
        <source>top movers:</source>
        <translation>största förändringar:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="12" />
        <source>release management: show, move status, deploy waves</source>
        <translation>releasehantering: visa, byt status, driftsätt vågor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="15" />
        <source>a release with its changes, risk, plan and DML items</source>
        <translation>en release med dess ändringar, risk, plan och DML-objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="21" />
        <source>move a release to STATUS (checks the change roll-up)</source>
        <translation>flytta en release till STATUS (kontrollerar ändringarnas sammanställning)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="27" />
        <source>deploy one rollout wave: update the site's CI versions</source>
        <translation>driftsätt en utrullningsvåg: uppdatera platsens CI-versioner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="30" />
        <source>the wave's name (or a unique prefix) or id</source>
        <translation>vågens namn (eller ett unikt prefix) eller id</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="49" />
        <source>type {type} · status {status} · risk {risk} · window {start} – {end} UTC</source>
        <translation>typ {type} · status {status} · risk {risk} · fönster {start} – {end} UTC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="52" />
        <source>manager {manager} · team {team} · next: {next}</source>
        <translation>ansvarig {manager} · team {team} · nästa: {next}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="56" />
        <source>  risk {level} {why}</source>
        <translation>  risk {level} {why}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="58" />
        <source>Changes</source>
        <translation>Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="59" />
        <source>  (NOT all approved: cannot deploy)</source>
        <translation>  (INTE alla godkända: kan inte driftsättas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="60" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="60" />
        <source>NO</source>
        <translation>NEJ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="64" />
        <source>Affected services: {names}</source>
        <translation>Berörda tjänster: {names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="66" />
        <source>Plan</source>
        <translation>Plan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="72" />
        <source>Definitive media library</source>
        <translation>Definitivt mediebibliotek (DML)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="76" />
        <source>warning: {problem}</source>
        <translation>varning: {problem}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="91" />
        <source>{ref}: {old} -&gt; {new} (risk {risk})</source>
        <translation>{ref}: {old} -&gt; {new} (risk {risk})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="109" />
        <source>{ref} {step} at {site}: {n} CI(s) updated, {unchanged} already current; release is {status}</source>
        <translation>{ref} {step} på {site}: {n} CI:n uppdaterade, {unchanged} redan aktuella; releasen är {status}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="20" />
        <source>write a PDF report</source>
        <translation>skriv en PDF-rapport</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="23" />
        <source>CAB meeting reference (cab-pack, cab-minutes)</source>
        <translation>referens till CAB-möte (cab-pack, cab-minutes)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="24" />
        <source>release reference (release-plan)</source>
        <translation>referens till release (release-plan)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/reports.py" line="41" />
        <source>{path} written ({n} pages)</source>
        <translation>{path} skriven ({n} sidor)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="13" />
        <source>full-text search over tickets (title, description, work log)</source>
        <translation>fritextsökning i ärenden (rubrik, beskrivning, arbetslogg)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="16" />
        <source>only open tickets</source>
        <translation>bara öppna ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="20" />
        <source>quick open: any record by reference or words</source>
        <translation>snabböppna: valfri post efter referens eller ord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="26" />
        <source>ticket queues: counts, or the first rows of one queue</source>
        <translation>ärendeköer: antal, eller de första raderna i en kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="27" />
        <source>queue key (all_open, unassigned, breached, ...)</source>
        <translation>köns nyckel (all_open, unassigned, breached, ...)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="33" />
        <source>SLA clocks</source>
        <translation>SLA-klockor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="35" />
        <source>flag tickets at risk and mark breaches (run every minute)</source>
        <translation>flagga ärenden i fara och markera brutna SLA (kör varje minut)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="36" />
        <source>pretend it is this UTC time (YYYY-MM-DD HH:MM)</source>
        <translation>låtsas att klockan är denna UTC-tid (ÅÅÅÅ-MM-DD TT:MM)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="39" />
        <source>show the SLA targets per priority</source>
        <translation>visa SLA-målen per prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="42" />
        <source>service announcements</source>
        <translation>driftmeddelanden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="44" />
        <source>current announcements as text or HTML (for e-mail)</source>
        <translation>aktuella meddelanden som text eller HTML (för e-post)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="48" />
        <source>add a manual announcement</source>
        <translation>lägg till ett manuellt meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="54" />
        <source>service CI name (repeatable)</source>
        <translation>tjänstens CI-namn (kan upprepas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="57" />
        <source>business calendars for SLA clocks (the change calendar is `calendar`)</source>
        <translation>arbetstidskalendrar för SLA-klockor (ändringskalendern är `calendar`)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="60" />
        <source>calendars and their holidays</source>
        <translation>kalendrar och deras helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="62" />
        <source>create a calendar with office hours Mon-Fri 08-17</source>
        <translation>skapa en kalender med kontorstid mån–fre 08–17</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="67" />
        <source>holidays</source>
        <translation>helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="68" />
        <source>import holidays from an .ics file</source>
        <translation>importera helgdagar från en .ics-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="71" />
        <source>calendar name (default: the default one)</source>
        <translation>kalenderns namn (standard: standardkalendern)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="130" />
        <source>{flagged} flagged at risk, {breached} breached, {notifications} notifications</source>
        <translation>{flagged} flaggade i fara, {breached} brutna, {notifications} aviseringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="158" />
        <source>wrote {path}</source>
        <translation>skrev {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="175" />
        <source>announced: {title}</source>
        <translation>meddelat: {title}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="185" />
        <source>{name} ({timezone}): {n} holidays</source>
        <translation>{name} ({timezone}): {n} helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="198" />
        <source>created calendar {name}</source>
        <translation>skapade kalendern {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="215" />
        <source>{added} holidays added to {name}, {skipped} already there</source>
        <translation>{added} helgdagar tillagda i {name}, {skipped} fanns redan</translation>
    </message>
</context>
<context>
    <name>CmdbPanel</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="32" />
        <source>By class</source>
        <translation>Per klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="33" />
        <source>By site</source>
        <translation>Per plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="34" />
        <source>By business service</source>
        <translation>Per verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="37" />
        <source>Filter CIs by name (Ctrl+Shift+F)</source>
        <translation>Filtrera CI:n efter namn (Ctrl+Shift+F)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="40" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="41" />
        <source>Show what fails if the selected CI fails (Ctrl+I)</source>
        <translation>Visa vad som slutar fungera om det markerade CI:t fallerar (Ctrl+I)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="43" />
        <source>New CI</source>
        <translation>Nytt CI</translation>
    </message>
</context>
<context>
    <name>CmdbTree</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="81" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="81" />
        <source>Class</source>
        <translation>Klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="81" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="111" />
        <source>{name}
Class: {cls}
Status: {status}
Criticality: {crit}</source>
        <translation>{name}
Klass: {cls}
Status: {status}
Kritikalitet: {crit}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="125" />
        <source>Loading…</source>
        <translation>Läser in…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="170" />
        <source>More… (next {n})</source>
        <translation>Fler… (nästa {n})</translation>
    </message>
</context>
<context>
    <name>DashboardPanel</name>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="37" />
        <source>Business service</source>
        <translation>Verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="37" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="38" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="38" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42" />
        <source>Last 7 days</source>
        <translation>Senaste 7 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42" />
        <source>Last 30 days</source>
        <translation>Senaste 30 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="43" />
        <source>Last 90 days</source>
        <translation>Senaste 90 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="43" />
        <source>Last 12 months</source>
        <translation>Senaste 12 månaderna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="49" />
        <source>Top </source>
        <translation>Topp </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="50" />
        <source>&amp;Refresh</source>
        <translation>&amp;Uppdatera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="55" />
        <source>Incidents by</source>
        <translation>Incidenter per</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="63" />
        <source>Most incidents</source>
        <translation>Flest incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="65" />
        <source>Top movers (vs previous period)</source>
        <translation>Största förändringar (mot föregående period)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="67" />
        <source>Incidents opened</source>
        <translation>Öppnade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="105" />
        <source>{total} incidents ({change:+} vs previous period)</source>
        <translation>{total} incidenter ({change:+} mot föregående period)</translation>
    </message>
</context>
<context>
    <name>DiagnosticEditor</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="52" />
        <source>Diagnostic scripts</source>
        <translation>Diagnosskript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="65" />
        <source>&amp;New…</source>
        <translation>&amp;Ny…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="66" />
        <source>Re&amp;name…</source>
        <translation>&amp;Byt namn…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="67" />
        <source>Categories</source>
        <translation>Kategorier</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="76" />
        <source>&amp;Add step</source>
        <translation>&amp;Lägg till steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="77" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="98" />
        <source>Remove</source>
        <translation>Ta bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="78" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="99" />
        <source>Up</source>
        <translation>Upp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="79" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="100" />
        <source>Down</source>
        <translation>Ned</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="81" />
        <source>Steps (asked in this order)</source>
        <translation>Steg (frågas i den här ordningen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="88" />
        <source>e.g. Is more than one user affected?</source>
        <translation>t.ex. Påverkas fler än en användare?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="90" />
        <source>&amp;Question</source>
        <translation>&amp;Fråga</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="93" />
        <source>Answer</source>
        <translation>Svar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="94" />
        <source>Route ticket to team</source>
        <translation>Skicka ärendet till team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="97" />
        <source>Add a&amp;nswer</source>
        <translation>Lägg till s&amp;var</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="103" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="282" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="108" />
        <source>Answers the agent can pick</source>
        <translation>Svar som handläggaren kan välja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="133" />
        <source>The incident form asks these questions for a ticket of the chosen category; an answer may send the ticket to another team.</source>
        <translation>Incidentformuläret ställer de här frågorna för ärenden i den valda kategorin; ett svar kan skicka ärendet vidare till ett annat team.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="146" />
        <source>Incident categories</source>
        <translation>Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="147" />
        <source>Request categories</source>
        <translation>Tjänstebegäranden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="200" />
        <source>Unsaved script</source>
        <translation>Osparat skript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="201" />
        <source>Save the changes to the script of {name}?</source>
        <translation>Vill du spara ändringarna i skriptet för {name}?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="214" />
        <source>Steps of {name}</source>
        <translation>Steg för {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="215" />
        <source>Steps (pick a category)</source>
        <translation>Steg (välj en kategori)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="223" />
        <source>Name of the new incident category</source>
        <translation>Namn på den nya incidentkategorin</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="224" />
        <source>Name of the new request category</source>
        <translation>Namn på den nya kategorin för tjänstebegäranden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="225" />
        <source>New category</source>
        <translation>Ny kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="247" />
        <source>Rename category</source>
        <translation>Byt namn på kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="247" />
        <source>New name</source>
        <translation>Nytt namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="266" />
        <source>(no question yet)</source>
        <translation>(ingen fråga ännu)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="282" />
        <source>Step {n}</source>
        <translation>Steg {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="296" />
        <source>Unsaved changes</source>
        <translation>Osparade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="299" />
        <source>Yes</source>
        <translation>Ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="300" />
        <source>No</source>
        <translation>Nej</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="332" />
        <source>(no routing)</source>
        <translation>(skickas inte vidare)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="340" />
        <source>(unknown team {team})</source>
        <translation>(okänt team {team})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="413" />
        <source>Script not saved</source>
        <translation>Skriptet sparades inte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="424" />
        <source>Saved {n} steps for {name}</source>
        <translation>{n} steg sparade för {name}</translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="89" />
        <source>Choose the file</source>
        <translation>Välj filen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="90" />
        <source>A CSV export from another tool: tickets, an event log, CIs or relations.</source>
        <translation>En CSV-export från ett annat verktyg: ärenden, en händelselogg, CI:n eller relationer.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="93" />
        <source>Incidents</source>
        <translation>Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="93" />
        <source>Changes</source>
        <translation>Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="94" />
        <source>Problems</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="94" />
        <source>Configuration items</source>
        <translation>Konfigurationsobjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="95" />
        <source>CI relations</source>
        <translation>CI-relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="99" />
        <source>Path of the CSV file</source>
        <translation>Sökväg till CSV-filen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="101" />
        <source>&amp;Browse…</source>
        <translation>&amp;Bläddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="107" />
        <source>&amp;Import as:</source>
        <translation>&amp;Importera som:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="108" />
        <source>&amp;File:</source>
        <translation>&amp;Fil:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="111" />
        <source>Nothing is written until the last page; the dry run shows every row that would be rejected, with its line, column and reason.</source>
        <translation>Ingenting skrivs förrän på sista sidan; testkörningen visar varje rad som skulle avvisas, med rad, kolumn och orsak.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="117" />
        <source>Import file</source>
        <translation>Importfil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="118" />
        <source>CSV files (*.csv *.txt);;All files (*)</source>
        <translation>CSV-filer (*.csv *.txt);;Alla filer (*)</translation>
    </message>
</context>
<context>
    <name>GanttView</name>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="76" />
        <source>No dated steps yet: give the steps planned start and end times to see the chart.</source>
        <translation>Inga daterade steg än: ge stegen planerade start- och sluttider för att se diagrammet.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="135" />
        <source>not scheduled</source>
        <translation>ej schemalagd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="191" />
        <source>now</source>
        <translation>nu</translation>
    </message>
</context>
<context>
    <name>ImpactGraph</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="75" />
        <source>depth {n}</source>
        <translation>djup {n}</translation>
    </message>
</context>
<context>
    <name>ImpactGraphWidget</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="220" />
        <source>Downstream: what fails</source>
        <translation>Nedströms: vad som slutar fungera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="221" />
        <source>Upstream: what it needs</source>
        <translation>Uppströms: vad det behöver</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="224" />
        <source>no limit</source>
        <translation>ingen gräns</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="225" />
        <source>depth </source>
        <translation>djup </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="227" />
        <source>Zoom in</source>
        <translation>Zooma in</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="229" />
        <source>Zoom out</source>
        <translation>Zooma ut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="231" />
        <source>Fit</source>
        <translation>Anpassa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="233" />
        <source>PNG…</source>
        <translation>PNG…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="234" />
        <source>PDF…</source>
        <translation>PDF…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="278" />
        <source>{n} CIs, {s} business services</source>
        <translation>{n} CI:n, {s} verksamhetstjänster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="282" />
        <source>(showing the first {n})</source>
        <translation>(visar de första {n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="286" />
        <source>Impact of {name}</source>
        <translation>Påverkan av {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="289" />
        <source>Export graph as PNG</source>
        <translation>Exportera grafen som PNG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/graph.py" line="295" />
        <source>Export graph as PDF</source>
        <translation>Exportera grafen som PDF</translation>
    </message>
</context>
<context>
    <name>ImportActions</name>
    <message>
        <location filename="../../itsmdesk/views/importer/actions.py" line="23" />
        <source>&amp;Import…</source>
        <translation>&amp;Importera…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/actions.py" line="26" />
        <source>Import tickets, event logs, CIs or relations from another tool's CSV</source>
        <translation>Importera ärenden, händelseloggar, CI:n eller relationer från ett annat verktygs CSV</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="65" />
        <source>Import CIs or relations from CSV</source>
        <translation>Importera CI:n eller relationer från CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="69" />
        <source>CIs</source>
        <translation>CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="70" />
        <source>Relations</source>
        <translation>Relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="73" />
        <source>Browse…</source>
        <translation>Bläddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="79" />
        <source>Import nothing if any row is bad</source>
        <translation>Importera ingenting om någon rad är felaktig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="80" />
        <source>Import the good rows, save the bad ones</source>
        <translation>Importera de korrekta raderna, spara de felaktiga</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="82" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="83" />
        <source>File</source>
        <translation>Fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="84" />
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="99" />
        <source>Bad rows</source>
        <translation>Felaktiga rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="85" />
        <source>Choose a file, then Preview.</source>
        <translation>Välj en fil och sedan Förhandsgranska.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="89" />
        <source>Record / field</source>
        <translation>Post / fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="89" />
        <source>Now</source>
        <translation>Nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="90" />
        <source>After import</source>
        <translation>Efter import</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="94" />
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="205" />
        <source>What would change</source>
        <translation>Vad som skulle ändras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="96" />
        <source>Line</source>
        <translation>Rad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="96" />
        <source>Column</source>
        <translation>Kolumn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="96" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="111" />
        <source>Preview</source>
        <translation>Förhandsgranska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="112" />
        <source>Import</source>
        <translation>Importera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="125" />
        <source>CSV file</source>
        <translation>CSV-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="136" />
        <source>Would create {c}, update {u}; {n} unchanged; {r} bad rows.</source>
        <translation>Skulle skapa {c}, uppdatera {u}; {n} oförändrade; {r} felaktiga rader.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="139" />
        <source>Relations missing from the file are kept: the import never removes relations.</source>
        <translation>Relationer som saknas i filen behålls: importen tar aldrig bort relationer.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="144" />
        <source>Bad rows ({n})</source>
        <translation>Felaktiga rader ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="154" />
        <source>New relation: {name}</source>
        <translation>Ny relation: {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="155" />
        <source>Changed relation: {name}</source>
        <translation>Ändrad relation: {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="157" />
        <source>New CI: {name} ({cls})</source>
        <translation>Nytt CI: {name} ({cls})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="158" />
        <source>Changed CI: {name} ({cls})</source>
        <translation>Ändrat CI: {name} ({cls})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="161" />
        <source>Line {line} of the file</source>
        <translation>Rad {line} i filen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="170" />
        <source>… and {n} more not listed</source>
        <translation>… och {n} till som inte visas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="173" />
        <source>Nothing would change</source>
        <translation>Ingenting skulle ändras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="174" />
        <source>What would change ({n})</source>
        <translation>Vad som skulle ändras ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="180" />
        <source>Save the bad rows to</source>
        <translation>Spara de felaktiga raderna till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="184" />
        <source>Importing…</source>
        <translation>Importerar…</translation>
    </message>
</context>
<context>
    <name>ImportWizard</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="59" />
        <source>line {line}, column {column}: {reason}</source>
        <translation>rad {line}, kolumn {column}: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="614" />
        <source>Import from another tool</source>
        <translation>Importera från ett annat verktyg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="626" />
        <source>&amp;Import</source>
        <translation>&amp;Importera</translation>
    </message>
</context>
<context>
    <name>IncidentForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="135" />
        <source>Short summary of what the caller reports</source>
        <translation>Kort sammanfattning av vad anmälaren rapporterar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="138" />
        <source>What happens, since when, what was tried</source>
        <translation>Vad händer, sedan när, vad har prövats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="143" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="146" />
        <source>Type a CI name, or drop one from the CMDB</source>
        <translation>Skriv ett CI-namn eller dra in ett från CMDB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="155" />
        <source>(no team)</source>
        <translation>(inget team)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="156" />
        <source>(nobody)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="157" />
        <source>Major incident</source>
        <translation>Större incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="173" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="174" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="175" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="176" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="177" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="178" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="179" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="180" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="183" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="185" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="186" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="615" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="187" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="197" />
        <source>Why is the ticket waiting? (needed for pending)</source>
        <translation>Varför väntar ärendet? (krävs för väntande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="206" />
        <source>How it was solved (needed to resolve)</source>
        <translation>Hur det löstes (krävs för att lösa)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="207" />
        <source>Move</source>
        <translation>Flytta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="209" />
        <source>Apply the status change and save (Ctrl+Return)</source>
        <translation>Genomför statusändringen och spara (Ctrl+Return)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="216" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="217" />
        <source>Move to</source>
        <translation>Flytta till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="218" />
        <source>Pending reason</source>
        <translation>Orsak till väntan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="219" />
        <source>Resolution code</source>
        <translation>Lösningskod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="220" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="221" />
        <source>Lifecycle</source>
        <translation>Livscykel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="242" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="243" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="244" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="245" />
        <source>Parent</source>
        <translation>Överordnat ärende</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="246" />
        <source>Child tickets</source>
        <translation>Underordnade ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="247" />
        <source>Links</source>
        <translation>Länkar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="250" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="297" />
        <source>Save</source>
        <translation>Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="253" />
        <source>Save (Ctrl+S)</source>
        <translation>Spara (Ctrl+S)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="255" />
        <source>Escalate…</source>
        <translation>Eskalera…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="298" />
        <source>Move status</source>
        <translation>Ändra status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="299" />
        <source>Add work log note</source>
        <translation>Lägg till anteckning i arbetsloggen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="322" />
        <source>New service request</source>
        <translation>Ny tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="323" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="652" />
        <source>New incident</source>
        <translation>Ny incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="61" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="328" />
        <source>New</source>
        <translation>Ny</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="58" />
        <source>1 – high</source>
        <translation>1 – hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="59" />
        <source>2 – medium</source>
        <translation>2 – medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="60" />
        <source>3 – low</source>
        <translation>3 – låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="62" />
        <source>Awaiting approval</source>
        <translation>Väntar på godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="63" />
        <source>Assigned</source>
        <translation>Tilldelat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="64" />
        <source>In progress</source>
        <translation>Pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="65" />
        <source>Pending</source>
        <translation>Väntande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="66" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="67" />
        <source>Fulfilled</source>
        <translation>Utfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="68" />
        <source>Closed</source>
        <translation>Stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="69" />
        <source>Cancelled</source>
        <translation>Avbrutet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="378" />
        <source>Reopen</source>
        <translation>Återöppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="405" />
        <source>Service request</source>
        <translation>Tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="405" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="426" />
        <source>SLA paused</source>
        <translation>SLA pausad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="428" />
        <source>SLA met</source>
        <translation>SLA uppfylld</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="428" />
        <source>SLA breached</source>
        <translation>SLA överskriden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="434" />
        <source>Breached {t}</source>
        <translation>Överskriden {t}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="434" />
        <source>At risk: {t} left</source>
        <translation>I riskzonen: {t} kvar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="435" />
        <source>{t} left</source>
        <translation>{t} kvar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="442" />
        <source>Announced for this CI/service: </source>
        <translation>Aviserat för detta CI/denna tjänst: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="541" />
        <source>Nothing to save</source>
        <translation>Inget att spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="551" />
        <source>Saved {ref}</source>
        <translation>{ref} sparat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="595" />
        <source>Resolve child tickets</source>
        <translation>Lös underordnade ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="596" />
        <source>This major incident has open child tickets. Resolve them too?</source>
        <translation>Den här större incidenten har öppna underordnade ärenden. Vill du lösa dem också?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="609" />
        <source>To another team (functional)</source>
        <translation>Till ett annat team (funktionell)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="609" />
        <source>To the team lead (hierarchical)</source>
        <translation>Till teamledaren (hierarkisk)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="610" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="615" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="619" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="623" />
        <source>Escalate</source>
        <translation>Eskalera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="610" />
        <source>How?</source>
        <translation>Hur?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="619" />
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="623" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="644" />
        <source>{n} people notified</source>
        <translation>{n} personer aviserade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="652" />
        <source>New request</source>
        <translation>Ny begäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="658" />
        <source>Unsaved changes</source>
        <translation>Osparade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_form.py" line="658" />
        <source>Discard the changes to {t}?</source>
        <translation>Vill du ignorera ändringarna i {t}?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="44" />
        <source>Known errors and articles that match</source>
        <translation>Kända fel och artiklar som matchar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="47" />
        <source>Diagnostic script</source>
        <translation>Diagnosskript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="50" />
        <source>Record answers</source>
        <translation>Registrera svar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="64" />
        <source>Add a note… (Ctrl+L)</source>
        <translation>Lägg till en anteckning… (Ctrl+L)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="66" />
        <source>Public (caller sees it)</source>
        <translation>Offentlig (anmälaren ser den)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="68" />
        <source>Add note</source>
        <translation>Lägg till anteckning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="75" />
        <source>Work log</source>
        <translation>Arbetslogg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="85" />
        <source>Attach file…</source>
        <translation>Bifoga fil…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="88" />
        <source>Attachments</source>
        <translation>Bilagor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="105" />
        <source>Save the ticket first to add notes</source>
        <translation>Spara ärendet först för att kunna lägga till anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="110" />
        <source>system</source>
        <translation>system</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="111" />
        <source>public</source>
        <translation>offentlig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="111" />
        <source>private</source>
        <translation>privat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="117" />
        <source>No notes yet.</source>
        <translation>Inga anteckningar ännu.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="133" />
        <source>Type a title to see matching known errors.</source>
        <translation>Skriv en rubrik för att se matchande kända fel.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="195" />
        <source>Attach file</source>
        <translation>Bifoga fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_side.py" line="211" />
        <source>Save attachment</source>
        <translation>Spara bilaga</translation>
    </message>
</context>
<context>
    <name>KnowledgePanel</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="36" />
        <source>Search the knowledge base…</source>
        <translation>Sök i kunskapsdatabasen…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="38" />
        <source>New</source>
        <translation>Ny</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="39" />
        <source>New article</source>
        <translation>Ny artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="70" />
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="81" />
        <source>Type words to search titles, tags and text.</source>
        <translation>Skriv ord för att söka i rubriker, taggar och text.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="97" />
        <source>{n} article(s), best match first</source>
        <translation>{n} artikel/artiklar, bästa träff först</translation>
    </message>
</context>
<context>
    <name>KnownErrorForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="36" />
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="138" />
        <source>New known error</source>
        <translation>Nytt känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="36" />
        <source>What the error looks like, in a line</source>
        <translation>Hur felet yttrar sig, på en rad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="39" />
        <source>Workaround only</source>
        <translation>Endast tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="40" />
        <source>Fix planned</source>
        <translation>Åtgärd planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="41" />
        <source>Fix in progress</source>
        <translation>Åtgärd pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="41" />
        <source>Fixed</source>
        <translation>Åtgärdat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="42" />
        <source>Will not be fixed</source>
        <translation>Kommer inte att åtgärdas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="46" />
        <source>Open</source>
        <translation>Öppen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="47" />
        <source>Retired</source>
        <translation>Avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="51" />
        <source>CI names, comma separated</source>
        <translation>CI-namn, kommaseparerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="59" />
        <source>Error &amp;code</source>
        <translation>F&amp;elkod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="60" />
        <source>Solution &amp;status</source>
        <translation>&amp;Lösningsstatus</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="61" />
        <source>Stat&amp;us</source>
        <translation>Stat&amp;us</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="62" />
        <source>&amp;Problem</source>
        <translation>&amp;Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="63" />
        <source>Affected C&amp;Is</source>
        <translation>Berörda &amp;CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="64" />
        <source>Symptom</source>
        <translation>Symtom</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="65" />
        <source>Root cause</source>
        <translation>Grundorsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="66" />
        <source>Workaround</source>
        <translation>Tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="69" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="69" />
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="74" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="70" />
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="75" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="71" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="74" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="78" />
        <source>When</source>
        <translation>När</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="78" />
        <source>Who</source>
        <translation>Vem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="79" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="79" />
        <source>New</source>
        <translation>Nytt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="81" />
        <source>&amp;Details</source>
        <translation>&amp;Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="82" />
        <source>&amp;Incidents</source>
        <translation>&amp;Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="83" />
        <source>C&amp;hanges</source>
        <translation>Ä&amp;ndringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="84" />
        <source>Histor&amp;y</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="86" />
        <source>&amp;Save</source>
        <translation>&amp;Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="88" />
        <source>Raise R&amp;FC</source>
        <translation>Skapa R&amp;FC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/known_error_form.py" line="178" />
        <source>Save the changes to this known error?</source>
        <translation>Vill du spara ändringarna i det här kända felet?</translation>
    </message>
</context>
<context>
    <name>LinkToProblemDialog</name>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="34" />
        <source>Link {n} incident(s) to a problem</source>
        <translation>Koppla {n} incident(er) till ett problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="36" />
        <source>Search open problems by words or PRB-…</source>
        <translation>Sök bland öppna problem med ord eller PRB-…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="37" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="37" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="38" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="38" />
        <source>Incidents</source>
        <translation>Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="42" />
        <source>&amp;New problem from these incidents</source>
        <translation>&amp;Nytt problem från dessa incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/link_dialog.py" line="49" />
        <source>Problem:</source>
        <translation>Problem:</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="56" />
        <source>itsmdesk — {db}</source>
        <translation>itsmdesk — {db}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="88" />
        <source>&amp;File</source>
        <translation>&amp;Arkiv</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="88" />
        <source>&amp;Records</source>
        <translation>&amp;Poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="89" />
        <source>&amp;View</source>
        <translation>&amp;Visa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="89" />
        <source>Re&amp;ports</source>
        <translation>&amp;Rapporter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="90" />
        <source>&amp;Tools</source>
        <translation>Ver&amp;ktyg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="90" />
        <source>&amp;Help</source>
        <translation>&amp;Hjälp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="93" />
        <source>&amp;Quit</source>
        <translation>&amp;Avsluta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="97" />
        <source>&amp;Quick open…</source>
        <translation>&amp;Snabböppna…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="102" />
        <source>Close tab</source>
        <translation>Stäng flik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="106" />
        <source>&amp;About itsmdesk</source>
        <translation>&amp;Om itsmdesk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="145" />
        <source>Reset layout</source>
        <translation>Återställ layout</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="186" />
        <source>{title} arrives in a later version.</source>
        <translation>{title} kommer i en senare version.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="199" />
        <source>SQLite file</source>
        <translation>SQLite-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="199" />
        <source>PostgreSQL</source>
        <translation>PostgreSQL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="205" />
        <source>Who works at this desk (Ctrl+Shift+P)</source>
        <translation>Vem som arbetar vid den här datorn (Ctrl+Shift+P)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="237" />
        <source>Connected</source>
        <translation>Ansluten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="238" />
        <source>Disconnected</source>
        <translation>Frånkopplad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="271" />
        <source>🔔 {n}</source>
        <translation>🔔 {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="272" />
        <source>{n} unread notifications (Ctrl+Shift+M)</source>
        <translation>{n} olästa aviseringar (Ctrl+Shift+M)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="294" />
        <source>Signed in: {name} ▾</source>
        <translation>Inloggad: {name} ▾</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="306" />
        <source>&lt;h2&gt;itsmdesk {version}&lt;/h2&gt;&lt;p&gt;Open a queue on the left, or press &lt;b&gt;Ctrl+K&lt;/b&gt; to find any record by reference or words.&lt;/p&gt;</source>
        <translation>&lt;h2&gt;itsmdesk {version}&lt;/h2&gt;&lt;p&gt;Öppna en kö till vänster, eller tryck &lt;b&gt;Ctrl+K&lt;/b&gt; för att hitta en post via referens eller ord.&lt;/p&gt;</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="313" />
        <source>Welcome</source>
        <translation>Välkommen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="325" />
        <source>No form for {kind} yet</source>
        <translation>Inget formulär för {kind} ännu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="391" />
        <source>About itsmdesk</source>
        <translation>Om itsmdesk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="392" />
        <source>itsmdesk {version}
IT Service Support on {db}</source>
        <translation>itsmdesk {version}
IT-servicesupport på {db}</translation>
    </message>
</context>
<context>
    <name>MappingPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="221" />
        <source>Map the columns</source>
        <translation>Mappa kolumnerna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="222" />
        <source>Load a ready mapping (value maps, date formats, event-log folding) or pick a source column for each field.</source>
        <translation>Läs in en färdig mappning (värdemappningar, datumformat, sammanslagning av händelseloggar) eller välj en källkolumn för varje fält.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="225" />
        <source>(none: map by hand)</source>
        <translation>(ingen: mappa manuellt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="229" />
        <source>&amp;Load mapping…</source>
        <translation>&amp;Läs in mappning…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="231" />
        <source>&amp;Save mapping…</source>
        <translation>&amp;Spara mappning…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="234" />
        <source>&amp;Event log: several rows per record, keep each as history</source>
        <translation>&amp;Händelselogg: flera rader per post, behåll var och en som historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="240" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="240" />
        <source>Source column</source>
        <translation>Källkolumn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="241" />
        <source>Notes</source>
        <translation>Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="248" />
        <source>Mapping:</source>
        <translation>Mappning:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="253" />
        <source>External &amp;key column:</source>
        <translation>Kolumn för extern &amp;nyckel:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="255" />
        <source>Event &amp;time column:</source>
        <translation>Kolumn för händelse&amp;tid:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="256" />
        <source>Event &amp;author column:</source>
        <translation>Kolumn för händelse&amp;författare:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="268" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="301" />
        <source>one of: {values}</source>
        <translation>ett av: {values}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="302" />
        <source>looked up by name or reference</source>
        <translation>slås upp via namn eller referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="303" />
        <source>date and time (formats: load a mapping)</source>
        <translation>datum och tid (format: läs in en mappning)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="304" />
        <source>date</source>
        <translation>datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="304" />
        <source>whole number</source>
        <translation>heltal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="305" />
        <source>yes / no</source>
        <translation>ja / nej</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="305" />
        <source>number</source>
        <translation>tal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="312" />
        <source>Load mapping</source>
        <translation>Läs in mappning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="313" />
        <source>Mappings (*.toml);;All files (*)</source>
        <translation>Mappningar (*.toml);;Alla filer (*)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="368" />
        <source>Save mapping</source>
        <translation>Spara mappning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="369" />
        <source>Mappings (*.toml)</source>
        <translation>Mappningar (*.toml)</translation>
    </message>
</context>
<context>
    <name>MergeDialog</name>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="26" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="27" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="28" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="29" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="30" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="31" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="32" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="33" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="34" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="35" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="36" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="37" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="38" />
        <source>Major incident</source>
        <translation>Större incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="39" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="40" />
        <source>Pending reason</source>
        <translation>Orsak till väntan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="41" />
        <source>Resolution code</source>
        <translation>Lösningskod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="42" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="53" />
        <source>(empty)</source>
        <translation>(tomt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="67" />
        <source>Someone else saved this ticket</source>
        <translation>Någon annan har sparat det här ärendet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="72" />
        <source>Choose which value to keep where you both changed a field. Your other changes are kept.</source>
        <translation>Välj vilket värde som ska behållas där ni båda har ändrat ett fält. Dina övriga ändringar behålls.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="77" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="77" />
        <source>Saved by them</source>
        <translation>Sparat av dem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="77" />
        <source>Yours</source>
        <translation>Ditt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="97" />
        <source>(unchanged by you)</source>
        <translation>(oförändrat av dig)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/incident_merge.py" line="102" />
        <source>Save merged</source>
        <translation>Spara sammanslaget</translation>
    </message>
</context>
<context>
    <name>PdfCommon</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="14" />
        <source>draft</source>
        <translation>utkast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="15" />
        <source>submitted</source>
        <translation>inskickad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="16" />
        <source>assessed</source>
        <translation>bedömd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="17" />
        <source>awaiting cab</source>
        <translation>väntar på CAB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="18" />
        <source>approved</source>
        <translation>godkänd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="19" />
        <source>rejected</source>
        <translation>avslagen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="20" />
        <source>scheduled</source>
        <translation>schemalagd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="21" />
        <source>implementing</source>
        <translation>genomförs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="22" />
        <source>implemented</source>
        <translation>genomförd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="23" />
        <source>in review</source>
        <translation>under granskning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="24" />
        <source>closed</source>
        <translation>stängd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="25" />
        <source>failed</source>
        <translation>misslyckad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="26" />
        <source>backed out</source>
        <translation>återställd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="28" />
        <source>standard</source>
        <translation>standard</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="29" />
        <source>normal</source>
        <translation>normal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="30" />
        <source>emergency</source>
        <translation>akut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="31" />
        <source>major</source>
        <translation>större</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="32" />
        <source>minor</source>
        <translation>mindre</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="34" />
        <source>low</source>
        <translation>låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="35" />
        <source>medium</source>
        <translation>medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="36" />
        <source>high</source>
        <translation>hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="37" />
        <source>very high</source>
        <translation>mycket hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="38" />
        <source>critical</source>
        <translation>kritisk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="39" />
        <source>not assessed</source>
        <translation>ej bedömd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="41" />
        <source>approve</source>
        <translation>godkänner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="42" />
        <source>reject</source>
        <translation>avslår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="43" />
        <source>abstain</source>
        <translation>avstår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="44" />
        <source>deferred</source>
        <translation>uppskjuten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="45" />
        <source>pending</source>
        <translation>avvaktar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="47" />
        <source>planned</source>
        <translation>planerat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="48" />
        <source>held</source>
        <translation>genomfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="49" />
        <source>cancelled</source>
        <translation>inställt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="51" />
        <source>planning</source>
        <translation>planering</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="52" />
        <source>build</source>
        <translation>byggs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="53" />
        <source>test</source>
        <translation>test</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="54" />
        <source>deploying</source>
        <translation>driftsätts</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="55" />
        <source>deployed</source>
        <translation>driftsatt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="56" />
        <source>in progress</source>
        <translation>pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="57" />
        <source>done</source>
        <translation>klart</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="58" />
        <source>skipped</source>
        <translation>överhoppat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="60" />
        <source>same ci</source>
        <translation>samma CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="61" />
        <source>impact path</source>
        <translation>påverkansväg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="62" />
        <source>blackout</source>
        <translation>frysperiod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="63" />
        <source>outside maintenance</source>
        <translation>utanför underhållsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="65" />
        <source>services</source>
        <translation>tjänster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="66" />
        <source>type</source>
        <translation>typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="67" />
        <source>outage</source>
        <translation>avbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="68" />
        <source>failure rate</source>
        <translation>felfrekvens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="69" />
        <source>conflicts</source>
        <translation>konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="70" />
        <source>changes</source>
        <translation>ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="71" />
        <source>sites</source>
        <translation>platser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="72" />
        <source>backout</source>
        <translation>återställning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="73" />
        <source>combined</source>
        <translation>sammantaget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="75" />
        <source>in production</source>
        <translation>i drift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="76" />
        <source>in maintenance</source>
        <translation>under underhåll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="77" />
        <source>retired</source>
        <translation>avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="78" />
        <source>depends on</source>
        <translation>beror på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="79" />
        <source>runs on</source>
        <translation>körs på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="80" />
        <source>hosted on</source>
        <translation>driftas på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="81" />
        <source>connected to</source>
        <translation>ansluten till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="82" />
        <source>part of</source>
        <translation>del av</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="83" />
        <source>uses</source>
        <translation>använder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="85" />
        <source>new</source>
        <translation>nytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="86" />
        <source>approval</source>
        <translation>för godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="87" />
        <source>assigned</source>
        <translation>tilldelat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="88" />
        <source>resolved</source>
        <translation>löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="89" />
        <source>fulfilled</source>
        <translation>utfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="90" />
        <source>investigating</source>
        <translation>under utredning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="91" />
        <source>root cause known</source>
        <translation>grundorsak känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="92" />
        <source>workaround only</source>
        <translation>endast tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="93" />
        <source>fix planned</source>
        <translation>åtgärd planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="94" />
        <source>fix in progress</source>
        <translation>åtgärd pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="95" />
        <source>fixed</source>
        <translation>åtgärdat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="96" />
        <source>won't fix</source>
        <translation>åtgärdas inte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="98" />
        <source>incident</source>
        <translation>incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="99" />
        <source>request</source>
        <translation>tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="100" />
        <source>phone</source>
        <translation>telefon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="101" />
        <source>email</source>
        <translation>e-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="102" />
        <source>portal</source>
        <translation>portal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="103" />
        <source>walk in</source>
        <translation>besök</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="104" />
        <source>chat</source>
        <translation>chatt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="105" />
        <source>monitoring</source>
        <translation>övervakning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="106" />
        <source>solved (workaround)</source>
        <translation>löst (tillfällig lösning)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="107" />
        <source>solved permanently</source>
        <translation>löst permanent</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="108" />
        <source>solved by change</source>
        <translation>löst genom ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="109" />
        <source>not reproducible</source>
        <translation>kan inte återskapas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="110" />
        <source>duplicate</source>
        <translation>dubblett</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="111" />
        <source>user error</source>
        <translation>användarfel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="112" />
        <source>no fault found</source>
        <translation>inget fel hittat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="114" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="115" />
        <source>no</source>
        <translation>nej</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/pdf_common.py" line="247" />
        <source>itsmdesk · generated {when}</source>
        <translation>itsmdesk · skapad {when}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/pdf_common.py" line="251" />
        <location filename="../../itsmdesk/reports/pdf_common.py" line="310" />
        <source>Page {n} of {m}</source>
        <translation>Sida {n} av {m}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/pdf_common.py" line="252" />
        <source>Page {n}</source>
        <translation>Sida {n}</translation>
    </message>
</context>
<context>
    <name>PreviewPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="135" />
        <source>Preview</source>
        <translation>Förhandsgranska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="136" />
        <source>Check that the columns split correctly; change the delimiter or encoding if they do not.</source>
        <translation>Kontrollera att kolumnerna delas upp korrekt; ändra avgränsare eller teckenkodning om de inte gör det.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="140" />
        <location filename="../../itsmdesk/views/importer/wizard.py" line="144" />
        <source>Detect</source>
        <translation>Identifiera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="157" />
        <source>&amp;Delimiter:</source>
        <translation>&amp;Avgränsare:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="161" />
        <source>&amp;Encoding:</source>
        <translation>&amp;Teckenkodning:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="191" />
        <source>Read as: delimiter “{d}”, encoding {e}, {n} columns (first {rows} rows shown)</source>
        <translation>Läst som: avgränsare ”{d}”, teckenkodning {e}, {n} kolumner (de första {rows} raderna visas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="208" />
        <source>{n} rows in the preview do not split into the header's columns, e.g. {example}</source>
        <translation>{n} rader i förhandsgranskningen delas inte upp enligt rubrikradens kolumner, t.ex. {example}</translation>
    </message>
</context>
<context>
    <name>ProblemForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="76" />
        <source>Short description of the problem</source>
        <translation>Kort beskrivning av problemet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="92" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="95" />
        <source>&amp;Status</source>
        <translation>St&amp;atus</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="96" />
        <source>&amp;Priority</source>
        <translation>&amp;Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="97" />
        <source>Cate&amp;gory</source>
        <translation>Kate&amp;gori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="99" />
        <source>Business ser&amp;vice</source>
        <translation>&amp;Verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="100" />
        <source>&amp;CI</source>
        <translation>&amp;CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="101" />
        <source>&amp;Team</source>
        <translation>T&amp;eam</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="110" />
        <source>&amp;Details</source>
        <translation>&amp;Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="111" />
        <source>&amp;Root cause analysis</source>
        <translation>G&amp;rundorsaksanalys</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="112" />
        <source>&amp;Incidents</source>
        <translation>&amp;Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="113" />
        <source>&amp;Known errors and changes</source>
        <translation>&amp;Kända fel och ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="114" />
        <source>&amp;History</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="116" />
        <source>&amp;Save</source>
        <translation>&amp;Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="119" />
        <source>Raise R&amp;FC</source>
        <translation>Skapa R&amp;FC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="121" />
        <source>C&amp;lose problem…</source>
        <translation>S&amp;täng problem…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="151" />
        <source>What is happening, since when, who is affected</source>
        <translation>Vad händer, sedan när, vem påverkas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="152" />
        <source>How to restore service until the fix is in</source>
        <translation>Hur tjänsten återställs tills åtgärden är på plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="153" />
        <source>The permanent solution (the corrective change)</source>
        <translation>Den permanenta lösningen (den korrigerande ändringen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="154" />
        <source>The underlying cause, once known</source>
        <translation>Den bakomliggande orsaken, när den är känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="156" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="157" />
        <source>Root cause</source>
        <translation>Grundorsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="158" />
        <source>Workaround</source>
        <translation>Tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="159" />
        <source>Permanent solution</source>
        <translation>Permanent lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="165" />
        <source>What people and monitoring observe</source>
        <translation>Vad användare och övervakning observerar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="166" />
        <source>Possible causes still open</source>
        <translation>Möjliga orsaker som ännu inte uteslutits</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="167" />
        <source>Logs, measurements, tests that confirm or refute</source>
        <translation>Loggar, mätningar och tester som bekräftar eller motbevisar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="168" />
        <source>The cause the evidence supports</source>
        <translation>Den orsak som belägget stöder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="170" />
        <source>Notes</source>
        <translation>Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="172" />
        <source>Symptoms</source>
        <translation>Symtom</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="172" />
        <source>Hypotheses</source>
        <translation>Hypoteser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="173" />
        <source>Evidence</source>
        <translation>Belägg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="173" />
        <source>Cause</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="175" />
        <source>Timeline of linked incidents</source>
        <translation>Tidslinje för kopplade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="176" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="244" />
        <source>When</source>
        <translation>När</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="176" />
        <source>What</source>
        <translation>Vad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="177" />
        <source>Record</source>
        <translation>Post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="177" />
        <source>Detail</source>
        <translation>Detalj</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="190" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="190" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="220" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="227" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="190" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="228" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="289" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="191" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="191" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="198" />
        <source>INC-000123, INC-000124 …</source>
        <translation>INC-000123, INC-000124 …</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="199" />
        <source>Lin&amp;k</source>
        <translation>K&amp;oppla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="200" />
        <source>&amp;Unlink selected</source>
        <translation>Koppla &amp;bort markerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="201" />
        <source>Resolve open incidents</source>
        <translation>Lös öppna incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="204" />
        <source>Link incidents:</source>
        <translation>Koppla incidenter:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="220" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="221" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="225" />
        <source>Record as &amp;known error</source>
        <translation>Registrera som kä&amp;nt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="227" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="234" />
        <source>Known errors</source>
        <translation>Kända fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="239" />
        <source>Corrective changes (RFCs)</source>
        <translation>Korrigerande ändringar (RFC:er)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="244" />
        <source>Who</source>
        <translation>Vem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="245" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="245" />
        <source>Old</source>
        <translation>Gammalt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="42" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="246" />
        <source>New</source>
        <translation>Nytt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="42" />
        <source>Investigating</source>
        <translation>Under utredning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="43" />
        <source>Root cause known</source>
        <translation>Grundorsak känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="43" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="44" />
        <source>Closed</source>
        <translation>Stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="253" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="256" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="286" />
        <source>Problem recorded</source>
        <translation>Problem registrerat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="287" />
        <source>Incident opened</source>
        <translation>Incident öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="288" />
        <source>Incident resolved</source>
        <translation>Incident löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="289" />
        <source>Work log</source>
        <translation>Arbetslogg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="309" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="332" />
        <source>New problem</source>
        <translation>Nytt problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="355" />
        <source>Changed by someone else</source>
        <translation>Ändrat av någon annan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="356" />
        <source>The form will reload; re-apply your edits.</source>
        <translation>Formuläret läses in igen; gör om dina ändringar.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="378" />
        <source>Saved {ref}.</source>
        <translation>{ref} sparat.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="394" />
        <source>{ref} raised.</source>
        <translation>{ref} skapad.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="410" />
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="421" />
        <source>Resolve linked incidents</source>
        <translation>Lös kopplade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="411" />
        <source>The fix for {ref} is in. Resolve its {n} open linked incident(s) too?</source>
        <translation>Åtgärden för {ref} är på plats. Vill du även lösa dess {n} öppna kopplade incident(er)?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="422" />
        <source>Resolve every open incident linked to this problem?</source>
        <translation>Vill du lösa alla öppna incidenter som är kopplade till det här problemet?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="431" />
        <source>{n} incident(s) resolved.</source>
        <translation>{n} incident(er) lösta.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/problem_form.py" line="483" />
        <source>Save the changes to this problem?</source>
        <translation>Vill du spara ändringarna i det här problemet?</translation>
    </message>
</context>
<context>
    <name>ProblemsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="34" />
        <source>&amp;Problems</source>
        <translation>&amp;Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="35" />
        <source>&amp;Known errors</source>
        <translation>&amp;Kända fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="36" />
        <source>Ca&amp;ndidates</source>
        <translation>Ka&amp;ndidater</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="51" />
        <source>Open problems</source>
        <translation>Öppna problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="52" />
        <source>All problems</source>
        <translation>Alla problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="53" />
        <source>New</source>
        <translation>Nytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="53" />
        <source>Investigating</source>
        <translation>Under utredning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="54" />
        <source>Root cause known</source>
        <translation>Grundorsak känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="55" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="55" />
        <source>Closed</source>
        <translation>Stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="58" />
        <source>Search problems…</source>
        <translation>Sök problem…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="60" />
        <source>New problem</source>
        <translation>Nytt problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="67" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="92" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="67" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="92" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="68" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="68" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="69" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="94" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="123" />
        <source>Incidents</source>
        <translation>Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="84" />
        <source>Search symptoms, error codes, workarounds…</source>
        <translation>Sök symtom, felkoder, tillfälliga lösningar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="86" />
        <source>New known error</source>
        <translation>Nytt känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="93" />
        <source>Error code</source>
        <translation>Felkod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="93" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="108" />
        <source>Last 14 days</source>
        <translation>Senaste 14 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="108" />
        <source>Last 30 days</source>
        <translation>Senaste 30 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="109" />
        <source>Last 90 days</source>
        <translation>Senaste 90 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="112" />
        <source>&amp;Create problem</source>
        <translation>&amp;Skapa problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="115" />
        <source>Recurring incidents, not yet linked to a problem:</source>
        <translation>Återkommande incidenter som ännu inte kopplats till ett problem:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="122" />
        <source>CI / service</source>
        <translation>CI / tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="122" />
        <source>Incidents look like</source>
        <translation>Incidenterna liknar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="123" />
        <source>Last</source>
        <translation>Senaste</translation>
    </message>
</context>
<context>
    <name>QueueEditor</name>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="44" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="45" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="46" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="47" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="48" />
        <source>SLA</source>
        <translation>SLA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="49" />
        <source>Due</source>
        <translation>Förfaller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="50" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="51" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="52" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="53" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="54" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="55" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="56" />
        <source>Updated</source>
        <translation>Uppdaterad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="57" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="58" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="59" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="60" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="61" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="64" />
        <source>is</source>
        <translation>är</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="65" />
        <source>is not</source>
        <translation>är inte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="66" />
        <source>is one of</source>
        <translation>är något av</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="67" />
        <source>is none of</source>
        <translation>är inget av</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="68" />
        <source>less than</source>
        <translation>mindre än</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="69" />
        <source>at most</source>
        <translation>högst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="70" />
        <source>more than</source>
        <translation>mer än</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="71" />
        <source>at least</source>
        <translation>minst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="72" />
        <source>is empty</source>
        <translation>är tomt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="73" />
        <source>is not empty</source>
        <translation>är inte tomt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="74" />
        <source>contains</source>
        <translation>innehåller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="77" />
        <source>before</source>
        <translation>före</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="78" />
        <source>on or before</source>
        <translation>till och med</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="79" />
        <source>after</source>
        <translation>efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="80" />
        <source>on or after</source>
        <translation>från och med</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="83" />
        <source>new</source>
        <translation>nytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="84" />
        <source>approval</source>
        <translation>för godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="85" />
        <source>assigned</source>
        <translation>tilldelat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="86" />
        <source>in progress</source>
        <translation>pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="87" />
        <source>pending</source>
        <translation>väntande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="88" />
        <source>resolved</source>
        <translation>löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="89" />
        <source>closed</source>
        <translation>stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="90" />
        <source>fulfilled</source>
        <translation>utfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="91" />
        <source>cancelled</source>
        <translation>avbrutet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="92" />
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="93" />
        <source>at risk</source>
        <translation>i riskzonen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="94" />
        <source>breached</source>
        <translation>överskriden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="95" />
        <source>paused</source>
        <translation>pausad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="96" />
        <source>met</source>
        <translation>uppfylld</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="97" />
        <source>incident</source>
        <translation>incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="98" />
        <source>request</source>
        <translation>tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="99" />
        <source>phone</source>
        <translation>telefon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="100" />
        <source>email</source>
        <translation>e-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="101" />
        <source>portal</source>
        <translation>portal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="102" />
        <source>walk in</source>
        <translation>besök</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="103" />
        <source>chat</source>
        <translation>chatt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="104" />
        <source>monitoring</source>
        <translation>övervakning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="105" />
        <source>1 high</source>
        <translation>1 hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="106" />
        <source>2 medium</source>
        <translation>2 medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="107" />
        <source>3 low</source>
        <translation>3 låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="144" />
        <source>(pick one or more)</source>
        <translation>(välj ett eller flera)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="238" />
        <source>text</source>
        <translation>text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="238" />
        <source>exact value</source>
        <translation>exakt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="246" />
        <source>My teams (signed-in person's)</source>
        <translation>Mina team (den inloggades)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="259" />
        <source>Me (signed-in person)</source>
        <translation>Jag (den inloggade)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="276" />
        <source>relative to today</source>
        <translation>relativt idag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="277" />
        <source>fixed date</source>
        <translation>fast datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="281" />
        <source> days</source>
        <translation> dagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="282" />
        <source>Negative: in the past (-7 = a week ago)</source>
        <translation>Negativt: bakåt i tiden (-7 = för en vecka sedan)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="381" />
        <source>Edit queue</source>
        <translation>Redigera kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="381" />
        <source>New queue</source>
        <translation>Ny kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="387" />
        <source>e.g. Network tickets this week</source>
        <translation>t.ex. Nätverksärenden den här veckan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="388" />
        <source>Shared with everyone</source>
        <translation>Delad med alla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="390" />
        <source>Unshared queues are listed only for you</source>
        <translation>Köer som inte delas visas bara för dig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="392" />
        <source>&amp;Name</source>
        <translation>&amp;Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="400" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="401" />
        <source>Condition</source>
        <translation>Villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="402" />
        <source>Value</source>
        <translation>Värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="406" />
        <source>&amp;Add filter</source>
        <translation>&amp;Lägg till filter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="409" />
        <source>&amp;Remove filter</source>
        <translation>&amp;Ta bort filter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="415" />
        <source>Tickets that match all of these</source>
        <translation>Ärenden som uppfyller alla dessa villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="428" />
        <source>newest / highest first (descending)</source>
        <translation>nyaste / högsta först (fallande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="429" />
        <source>oldest / lowest first (ascending)</source>
        <translation>äldsta / lägsta först (stigande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="433" />
        <source>&amp;Sort by</source>
        <translation>S&amp;ortera efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="442" />
        <source>Tick the columns to show; drag or use the buttons to order them</source>
        <translation>Kryssa för de kolumner som ska visas; dra dem eller använd knapparna för att ändra ordningen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="444" />
        <source>Move &amp;up</source>
        <translation>Flytta &amp;upp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="446" />
        <source>Move do&amp;wn</source>
        <translation>Flytta n&amp;ed</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="451" />
        <source>Columns</source>
        <translation>Kolumner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="573" />
        <source>Counting…</source>
        <translation>Räknar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="581" />
        <source>Matches {n} tickets now</source>
        <translation>{n} ärenden matchar just nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="601" />
        <source>Queue not saved</source>
        <translation>Kön sparades inte</translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="299" />
        <location filename="../../itsmdesk/views/queue/model.py" line="305" />
        <source>paused</source>
        <translation>pausad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="304" />
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="304" />
        <source>at risk</source>
        <translation>i riskzonen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="304" />
        <source>breached</source>
        <translation>överskriden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="305" />
        <source>met</source>
        <translation>uppfylld</translation>
    </message>
</context>
<context>
    <name>QueuePanel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="40" />
        <source>My open</source>
        <translation>Mina öppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="41" />
        <source>My team</source>
        <translation>Mitt team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="42" />
        <source>Unassigned</source>
        <translation>Ej tilldelade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="43" />
        <source>SLA at risk</source>
        <translation>SLA i fara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="44" />
        <source>Breached</source>
        <translation>Bruten SLA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="45" />
        <source>All open</source>
        <translation>Alla öppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="46" />
        <source>Resolved recently</source>
        <translation>Nyligen lösta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="47" />
        <source>All tickets</source>
        <translation>Alla ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="71" />
        <source>Filter: words or a reference…</source>
        <translation>Filter: ord eller en referens…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="80" />
        <source>New ticket</source>
        <translation>Nytt ärende</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="81" />
        <source>Record a new incident (Ctrl+N)</source>
        <translation>Registrera en ny incident (Ctrl+N)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="84" />
        <source>Edit selected…</source>
        <translation>Redigera markerade…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="85" />
        <source>Change a field on every selected ticket (Ctrl+E)</source>
        <translation>Ändra ett fält i alla markerade ärenden (Ctrl+E)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="217" />
        <source>{n} tickets</source>
        <translation>{n} ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="258" />
        <source>Select the tickets to change first</source>
        <translation>Markera först de ärenden som ska ändras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="274" />
        <source>Changed {n} tickets (Ctrl+Shift+Z undoes)</source>
        <translation>{n} ärenden ändrade (Ctrl+Shift+Z ångrar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="283" />
        <source>No bulk edit to undo</source>
        <translation>Ingen massredigering att ångra</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="288" />
        <source>Undid the bulk edit of {n} tickets</source>
        <translation>Massredigeringen av {n} ärenden har ångrats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="303" />
        <source>Save queue</source>
        <translation>Spara kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="303" />
        <source>Name of the new queue</source>
        <translation>Namn på den nya kön</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="330" />
        <source>Only saved queues can be edited</source>
        <translation>Endast sparade köer kan redigeras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="349" />
        <source>New queue…</source>
        <translation>Ny kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="351" />
        <source>Edit queue…</source>
        <translation>Redigera kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="352" />
        <source>Save queue as…</source>
        <translation>Spara kö som…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="358" />
        <source>Only saved queues can be deleted</source>
        <translation>Endast sparade köer kan tas bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="370" />
        <source>&amp;New incident</source>
        <translation>&amp;Ny incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="371" />
        <source>New service &amp;request</source>
        <translation>Ny &amp;tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="373" />
        <source>&amp;Bulk edit selected tickets…</source>
        <translation>&amp;Massredigera markerade ärenden…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="374" />
        <source>&amp;Undo last bulk edit</source>
        <translation>&amp;Ångra senaste massredigering</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="375" />
        <source>Refresh &amp;queues</source>
        <translation>&amp;Uppdatera köer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="376" />
        <source>&amp;Save queue as…</source>
        <translation>&amp;Spara kö som…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="377" />
        <source>New &amp;queue…</source>
        <translation>Ny &amp;kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="378" />
        <source>Edit saved &amp;queue…</source>
        <translation>&amp;Redigera sparad kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="379" />
        <source>&amp;Delete saved queue</source>
        <translation>Ta &amp;bort sparad kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="381" />
        <source>Filter queue</source>
        <translation>Filtrera kö</translation>
    </message>
</context>
<context>
    <name>QuickOpen</name>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="11" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="12" />
        <source>Request</source>
        <translation>Tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="13" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="14" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="15" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="16" />
        <source>Release</source>
        <translation>Release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="17" />
        <source>Article</source>
        <translation>Artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="18" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="19" />
        <source>CAB meeting</source>
        <translation>CAB-möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="31" />
        <source>Quick open</source>
        <translation>Snabböppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="35" />
        <source>A reference (INC-123, CHG-7…) or words</source>
        <translation>En referens (INC-123, CHG-7…) eller ord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="38" />
        <source>↑↓ to choose, Enter to open, Esc to close</source>
        <translation>↑↓ för att välja, Enter för att öppna, Esc för att stänga</translation>
    </message>
</context>
<context>
    <name>RecordForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/common.py" line="52" />
        <source>Saved {ref}.</source>
        <translation>{ref} sparat.</translation>
    </message>
</context>
<context>
    <name>ReleaseForm</name>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="101" />
        <location filename="../../itsmdesk/views/forms/release_form.py" line="303" />
        <source>New release</source>
        <translation>Ny release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="110" />
        <source>&amp;Move</source>
        <translation>&amp;Flytta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="113" />
        <source>Release plan P&amp;DF…</source>
        <translation>Releaseplan som &amp;PDF…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="117" />
        <source>Move to:</source>
        <translation>Flytta till:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="125" />
        <source>&amp;Details</source>
        <translation>&amp;Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="126" />
        <source>&amp;Changes</source>
        <translation>&amp;Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="127" />
        <source>&amp;Plan</source>
        <translation>P&amp;lan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="128" />
        <source>&amp;Media library</source>
        <translation>&amp;Mediebibliotek</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="129" />
        <source>When</source>
        <translation>När</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="129" />
        <source>Who</source>
        <translation>Vem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="129" />
        <location filename="../../itsmdesk/views/forms/release_form.py" line="221" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="130" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="130" />
        <source>Old</source>
        <translation>Gammalt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="130" />
        <source>New</source>
        <translation>Nytt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="132" />
        <source>&amp;History</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="139" />
        <source>Save</source>
        <translation>Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="166" />
        <source>&amp;Save</source>
        <translation>&amp;Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="170" />
        <source>&amp;Name</source>
        <translation>&amp;Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="171" />
        <source>&amp;Version</source>
        <translation>&amp;Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="172" />
        <source>&amp;Type</source>
        <translation>&amp;Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="173" />
        <source>Planned &amp;start</source>
        <translation>Planerad st&amp;art</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="174" />
        <source>Planned &amp;end</source>
        <translation>Planerat sl&amp;ut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="175" />
        <source>Descr&amp;iption</source>
        <translation>Beskr&amp;ivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="176" />
        <source>&amp;Backout plan</source>
        <translation>&amp;Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="177" />
        <location filename="../../itsmdesk/views/forms/release_form.py" line="189" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="188" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="188" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="188" />
        <location filename="../../itsmdesk/views/forms/release_form.py" line="223" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="189" />
        <source>Approved</source>
        <translation>Godkänd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="195" />
        <source>CHG-000123</source>
        <translation>CHG-000123</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="197" />
        <source>&amp;Add change</source>
        <translation>Lägg till ä&amp;ndring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="199" />
        <source>&amp;Remove</source>
        <translation>Ta &amp;bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="220" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="220" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="220" />
        <source>Owner</source>
        <translation>Ägare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="221" />
        <source>Planned start</source>
        <translation>Planerad start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="222" />
        <source>Planned end</source>
        <translation>Planerat slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="222" />
        <source>Actual start</source>
        <translation>Faktisk start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="223" />
        <source>Actual end</source>
        <translation>Faktiskt slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="223" />
        <source>After</source>
        <translation>Efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="233" />
        <source>Add s&amp;tep…</source>
        <translation>Lägg till s&amp;teg…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="239" />
        <source>Set stat&amp;us</source>
        <translation>Ange stat&amp;us</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="241" />
        <source>&amp;Edit step…</source>
        <translation>&amp;Redigera steg…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="245" />
        <source>De&amp;lete step</source>
        <translation>Ta &amp;bort steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="247" />
        <source>Deplo&amp;y wave…</source>
        <translation>Driftsätt &amp;våg…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="249" />
        <source>Update the software CIs at the wave's site to the versions in the media library</source>
        <translation>Uppdatera programvaru-CI:na på vågens plats till versionerna i mediebiblioteket</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="272" />
        <source>Item</source>
        <translation>Objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="272" />
        <location filename="../../itsmdesk/views/forms/release_form.py" line="277" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="272" />
        <source>Checksum</source>
        <translation>Kontrollsumma</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="273" />
        <source>Master CI</source>
        <translation>Huvud-CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="275" />
        <source>Item name</source>
        <translation>Objektnamn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="279" />
        <source>sha256:…</source>
        <translation>sha256:…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="280" />
        <source>Add &amp;item</source>
        <translation>Lägg till &amp;objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="282" />
        <source>Remo&amp;ve item</source>
        <translation>Ta bort o&amp;bjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="291" />
        <source>Software this release delivers (each is a software CI in the CMDB). Deploying a wave sets the version of the matching software CIs at the wave's site.</source>
        <translation>Programvara som den här releasen levererar (var och en är ett programvaru-CI i CMDB). När en våg driftsätts sätts versionen på motsvarande programvaru-CI:n på vågens plats.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="330" />
        <source>all changes approved</source>
        <translation>alla ändringar godkända</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="331" />
        <source>no changes bundled</source>
        <translation>inga ändringar ingår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="332" />
        <source>{n} change(s) not approved: cannot deploy</source>
        <translation>{n} ändring(ar) inte godkända: kan inte driftsättas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="336" />
        <source>Status &lt;b&gt;{status}&lt;/b&gt; · type {type} · risk &lt;b&gt;&lt;span style='color:{rc}'&gt;{risk}&lt;/span&gt;&lt;/b&gt; · &lt;span style='color:{ac}'&gt;{approval}&lt;/span&gt; · manager {manager}</source>
        <translation>Status &lt;b&gt;{status}&lt;/b&gt; · typ {type} · risk &lt;b&gt;&lt;span style='color:{rc}'&gt;{risk}&lt;/span&gt;&lt;/b&gt; · &lt;span style='color:{ac}'&gt;{approval}&lt;/span&gt; · ansvarig {manager}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="350" />
        <source>no factors</source>
        <translation>inga faktorer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="356" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="356" />
        <source>NO</source>
        <translation>NEJ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="362" />
        <source>no changes</source>
        <translation>inga ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="363" />
        <source>Affected services: {names}</source>
        <translation>Berörda tjänster: {names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="523" />
        <source>Delete step</source>
        <translation>Ta bort steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="524" />
        <source>Delete '{name}' from the plan?</source>
        <translation>Vill du ta bort '{name}' från planen?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="540" />
        <source>Deploy '{wave}' at {site}?

{count} software CI(s) will be updated:
{names}</source>
        <translation>Vill du driftsätta '{wave}' på {site}?

{count} programvaru-CI(:n) kommer att uppdateras:
{names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="544" />
        <source>…and {n} more</source>
        <translation>…och {n} till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="545" />
        <source>Deploy wave</source>
        <translation>Driftsätt våg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/release_form.py" line="551" />
        <source>{wave}: {n} CI(s) updated; release is {status}</source>
        <translation>{wave}: {n} CI(:n) uppdaterade; releasen är {status}</translation>
    </message>
</context>
<context>
    <name>ReleaseListModel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="48" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="48" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="49" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="49" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="50" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="50" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51" />
        <source>Start</source>
        <translation>Start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51" />
        <source>Changes</source>
        <translation>Ändringar</translation>
    </message>
</context>
<context>
    <name>ReleasePlan</name>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="41" />
        <source>Phase</source>
        <translation>Fas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="42" />
        <source>Build</source>
        <translation>Bygge</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="43" />
        <source>Test</source>
        <translation>Test</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="44" />
        <source>Pilot</source>
        <translation>Pilot</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="45" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="324" />
        <source>Wave</source>
        <translation>Våg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="46" />
        <source>Backout</source>
        <translation>Återställning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="47" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="289" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="49" />
        <source>Jan</source>
        <translation>jan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="49" />
        <source>Feb</source>
        <translation>feb</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="50" />
        <source>Mar</source>
        <translation>mar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="50" />
        <source>Apr</source>
        <translation>apr</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="51" />
        <source>May</source>
        <translation>maj</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="51" />
        <source>Jun</source>
        <translation>jun</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="52" />
        <source>Jul</source>
        <translation>jul</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="52" />
        <source>Aug</source>
        <translation>aug</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="53" />
        <source>Sep</source>
        <translation>sep</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="53" />
        <source>Oct</source>
        <translation>okt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="54" />
        <source>Nov</source>
        <translation>nov</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="54" />
        <source>Dec</source>
        <translation>dec</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="167" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="299" />
        <source>not scheduled</source>
        <translation>ej schemalagd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="219" />
        <source>planned window</source>
        <translation>planerat fönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="220" />
        <source>actual: {status}</source>
        <translation>utfall: {status}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="229" />
        <source>now</source>
        <translation>nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="237" />
        <source>all bundled changes approved</source>
        <translation>alla ingående ändringar godkända</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="238" />
        <source>no changes bundled</source>
        <translation>inga ändringar ingår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="239" />
        <source>{n} of {total} changes NOT approved: deployment is blocked</source>
        <translation>{n} av {total} ändringar INTE godkända: driftsättning är spärrad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="244" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="341" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="245" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="246" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="269" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="290" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="325" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="247" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="269" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="248" />
        <source>Planned window</source>
        <translation>Planerat fönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="249" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="356" />
        <source>Release manager</source>
        <translation>Releaseansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="250" />
        <source>Release team</source>
        <translation>Releaseteam</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="251" />
        <source>Change approval</source>
        <translation>Ändringsgodkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="253" />
        <source>Rollout</source>
        <translation>Utrullning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="253" />
        <source>{waves} wave(s) to {sites} site(s)</source>
        <translation>{waves} våg(or) till {sites} plats(er)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="258" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="259" />
        <source>Risk assessment</source>
        <translation>Riskbedömning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="261" />
        <source>Factor</source>
        <translation>Faktor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="261" />
        <source>Level</source>
        <translation>Nivå</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="261" />
        <source>Why</source>
        <translation>Varför</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="265" />
        <source>No risk factors: no bundled change carries a risk assessment.</source>
        <translation>Inga riskfaktorer: ingen ingående ändring har en riskbedömning.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="267" />
        <source>Included changes</source>
        <translation>Ingående ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="269" />
        <source>Approved</source>
        <translation>Godkänd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="276" />
        <source>This release bundles no change yet.</source>
        <translation>Releasen innehåller ännu ingen ändring.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="278" />
        <source>Affected services</source>
        <translation>Påverkade tjänster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="280" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="280" />
        <source>Criticality</source>
        <translation>Kritikalitet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="280" />
        <source>Hops from a changed CI</source>
        <translation>Steg från ändrat CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="284" />
        <source>No business service depends on the CIs the bundled changes touch.</source>
        <translation>Ingen verksamhetstjänst är beroende av de CI:n som de ingående ändringarna berör.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="287" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="386" />
        <source>Release plan</source>
        <translation>Releaseplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="324" />
        <source>Owner</source>
        <translation>Ansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="324" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="289" />
        <location filename="../../itsmdesk/reports/release_plan.py" line="324" />
        <source>Planned (UTC)</source>
        <translation>Planerat (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="290" />
        <source>Actual (UTC)</source>
        <translation>Utfall (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="290" />
        <source>After</source>
        <translation>Efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="307" />
        <source>Plan warnings</source>
        <translation>Varningar i planen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="312" />
        <source>Gantt chart</source>
        <translation>Gantt-schema</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="319" />
        <source>No plan steps yet.</source>
        <translation>Inga planeringssteg ännu.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="321" />
        <source>Rollout waves</source>
        <translation>Utrullningsvågor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="324" />
        <source>Software CIs</source>
        <translation>CI:n (programvara)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="325" />
        <source>Deployed (UTC)</source>
        <translation>Driftsatt (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="337" />
        <source>No rollout waves planned.</source>
        <translation>Inga utrullningsvågor planerade.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="339" />
        <source>Definitive media library</source>
        <translation>Definitivt mediebibliotek (DML)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="341" />
        <source>Item</source>
        <translation>Objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="341" />
        <source>Checksum</source>
        <translation>Kontrollsumma</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="341" />
        <source>Master CI</source>
        <translation>Huvud-CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="347" />
        <source>No software items registered.</source>
        <translation>Inga programvaruobjekt registrerade.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="349" />
        <source>Backout plan</source>
        <translation>Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="350" />
        <source>No backout plan recorded.</source>
        <translation>Ingen återställningsplan registrerad.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="353" />
        <source>Backout step: {name} — owner {owner}, {status}</source>
        <translation>Återställningssteg: {name} — ansvarig {owner}, {status}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="356" />
        <source>Change manager</source>
        <translation>Ändringsansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="357" />
        <source>CAB chair</source>
        <translation>CAB-ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="358" />
        <source>Service owner: {name}</source>
        <translation>Tjänsteägare: {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359" />
        <source>Role</source>
        <translation>Roll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359" />
        <source>Signature</source>
        <translation>Underskrift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="359" />
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="365" />
        <source>Sign-off</source>
        <translation>Godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/release_plan.py" line="366" />
        <source>By signing, the CAB authorises the rollout of this release as planned above, including the backout plan.</source>
        <translation>Genom underskrift godkänner CAB utrullningen av releasen enligt planen ovan, inklusive återställningsplanen.</translation>
    </message>
</context>
<context>
    <name>ReleasePlanPreview</name>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="51" />
        <source>all bundled changes approved</source>
        <translation>alla ingående ändringar godkända</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="52" />
        <source>no changes bundled</source>
        <translation>inga ändringar ingår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="53" />
        <source>{n} of {m} changes NOT approved: deployment is blocked</source>
        <translation>{n} av {m} ändringar INTE godkända: driftsättning är spärrad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="57" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="57" />
        <source>Value</source>
        <translation>Värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="87" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="70" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="70" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="60" />
        <source>Planned window</source>
        <translation>Planerat fönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="61" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="92" />
        <source>Release manager</source>
        <translation>Releaseansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="61" />
        <source>Release team</source>
        <translation>Releaseteam</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="62" />
        <source>Change approval</source>
        <translation>Ändringsgodkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="67" />
        <source>Factor</source>
        <translation>Faktor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="67" />
        <source>Level</source>
        <translation>Nivå</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="67" />
        <source>Why</source>
        <translation>Varför</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="70" />
        <source>Approved</source>
        <translation>Godkänd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="75" />
        <source>None</source>
        <translation>Ingen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77" />
        <source>Owner</source>
        <translation>Ägare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="77" />
        <source>Planned</source>
        <translation>Planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>Actual</source>
        <translation>Utfall</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>After</source>
        <translation>Efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="87" />
        <source>Item</source>
        <translation>Objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="87" />
        <source>Checksum</source>
        <translation>Kontrollsumma</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="87" />
        <source>Master CI</source>
        <translation>Huvud-CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="92" />
        <source>Change manager</source>
        <translation>Ändringsansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="92" />
        <source>CAB chair</source>
        <translation>CAB-ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93" />
        <source>Role</source>
        <translation>Roll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93" />
        <source>Signature</source>
        <translation>Underskrift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93" />
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="103" />
        <source>Save release plan PDF</source>
        <translation>Spara releaseplan som PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="104" />
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="124" />
        <source>Release plan {ref}</source>
        <translation>Releaseplan {ref}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="127" />
        <source>Save PDF…</source>
        <translation>Spara PDF…</translation>
    </message>
</context>
<context>
    <name>ReleasesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="101" />
        <source>Open releases</source>
        <translation>Öppna releaser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="102" />
        <source>All releases</source>
        <translation>Alla releaser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="107" />
        <source>Search reference, name, version…</source>
        <translation>Sök referens, namn, version…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="109" />
        <source>&amp;New release</source>
        <translation>&amp;Ny release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="194" />
        <source>Release plan PDF</source>
        <translation>Releaseplan som PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="195" />
        <source>Release reference (e.g. REL-000001):</source>
        <translation>Releasereferens (t.ex. REL-000001):</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="202" />
        <source>New &amp;release</source>
        <translation>Ny &amp;release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="206" />
        <source>Release &amp;plan PDF…</source>
        <translation>Release&amp;plan som PDF…</translation>
    </message>
</context>
<context>
    <name>RunPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="431" />
        <source>Dry run</source>
        <translation>Testkörning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="431" />
        <source>Import</source>
        <translation>Importera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="432" />
        <source>Reads and checks everything; writes nothing.</source>
        <translation>Läser och kontrollerar allt; skriver ingenting.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="433" />
        <source>Writes in one transaction: all rows or, if cancelled, none.</source>
        <translation>Skriver i en transaktion: alla rader eller, om det avbryts, inga.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="441" />
        <source>&amp;Cancel import</source>
        <translation>&amp;Avbryt import</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="454" />
        <source>Rows that would be rejected (line, column, reason):</source>
        <translation>Rader som skulle avvisas (rad, kolumn, orsak):</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="455" />
        <source>Rejected rows:</source>
        <translation>Avvisade rader:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="458" />
        <source>Import the valid rows and save the rejected ones to:</source>
        <translation>Importera de giltiga raderna och spara de avvisade till:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="460" />
        <source>rejected rows (.csv)</source>
        <translation>avvisade rader (.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="461" />
        <source>B&amp;rowse…</source>
        <translation>B&amp;läddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="490" />
        <source>Working…</source>
        <translation>Arbetar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="497" />
        <source>Save rejected rows</source>
        <translation>Spara avvisade rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="498" />
        <source>CSV files (*.csv)</source>
        <translation>CSV-filer (*.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="513" />
        <source>Reading the file…</source>
        <translation>Läser filen…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="514" />
        <source>Checking rows…</source>
        <translation>Kontrollerar rader…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="515" />
        <source>Writing…</source>
        <translation>Skriver…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="516" />
        <source>Writing records…</source>
        <translation>Skriver poster…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="517" />
        <source>Updating records…</source>
        <translation>Uppdaterar poster…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="518" />
        <source>Writing history…</source>
        <translation>Skriver historik…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="525" />
        <source>Cancelling…</source>
        <translation>Avbryter…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="557" />
        <source>Rejected rows were saved to {path}</source>
        <translation>Avvisade rader sparades till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="563" />
        <source>… and {n} more</source>
        <translation>… och {n} till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="569" />
        <source>Nothing was imported: {n} rows are invalid.</source>
        <translation>Ingenting importerades: {n} rader är ogiltiga.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="571" />
        <source>{n} rows are invalid: fix the file or the mapping and go back, or import only the valid rows (below).</source>
        <translation>{n} rader är ogiltiga: rätta filen eller mappningen och gå tillbaka, eller importera endast de giltiga raderna (nedan).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="574" />
        <source>Every row is valid. Import writes the following:</source>
        <translation>Alla rader är giltiga. Importen skriver följande:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="575" />
        <source>Imported.</source>
        <translation>Importerat.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="578" />
        <source>Rows read</source>
        <translation>Lästa rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="579" />
        <source>Records to create</source>
        <translation>Poster att skapa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="579" />
        <source>Records created</source>
        <translation>Skapade poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="581" />
        <source>Records to update</source>
        <translation>Poster att uppdatera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="581" />
        <source>Records updated</source>
        <translation>Uppdaterade poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="583" />
        <source>Unchanged</source>
        <translation>Oförändrade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="584" />
        <source>Rejected rows</source>
        <translation>Avvisade rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="585" />
        <source>New people</source>
        <translation>Nya personer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="586" />
        <source>New teams</source>
        <translation>Nya team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="587" />
        <source>New categories</source>
        <translation>Nya kategorier</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="588" />
        <source>New CIs</source>
        <translation>Nya CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="589" />
        <source>New CI classes</source>
        <translation>Nya CI-klasser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="590" />
        <source>New sites</source>
        <translation>Nya platser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="591" />
        <source>New linked problems</source>
        <translation>Nya kopplade problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="592" />
        <source>New linked changes</source>
        <translation>Nya kopplade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="593" />
        <source>History entries</source>
        <translation>Historikposter</translation>
    </message>
</context>
<context>
    <name>ServiceDeskActions</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="27" />
        <source>Sign in as</source>
        <translation>Logga in som</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="27" />
        <source>Person</source>
        <translation>Person</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="37" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="41" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="44" />
        <source>Notifications</source>
        <translation>Aviseringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="37" />
        <source>Sign in first (Ctrl+Shift+P).</source>
        <translation>Logga in först (Ctrl+Shift+P).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="41" />
        <source>No unread notifications.</source>
        <translation>Inga olästa aviseringar.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="46" />
        <source>{n} notifications read</source>
        <translation>{n} aviseringar lästa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="55" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="59" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="71" />
        <source>Import holidays</source>
        <translation>Importera helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="56" />
        <source>Create a business calendar first (itsmdesk business-calendar create).</source>
        <translation>Skapa en arbetstidskalender först (itsmdesk business-calendar create).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="59" />
        <source>Calendar</source>
        <translation>Kalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="62" />
        <source>Holidays (.ics)</source>
        <translation>Helgdagar (.ics)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="63" />
        <source>iCalendar files (*.ics)</source>
        <translation>iCalendar-filer (*.ics)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="72" />
        <source>{added} holidays added, {skipped} already there.</source>
        <translation>{added} helgdagar tillagda, {skipped} fanns redan.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="84" />
        <source>Escalation check: {f} newly at risk, {b} newly breached</source>
        <translation>Eskaleringskontroll: {f} nya i SLA-fara, {b} nya med bruten SLA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="106" />
        <source>Sign in &amp;as…</source>
        <translation>&amp;Logga in som…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="107" />
        <source>&amp;Notifications…</source>
        <translation>&amp;Aviseringar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="108" />
        <source>Run SLA &amp;escalation now</source>
        <translation>Kör SLA-&amp;eskalering nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="109" />
        <source>&amp;SLA targets…</source>
        <translation>&amp;SLA-mål…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="110" />
        <source>Priority &amp;matrix…</source>
        <translation>Prioritets&amp;matris…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="111" />
        <source>Import &amp;holidays (.ics)…</source>
        <translation>Importera &amp;helgdagar (.ics)…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="112" />
        <source>&amp;Diagnostic scripts…</source>
        <translation>&amp;Diagnosskript…</translation>
    </message>
</context>
<context>
    <name>SettingsDialogs</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="34" />
        <source>SLA targets ({kind})</source>
        <translation>SLA-mål ({kind})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="36" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="36" />
        <source>Response (min)</source>
        <translation>Svarstid (min)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="36" />
        <source>Resolution (min)</source>
        <translation>Lösningstid (min)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="54" />
        <source>Escalate at</source>
        <translation>Eskalera vid</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="61" />
        <source>Targets count business minutes on the SLA's calendar and stop while a ticket is pending.</source>
        <translation>Målen räknas i arbetsminuter enligt SLA:ns kalender och stannar medan ett ärende är väntande.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="85" />
        <source>Priority matrix</source>
        <translation>Prioritetsmatris</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="87" />
        <source>Impact \ Urgency</source>
        <translation>Påverkan \ Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="88" />
        <source>high</source>
        <translation>hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="88" />
        <source>medium</source>
        <translation>medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="88" />
        <source>low</source>
        <translation>låg</translation>
    </message>
</context>
<context>
    <name>StepDialog</name>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="65" />
        <source>Add plan step</source>
        <translation>Lägg till planeringssteg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="71" />
        <source>(no phase)</source>
        <translation>(ingen fas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="76" />
        <source>(nobody)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="80" />
        <source>(no team)</source>
        <translation>(inget team)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="84" />
        <source>(no site)</source>
        <translation>(ingen plats)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="89" />
        <source>(nothing)</source>
        <translation>(ingenting)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="94" />
        <source>&amp;Name</source>
        <translation>&amp;Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="95" />
        <source>&amp;Kind</source>
        <translation>&amp;Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="96" />
        <source>&amp;Phase</source>
        <translation>&amp;Fas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="97" />
        <source>Owner (&amp;person)</source>
        <translation>Ägare (&amp;person)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="98" />
        <source>Owner (&amp;team)</source>
        <translation>Ägare (tea&amp;m)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="99" />
        <source>&amp;Site (waves)</source>
        <translation>P&amp;lats (vågor)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="100" />
        <source>Planned &amp;start</source>
        <translation>Planerad st&amp;art</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="101" />
        <source>Planned &amp;end</source>
        <translation>Planerat sl&amp;ut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="102" />
        <source>&amp;After</source>
        <translation>Eft&amp;er</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/editors.py" line="111" />
        <source>Edit plan step</source>
        <translation>Redigera planeringssteg</translation>
    </message>
</context>
<context>
    <name>SuggestionsWidget</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="41" />
        <source>&amp;Link</source>
        <translation>&amp;Koppla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="42" />
        <source>Apply &amp;workaround</source>
        <translation>Tillämpa &amp;tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="43" />
        <source>Open</source>
        <translation>Öppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="51" />
        <source>Known errors and articles that may match</source>
        <translation>Kända fel och artiklar som kan matcha</translation>
    </message>
</context>
<context>
    <name>_ChartBase</name>
    <message>
        <location filename="../../itsmdesk/views/dashboard/charts.py" line="26" />
        <source>No data for this period</source>
        <translation>Inga data för den här perioden</translation>
    </message>
</context>
<context>
    <name>argparse</name>
    <message>
        <location filename="../../itsmdesk/cli.py" line="32" />
        <source>usage: </source>
        <translation>användning: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="33" />
        <source>positional arguments</source>
        <translation>positionsargument</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="34" />
        <source>options</source>
        <translation>flaggor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="35" />
        <source>show this help message and exit</source>
        <translation>visa detta hjälpmeddelande och avsluta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="36" />
        <source>show program's version number and exit</source>
        <translation>visa programmets versionsnummer och avsluta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="37" />
        <source>%(prog)s: error: %(message)s
</source>
        <translation>%(prog)s: fel: %(message)s
</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="38" />
        <source>argument %(argument_name)s: %(message)s</source>
        <translation>argument %(argument_name)s: %(message)s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="39" />
        <source>invalid choice: %(value)r (choose from %(choices)s)</source>
        <translation>ogiltigt val: %(value)r (välj bland %(choices)s)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="40" />
        <source>invalid %(type)s value: %(value)r</source>
        <translation>ogiltigt %(type)s-värde: %(value)r</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="41" />
        <source>the following arguments are required: %s</source>
        <translation>följande argument krävs: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="42" />
        <source>unrecognized arguments: %s</source>
        <translation>okända argument: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="43" />
        <source>expected one argument</source>
        <translation>ett argument förväntades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="44" />
        <source>expected at least one argument</source>
        <translation>minst ett argument förväntades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="45" />
        <source>expected at most one argument</source>
        <translation>högst ett argument förväntades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="46" />
        <source>ambiguous option: %(option)s could match %(matches)s</source>
        <translation>tvetydig flagga: %(option)s kan avse %(matches)s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="47" />
        <source>not allowed with argument %s</source>
        <translation>inte tillåtet tillsammans med argumentet %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="48" />
        <source>one of the arguments %s is required</source>
        <translation>ett av argumenten %s krävs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="49" />
        <source>can't open '%(filename)s': %(error)s</source>
        <translation>kan inte öppna '%(filename)s': %(error)s</translation>
    </message>
</context>
<context>
    <name>availability</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="223" />
        <source>Availability report (PDF)…</source>
        <translation>Tillgänglighetsrapport (PDF)…</translation>
    </message>
</context>
<context>
    <name>cmdb</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="45" />
        <source>line {line}, column {column}: {reason}</source>
        <translation>rad {line}, kolumn {column}: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="216" />
        <source>Export CIs as CSV</source>
        <translation>Exportera CI:n som CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="217" />
        <source>{n} CIs written to {path}</source>
        <translation>{n} CI:n skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="218" />
        <source>Export relations as CSV</source>
        <translation>Exportera relationer som CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="219" />
        <source>{n} relations written to {path}</source>
        <translation>{n} relationer skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="227" />
        <source>Exporting…</source>
        <translation>Exporterar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="114" />
        <source>Import CIs/relations from CSV…</source>
        <translation>Importera CI:n/relationer från CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="116" />
        <source>Export CIs as CSV…</source>
        <translation>Exportera CI:n som CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="118" />
        <source>Export relations as CSV…</source>
        <translation>Exportera relationer som CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="120" />
        <source>CMDB baselines…</source>
        <translation>CMDB-baslinjer…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="122" />
        <source>Audit CMDB against a scan…</source>
        <translation>Granska CMDB mot en skanning…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="124" />
        <source>New CI</source>
        <translation>Nytt CI</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <location filename="../../itsmdesk/i18n.py" line="87" />
        <source>Unexpected error: {error}</source>
        <translation>Oväntat fel: {error}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/messages.py" line="14" />
        <source>itsmdesk</source>
        <translation>itsmdesk</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="4" />
        <source>"{value}" is not a date (YYYY-MM-DD)</source>
        <translation>"{value}" är inget datum (ÅÅÅÅ-MM-DD)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="5" />
        <source>"{value}" is not a number of days</source>
        <translation>"{value}" är inget antal dagar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="6" />
        <source>'{name}' already appears on line {first}</source>
        <translation>'{name}' förekommer redan på rad {first}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="7" />
        <source>'{name}' is not a phase of this release</source>
        <translation>'{name}' är inte en fas i den här releasen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="8" />
        <source>'{name}' is not a rollout wave</source>
        <translation>'{name}' är inte en utrullningsvåg</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="9" />
        <source>'{step}' cannot depend on '{other}': '{other}' already waits for '{step}' (that would be a cycle)</source>
        <translation>'{step}' kan inte bero på '{other}': '{other}' väntar redan på '{step}' (det skulle ge en cykel)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="10" />
        <source>'{step}' is planned to start ({start}) before '{other}' ends ({end})</source>
        <translation>'{step}' är planerat att starta ({start}) innan '{other}' slutar ({end})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="11" />
        <source>'{step}' matches several steps: {names}</source>
        <translation>'{step}' matchar flera steg: {names}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="12" />
        <source>'{value}' is not a checksum (hex digits, optionally prefixed sha256:)</source>
        <translation>'{value}' är ingen kontrollsumma (hexadecimala siffror, eventuellt med prefixet sha256:)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="13" />
        <source>'{value}' is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)</source>
        <translation>'{value}' är inget datum (använd ÅÅÅÅ-MM-DD eller ÅÅÅÅ-MM-DDTHH:MM)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="14" />
        <source>'{value}' is not a valid recurrence rule: {reason}</source>
        <translation>'{value}' är ingen giltig upprepningsregel: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="15" />
        <source>'{value}' is not a whole number of at least 1</source>
        <translation>'{value}' är inte ett heltal som är minst 1</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="16" />
        <source>'{value}' is not an e-mail address</source>
        <translation>'{value}' är ingen e-postadress</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="17" />
        <source>'{value}' is not one of: {allowed}</source>
        <translation>'{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="18" />
        <source>'{value}' is not true or false</source>
        <translation>'{value}' är varken sant eller falskt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="19" />
        <source>A CAB meeting needs a date and time</source>
        <translation>Ett CAB-möte måste ha datum och tid</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="20" />
        <source>A CI cannot relate to itself ({name})</source>
        <translation>Ett CI kan inte ha en relation till sig självt ({name})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="21" />
        <source>A CI named '{value}' already exists</source>
        <translation>Det finns redan ett CI med namnet '{value}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="22" />
        <source>A CI needs a class</source>
        <translation>Ett CI måste ha en klass</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="23" />
        <source>A baseline named '{value}' already exists</source>
        <translation>Det finns redan en baslinje med namnet '{value}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="24" />
        <source>A baseline needs a name</source>
        <translation>En baslinje måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="25" />
        <source>A calendar named {name} already exists</source>
        <translation>Det finns redan en kalender med namnet {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="26" />
        <source>A calendar needs a name</source>
        <translation>En kalender måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="27" />
        <source>A category is for incidents or for requests, not {kind}</source>
        <translation>En kategori gäller antingen incidenter eller tjänstebegäranden, inte {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="28" />
        <source>A category name is at most 200 characters</source>
        <translation>Ett kategorinamn får vara högst 200 tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="29" />
        <source>A category needs a name</source>
        <translation>En kategori måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="30" />
        <source>A diagnostic script is a list of steps</source>
        <translation>Ett diagnosskript är en lista med steg</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="31" />
        <source>A phase cannot sit inside another phase</source>
        <translation>En fas kan inte ligga inuti en annan fas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="32" />
        <source>A planned window needs a start and an end</source>
        <translation>Ett planerat fönster måste ha en start och ett slut</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="33" />
        <source>A problem cannot go from {old} to {new}</source>
        <translation>Ett problem kan inte gå från {old} till {new}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="34" />
        <source>A queue filter needs a field, an operator and a value: {f}</source>
        <translation>Ett köfilter måste ha ett fält, en operator och ett värde: {f}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="35" />
        <source>A queue needs a name</source>
        <translation>En kö måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="36" />
        <source>A resolution code is required to resolve</source>
        <translation>En lösningskod krävs för att lösa</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="37" />
        <source>A ticket cannot be its own parent</source>
        <translation>Ett ärende kan inte vara överordnat sig självt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="38" />
        <source>A work log note needs some text</source>
        <translation>En anteckning i arbetsloggen måste innehålla text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="39" />
        <source>A {role} may not move a change from {source} to {target}</source>
        <translation>En {role} får inte flytta en ändring från {source} till {target}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="40" />
        <source>A {type} change cannot go from {source} to {target} (allowed: {options})</source>
        <translation>En ändring av typen {type} kan inte gå från {source} till {target} (tillåtet: {options})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="41" />
        <source>An action needs a text</source>
        <translation>En åtgärd måste ha en text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="42" />
        <source>An announcement cannot end before it starts</source>
        <translation>Ett meddelande kan inte sluta innan det börjar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="43" />
        <source>An announcement needs a title</source>
        <translation>Ett meddelande måste ha en rubrik</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="44" />
        <source>An in-memory database cannot be backed up</source>
        <translation>En databas i minnet kan inte säkerhetskopieras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="45" />
        <source>Answer {m} of step {n} is longer than {max} characters</source>
        <translation>Svar {m} i steg {n} är längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="46" />
        <source>Answer {m} of step {n} needs a label</source>
        <translation>Svar {m} i steg {n} måste ha en text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="47" />
        <source>Approve</source>
        <translation>Godkänn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="48" />
        <source>Approve (pre-approved)</source>
        <translation>Godkänn (förgodkänd)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="49" />
        <source>Articles link to CIs, known errors and incidents, not {kind}</source>
        <translation>Artiklar kopplas till CI:n, kända fel och incidenter, inte {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="50" />
        <source>Assess</source>
        <translation>Bedöm</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="51" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="52" />
        <source>Attribute {attr} is required for class {cls}</source>
        <translation>Attributet {attr} är obligatoriskt för klassen {cls}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="53" />
        <source>Attribute {attr}: '{value}' is not a valid {type}</source>
        <translation>Attributet {attr}: '{value}' är inte en giltig {type}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="54" />
        <source>Attribute {attr}: '{value}' is not one of: {allowed}</source>
        <translation>Attributet {attr}: '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="55" />
        <source>Availability is computed by ci or service, not {by}</source>
        <translation>Tillgänglighet beräknas per ci eller service, inte {by}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="56" />
        <source>Backed out</source>
        <translation>Återställd</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="57" />
        <source>Backup to {path} failed: {reason}</source>
        <translation>Säkerhetskopiering till {path} misslyckades: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="58" />
        <source>Bad database URL '{url}': write postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation>Felaktig databas-URL '{url}': skriv postgresql://USER:PASSWORD@HOST:PORT/DBNAME</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="59" />
        <source>Bad database URL '{url}': write sqlite:///relative.db or sqlite:////absolute.db</source>
        <translation>Felaktig databas-URL '{url}': skriv sqlite:///relative.db eller sqlite:////absolute.db</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="60" />
        <source>Bad port in database URL '{url}'</source>
        <translation>Felaktig port i databas-URL:en '{url}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="61" />
        <source>Bad template {template!r}: {reason}</source>
        <translation>Felaktig mall {template!r}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="62" />
        <source>Both an incident and a request category are named {name}; say which kind</source>
        <translation>Både en incidentkategori och en kategori för tjänstebegäranden heter {name}; ange vilken typ</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="63" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="64" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="65" />
        <source>Cannot create the folder {path}: {reason}</source>
        <translation>Kan inte skapa mappen {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="66" />
        <source>Cannot create {path}: {reason}</source>
        <translation>Kan inte skapa {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="67" />
        <source>Cannot import {kind} with a mapping</source>
        <translation>Kan inte importera {kind} med en mappning</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="68" />
        <source>Cannot read mapping {path}: {reason}</source>
        <translation>Kan inte läsa mappningen {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="69" />
        <source>Cannot read {path}: {error}</source>
        <translation>Kan inte läsa {path}: {error}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="70" />
        <source>Cannot read {path}: {reason}</source>
        <translation>Kan inte läsa {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="71" />
        <source>Cannot sort a queue by {field}</source>
        <translation>Kan inte sortera en kö efter {field}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="72" />
        <source>Cannot sort a queue by {name}</source>
        <translation>Kan inte sortera en kö efter {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="73" />
        <source>Cannot use the PostgreSQL database {db} at {host}:{port}: {reason}</source>
        <translation>Kan inte använda PostgreSQL-databasen {db} på {host}:{port}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="74" />
        <source>Cannot write the database file {path}</source>
        <translation>Kan inte skriva databasfilen {path}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="75" />
        <source>Cannot write the database file {path}: {reason}</source>
        <translation>Kan inte skriva databasfilen {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="76" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="77" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="78" />
        <source>Class {cls} has no attribute '{attr}'</source>
        <translation>Klassen {cls} har inget attribut '{attr}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="79" />
        <source>Close</source>
        <translation>Stäng</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="80" />
        <source>Defer / reassess</source>
        <translation>Skjut upp / bedöm på nytt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="81" />
        <source>Describe the solution to resolve</source>
        <translation>Beskriv lösningen för att kunna lösa</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="82" />
        <source>Due</source>
        <translation>Förfaller</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="83" />
        <source>Export format must be text or html, not {fmt}</source>
        <translation>Exportformatet måste vara text eller html, inte {fmt}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="84" />
        <source>Failed</source>
        <translation>Misslyckad</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="85" />
        <source>Field(s) {fields} cannot be bulk edited</source>
        <translation>Fälten {fields} kan inte massredigeras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="86" />
        <source>Folding an event log needs the column with each row's time</source>
        <translation>För att slå samman en händelselogg krävs kolumnen med varje rads tidpunkt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="87" />
        <source>Folding an event log needs the key column</source>
        <translation>För att slå samman en händelselogg krävs nyckelkolumnen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="88" />
        <source>Group by '{value}' is not one of: {allowed}</source>
        <translation>Gruppering efter '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="89" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="90" />
        <source>Implemented</source>
        <translation>Genomförd</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="91" />
        <source>Import cancelled; nothing was written.</source>
        <translation>Importen avbröts; ingenting skrevs.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="92" />
        <source>Importing {kind} needs a mapping: add --map MAPPING.toml (ready ones are in resources/import-maps/)</source>
        <translation>Import av {kind} kräver en mappning: lägg till --map MAPPING.toml (färdiga finns i resources/import-maps/)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="93" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="94" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks comma-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara kommaavgränsad; ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="95" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks pipe-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara avgränsad med lodstreck (|); ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="96" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks semicolon-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara semikolonavgränsad; ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="97" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks tab-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara tabbavgränsad; ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="98" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}).{hint}</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}).{hint}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="99" />
        <source>Line {line}: the file is not {encoding} (byte 0x{byte:02x}); set encoding = "{guess}" or "auto" in the mapping's [source]</source>
        <translation>Rad {line}: filen är inte {encoding} (byte 0x{byte:02x}); ange encoding = "{guess}" eller "auto" under [source] i mappningen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="100" />
        <source>Map at least one column to a field</source>
        <translation>Mappa minst en kolumn till ett fält</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="101" />
        <source>Mapping {path} is for {mapped}, not {kind}</source>
        <translation>Mappningen {path} gäller {mapped}, inte {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="102" />
        <source>Mapping {path} is not valid TOML: {reason}</source>
        <translation>Mappningen {path} är inte giltig TOML: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="103" />
        <source>Mapping {path}: [fields] {field}: {reason}</source>
        <translation>Mappningen {path}: [fields] {field}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="104" />
        <source>Mapping {path}: importing {kind} needs key = "COLUMN": the source's id, kept as external key so that a re-import updates instead of duplicating</source>
        <translation>Mappningen {path}: import av {kind} kräver key = "COLUMN": källans id, som sparas som extern nyckel så att en ny import uppdaterar i stället för att skapa dubbletter</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="105" />
        <source>Mapping {path}: {field} is not a field of {kind} (fields: {known})</source>
        <translation>Mappningen {path}: {field} är inte ett fält i {kind} (fält: {known})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="106" />
        <source>Mapping {path}: {where}: {reason}</source>
        <translation>Mappningen {path}: {where}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="107" />
        <source>Meeting status '{value}' is not one of: planned, held, cancelled</source>
        <translation>Mötesstatusen '{value}' är inte något av: planned, held, cancelled</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="108" />
        <source>No CAB action {id}</source>
        <translation>Ingen CAB-åtgärd {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="109" />
        <source>No CAB meeting {ref}</source>
        <translation>Inget CAB-möte {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="110" />
        <source>No CI is named '{name}'</source>
        <translation>Inget CI heter '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="111" />
        <source>No CI named '{name}'</source>
        <translation>Inget CI med namnet '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="112" />
        <source>No baseline named '{name}'</source>
        <translation>Ingen baslinje med namnet '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="113" />
        <source>No business calendar {name}</source>
        <translation>Ingen arbetstidskalender {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="114" />
        <source>No category named {name}</source>
        <translation>Det finns ingen kategori som heter {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="115" />
        <source>No change with reference '{ref}'</source>
        <translation>Ingen ändring med referensen '{ref}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="116" />
        <source>No change {ref}</source>
        <translation>Ingen ändring {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="117" />
        <source>No default business calendar: create one named Default or pass --calendar NAME</source>
        <translation>Ingen standardkalender för arbetstid: skapa en med namnet Default eller ange --calendar NAME</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="118" />
        <source>No incident or request {ref}</source>
        <translation>Ingen incident eller begäran {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="119" />
        <source>No incident {ref}</source>
        <translation>Ingen incident {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="120" />
        <source>No problem or known error with id {id}</source>
        <translation>Inget problem eller känt fel med id {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="121" />
        <source>No problem {ref}</source>
        <translation>Inget problem {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="122" />
        <source>No release with reference '{ref}'</source>
        <translation>Ingen release med referensen '{ref}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="123" />
        <source>No step '{step}' in this release</source>
        <translation>Inget steg '{step}' i den här releasen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="124" />
        <source>No such file: {path}</source>
        <translation>Filen finns inte: {path}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="125" />
        <source>No {kind} with id {id}</source>
        <translation>Ingen {kind} med id {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="126" />
        <source>No {kind} {ref}</source>
        <translation>Ingen {kind} {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="127" />
        <source>Not an iCalendar file: {reason}</source>
        <translation>Inte en iCalendar-fil: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="128" />
        <source>Nothing has the reference or name '{ref}'</source>
        <translation>Inget har referensen eller namnet '{ref}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="129" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="130" />
        <source>Overriding the risk needs a reason</source>
        <translation>Att åsidosätta risken kräver en orsak</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="131" />
        <source>PIR outcome '{value}' is not one of: {allowed}</source>
        <translation>PIR-utfallet '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="132" />
        <source>Page size '{value}' is not one of: A4, Letter</source>
        <translation>Sidstorleken '{value}' är inte något av: A4, Letter</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="133" />
        <source>Pick at least one value for the filter on {name}</source>
        <translation>Välj minst ett värde för filtret på {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="134" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="135" />
        <source>Propagation '{value}' is not one of: {allowed}</source>
        <translation>Spridningen '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="136" />
        <source>Record the permanent solution (or a workaround) before resolving the problem</source>
        <translation>Registrera den permanenta lösningen (eller en tillfällig lösning) innan problemet löses</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="137" />
        <source>Record the root cause before marking it known</source>
        <translation>Registrera grundorsaken innan den markeras som känd</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="138" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="139" />
        <source>Reject</source>
        <translation>Avslå</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="140" />
        <source>Relation type '{value}' is not one of: {allowed}</source>
        <translation>Relationstypen '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="141" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="142" />
        <source>Return to requester</source>
        <translation>Returnera till beställaren</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="143" />
        <source>Rework</source>
        <translation>Omarbeta</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="144" />
        <source>Risk level '{value}' is not one of: {allowed}</source>
        <translation>Risknivån '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="145" />
        <source>SLA</source>
        <translation>SLA</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="146" />
        <source>SLA targets must be positive minutes</source>
        <translation>SLA-mål måste vara ett positivt antal minuter</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="147" />
        <source>SQLite error on {path}: {reason}</source>
        <translation>SQLite-fel i {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="148" />
        <source>Say why the ticket goes to another team</source>
        <translation>Ange varför ärendet går till ett annat team</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="149" />
        <source>Say why the ticket is escalated</source>
        <translation>Ange varför ärendet eskaleras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="150" />
        <source>Say why the ticket is pending</source>
        <translation>Ange varför ärendet är väntande</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="151" />
        <source>Schedule</source>
        <translation>Schemalägg</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="152" />
        <source>Select the tickets to change</source>
        <translation>Markera de ärenden som ska ändras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="153" />
        <source>Send to CAB</source>
        <translation>Skicka till CAB</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="154" />
        <source>Send to ECAB</source>
        <translation>Skicka till ECAB</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="155" />
        <source>Show at least one column</source>
        <translation>Visa minst en kolumn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="156" />
        <source>Standard changes are pre-approved and do not go before the CAB: {refs}</source>
        <translation>Standardändringar är förgodkända och behandlas inte av CAB: {refs}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="157" />
        <source>Start implementing</source>
        <translation>Påbörja genomförande</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="158" />
        <source>Start review (PIR)</source>
        <translation>Påbörja granskning (PIR)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="159" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="160" />
        <source>Status '{value}' is not one of: {allowed}</source>
        <translation>Statusen '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="161" />
        <source>Step '{name}' cannot depend on itself</source>
        <translation>Steget '{name}' kan inte bero på sig självt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="162" />
        <source>Step '{name}' cannot move from {old} to {new}</source>
        <translation>Steget '{name}' kan inte gå från {old} till {new}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="163" />
        <source>Step '{name}' waits for: {steps}</source>
        <translation>Steget '{name}' väntar på: {steps}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="164" />
        <source>Step {n} is not a question with answers</source>
        <translation>Steg {n} är inte en fråga med svar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="165" />
        <source>Step {n} needs a question</source>
        <translation>Steg {n} måste ha en fråga</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="166" />
        <source>Step {n} needs at least one answer</source>
        <translation>Steg {n} måste ha minst ett svar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="167" />
        <source>Step {n}: there is no team {team} to route to</source>
        <translation>Steg {n}: det finns inget team {team} att skicka ärendet till</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="168" />
        <source>Steps of different releases cannot depend on each other</source>
        <translation>Steg i olika releaser kan inte bero på varandra</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="169" />
        <source>Submit</source>
        <translation>Skicka in</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="170" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="171" />
        <source>Template {name} is not active</source>
        <translation>Mallen {name} är inte aktiv</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="172" />
        <source>The business calendar has no working hours</source>
        <translation>Arbetstidskalendern har inga arbetstider</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="173" />
        <source>The diagnostic script routes to an unknown team: {team}</source>
        <translation>Diagnosskriptet skickar ärenden till ett okänt team: {team}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="174" />
        <source>The escalation share must be 1-100 %, not {pct}</source>
        <translation>Eskaleringsandelen måste vara 1–100 %, inte {pct}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="175" />
        <source>The file is empty (no header line)</source>
        <translation>Filen är tom (ingen rubrikrad)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="176" />
        <source>The filter on {name} needs a value</source>
        <translation>Filtret på {name} måste ha ett värde</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="177" />
        <source>The filters cannot be counted: {error}</source>
        <translation>Det går inte att räkna träffarna för filtren: {error}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="178" />
        <source>The period must end after it starts ({start} .. {end})</source>
        <translation>Perioden måste sluta efter att den börjar ({start} .. {end})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="179" />
        <source>The priority matrix needs a priority 1-5 for impact,urgency {key}</source>
        <translation>Prioritetsmatrisen behöver en prioritet 1–5 för påverkan,brådska {key}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="180" />
        <source>The question of step {n} is longer than {max} characters</source>
        <translation>Frågan i steg {n} är längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="181" />
        <source>The response target cannot be longer than the resolution target</source>
        <translation>Svarstidsmålet kan inte vara längre än lösningstidsmålet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="182" />
        <source>There is already a {kind} category named {name}</source>
        <translation>Det finns redan en kategori av typen {kind} som heter {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="183" />
        <source>This database has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk. The database was not changed.</source>
        <translation>Den här databasen har schemaversion {found}, som är nyare än vad den här versionen av itsmdesk förstår ({ours}); uppgradera itsmdesk. Databasen har inte ändrats.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="184" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="185" />
        <source>Trends are counted by ci, service, category or team, not {by}</source>
        <translation>Trender räknas per ci, service, category eller team, inte {by}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="186" />
        <source>Unknown CI class '{value}'</source>
        <translation>Okänd CI-klass '{value}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="187" />
        <source>Unknown CSV kind '{value}' (use cis or relations)</source>
        <translation>Okänd CSV-typ '{value}' (använd cis eller relations)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="188" />
        <source>Unknown announcement kind {kind}</source>
        <translation>Okänd meddelandetyp {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="189" />
        <source>Unknown field(s) for {kind}: {fields}</source>
        <translation>Okända fält för {kind}: {fields}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="190" />
        <source>Unknown filter operator {op}</source>
        <translation>Okänd filteroperator {op}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="191" />
        <source>Unknown queue column(s): {cols}</source>
        <translation>Okända kökolumner: {cols}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="192" />
        <source>Unknown queue {key}</source>
        <translation>Okänd kö {key}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="193" />
        <source>Unknown record kind '{kind}'; choose one of: {kinds}</source>
        <translation>Okänd posttyp '{kind}'; välj något av: {kinds}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="194" />
        <source>Unknown root cause analysis note(s): {names}</source>
        <translation>Okända anteckningar i grundorsaksanalysen: {names}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="195" />
        <source>Unknown time zone {tz}</source>
        <translation>Okänd tidszon {tz}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="196" />
        <source>Unschedule</source>
        <translation>Ta bort schemaläggning</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="197" />
        <source>Unsupported database URL '{url}': use sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation>Databas-URL:en '{url}' stöds inte: använd sqlite:///FILE eller postgresql://USER:PASSWORD@HOST:PORT/DBNAME</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="198" />
        <source>Updated</source>
        <translation>Uppdaterad</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="199" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="200" />
        <source>Vote '{value}' is not one of: {allowed}</source>
        <translation>Rösten '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="201" />
        <source>Wave '{name}' has no site</source>
        <translation>Vågen '{name}' har ingen plats</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="202" />
        <source>Wave '{name}' is already deployed</source>
        <translation>Vågen '{name}' är redan driftsatt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="203" />
        <source>Weekday must be 0 (Monday) to 6 (Sunday), not {day}</source>
        <translation>Veckodagen måste vara 0 (måndag) till 6 (söndag), inte {day}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="204" />
        <source>Working hours {span} are not HH:MM-HH:MM</source>
        <translation>Arbetstiden {span} har inte formatet HH:MM-HH:MM</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="205" />
        <source>Working hours {span} end before they start</source>
        <translation>Arbetstiden {span} slutar innan den börjar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="206" />
        <source>a CI cannot relate to itself</source>
        <translation>ett CI kan inte ha en relation till sig självt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="207" />
        <source>a CI name is required</source>
        <translation>ett CI-namn krävs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="208" />
        <source>a class is required</source>
        <translation>en klass krävs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="209" />
        <source>a name is required</source>
        <translation>ett namn krävs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="210" />
        <source>ci: {n} CI(s) without a graph index entry; impact analysis cannot see them (repair with: itsmdesk check --repair)</source>
        <translation>ci: {n} CI utan post i grafindexet; konsekvensanalysen ser dem inte (reparera med: itsmdesk check --repair)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="211" />
        <source>class {cls} has no attribute '{attr}'</source>
        <translation>klassen {cls} har inget attribut '{attr}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="212" />
        <source>column appears twice</source>
        <translation>kolumnen förekommer två gånger</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="213" />
        <source>emergency change</source>
        <translation>akut ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="214" />
        <source>emergency release: shortened build and test</source>
        <translation>akut release: förkortad byggnad och test</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="215" />
        <source>highest risk of the bundled changes ({changes})</source>
        <translation>högsta risken bland de ingående ändringarna ({changes})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="216" />
        <source>integrity: {detail}</source>
        <translation>integritet: {detail}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="217" />
        <source>key {key} again (first on line {first}); an event log needs [events] fold = true</source>
        <translation>nyckeln {key} igen (först på rad {first}); en händelselogg kräver [events] fold = true</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="218" />
        <source>line ends after {given} of {columns} columns (truncated line?)</source>
        <translation>raden slutar efter {given} av {columns} kolumner (avkortad rad?)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="219" />
        <source>longer than {max} characters</source>
        <translation>längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="220" />
        <source>longer than {max} characters ({length})</source>
        <translation>längre än {max} tecken ({length})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="221" />
        <source>major release</source>
        <translation>större release</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="222" />
        <source>no CI named '{name}'</source>
        <translation>inget CI med namnet '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="223" />
        <source>no backout plan</source>
        <translation>ingen återställningsplan</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="224" />
        <source>no category {value} (add create_missing = true to the mapping to create it)</source>
        <translation>kategorin {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="225" />
        <source>no change {value} (add create_missing = true to the mapping to create it)</source>
        <translation>ändringen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="226" />
        <source>no ci {value} (add create_missing = true to the mapping to create it)</source>
        <translation>CI:t {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="227" />
        <source>no ci_class {value} (add create_missing = true to the mapping to create it)</source>
        <translation>CI-klassen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="228" />
        <source>no event time</source>
        <translation>ingen händelsetid</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="229" />
        <source>no external key</source>
        <translation>ingen extern nyckel</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="230" />
        <source>no incident {value} (add create_missing = true to the mapping to create it)</source>
        <translation>ärendet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="231" />
        <source>no known_error {value} (add create_missing = true to the mapping to create it)</source>
        <translation>det kända felet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="232" />
        <source>no organisation {value} (add create_missing = true to the mapping to create it)</source>
        <translation>organisationen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="233" />
        <source>no outage</source>
        <translation>inget avbrott</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="234" />
        <source>no outage, downtime {minutes} min</source>
        <translation>inget avbrott, driftstopp {minutes} min</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="235" />
        <source>no person {value} (add create_missing = true to the mapping to create it)</source>
        <translation>personen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="236" />
        <source>no problem {value} (add create_missing = true to the mapping to create it)</source>
        <translation>problemet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="237" />
        <source>no site {value} (add create_missing = true to the mapping to create it)</source>
        <translation>platsen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="238" />
        <source>no team {value} (add create_missing = true to the mapping to create it)</source>
        <translation>teamet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="239" />
        <source>no {kind} {value} (add create_missing = true to the mapping to create it)</source>
        <translation>{kind} {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="240" />
        <source>normal change</source>
        <translation>normal ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="241" />
        <source>pg_dump failed: {reason}</source>
        <translation>pg_dump misslyckades: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="242" />
        <source>pg_dump is not installed; install the PostgreSQL client tools</source>
        <translation>pg_dump är inte installerat; installera klientverktygen för PostgreSQL</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="243" />
        <source>relation: {n} relation(s) whose graph index entries differ from their CIs'; impact analysis follows them wrongly (repair with: itsmdesk check --repair)</source>
        <translation>relation: {n} relation(er) vars poster i grafindexet skiljer sig från deras CI:ers; konsekvensanalysen följer dem fel (reparera med: itsmdesk check --repair)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="244" />
        <source>required column is missing</source>
        <translation>obligatorisk kolumn saknas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="245" />
        <source>rollout in {waves} waves to {sites} sites</source>
        <translation>utrullning i {waves} vågor till {sites} platser</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="246" />
        <source>rollout to {sites} sites</source>
        <translation>utrullning till {sites} platser</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="247" />
        <source>service outage</source>
        <translation>tjänsteavbrott</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="248" />
        <source>service outage, downtime {minutes} min</source>
        <translation>tjänsteavbrott, driftstopp {minutes} min</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="249" />
        <source>several release factors on top of risky changes</source>
        <translation>flera releasefaktorer utöver riskfyllda ändringar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="250" />
        <source>standard change</source>
        <translation>standardändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="251" />
        <source>the same relation is on line {first}</source>
        <translation>samma relation finns på rad {first}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="252" />
        <source>unknown CI class '{name}'</source>
        <translation>okänd CI-klass '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="253" />
        <source>unknown column (not a CI field or class attribute)</source>
        <translation>okänd kolumn (varken CI-fält eller klassattribut)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="254" />
        <source>unknown column (use source, type, target, redundant, propagates)</source>
        <translation>okänd kolumn (använd source, type, target, redundant, propagates)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="255" />
        <source>unknown site '{name}'</source>
        <translation>okänd plats '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="256" />
        <source>unknown team '{name}'</source>
        <translation>okänt team '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="257" />
        <source>unknown value {value} (the map knows: {known})</source>
        <translation>okänt värde {value} (mappningen känner till: {known})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="258" />
        <source>{cells} cells but the header has {columns} columns</source>
        <translation>{cells} celler men rubrikraden har {columns} kolumner</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="259" />
        <source>{cells} cells but {columns} columns</source>
        <translation>{cells} celler men {columns} kolumner</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="260" />
        <source>{change} falls in blackout window '{window}'</source>
        <translation>{change} infaller i frysperioden '{window}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="261" />
        <source>{change} is outside the maintenance windows of {cis}</source>
        <translation>{change} ligger utanför underhållsfönstren för {cis}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="262" />
        <source>{change} overlaps {other} on {cis}</source>
        <translation>{change} överlappar {other} på {cis}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="263" />
        <source>{change} overlaps {other}; impact path via {cis}</source>
        <translation>{change} överlappar {other}; påverkansväg via {cis}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="264" />
        <source>{db} already holds records; use another --db, or --force to add demo data anyway</source>
        <translation>{db} innehåller redan poster; använd en annan --db, eller --force för att lägga till demodata ändå</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="265" />
        <source>{failed} of {finished} earlier change(s) on these CIs failed</source>
        <translation>{failed} av {finished} tidigare ändringar på dessa CI:n misslyckades</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="266" />
        <source>{field} is required but empty</source>
        <translation>{field} är obligatoriskt men tomt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="267" />
        <source>{field} is required: map it in [fields]</source>
        <translation>{field} är obligatoriskt: mappa det i [fields]</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="268" />
        <source>{label} '{value}' is already taken</source>
        <translation>{label} '{value}' är redan upptaget</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="269" />
        <source>{label} '{value}' is not one of: {allowed}</source>
        <translation>{label} '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="270" />
        <source>{label} is longer than {max} characters</source>
        <translation>{label} är längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="271" />
        <source>{label} is required</source>
        <translation>{label} är obligatoriskt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="272" />
        <source>{label} must be a whole number of at least {min}</source>
        <translation>{label} måste vara ett heltal som är minst {min}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="273" />
        <source>{label}: '{value}' is not a date and time</source>
        <translation>{label}: '{value}' är inte ett datum med tid</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="274" />
        <source>{label}: the end ({end}) must come after the start ({start})</source>
        <translation>{label}: slutet ({end}) måste komma efter starten ({start})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="275" />
        <source>{name} is {size} bytes; attachments may be at most {max} bytes</source>
        <translation>{name} är {size} byte; bilagor får vara högst {max} byte</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="276" />
        <source>{name} must be 1 (high), 2 (medium) or 3 (low)</source>
        <translation>{name} måste vara 1 (hög), 2 (medel) eller 3 (låg)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="277" />
        <source>{n} business service(s) impacted</source>
        <translation>{n} verksamhetstjänst(er) påverkas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="278" />
        <source>{n} business service(s) impacted: {services}</source>
        <translation>{n} verksamhetstjänst(er) påverkas: {services}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="279" />
        <source>{n} business service(s) impacted: {services} and {more} more</source>
        <translation>{n} verksamhetstjänst(er) påverkas: {services} och {more} till</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="280" />
        <source>{pairs} overlapping change(s), {blackouts} blackout(s)</source>
        <translation>{pairs} överlappande ändring(ar), {blackouts} frysperiod(er)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="281" />
        <source>{pairs} overlapping change(s), {blackouts} blackout(s), outside maintenance window</source>
        <translation>{pairs} överlappande ändring(ar), {blackouts} frysperiod(er), utanför underhållsfönster</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="282" />
        <source>{path} is a folder, not a database file</source>
        <translation>{path} är en mapp, inte en databasfil</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="283" />
        <source>{path} is a folder; give a file name for the backup</source>
        <translation>{path} är en mapp; ange ett filnamn för säkerhetskopian</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="284" />
        <source>{path} is empty</source>
        <translation>{path} är tom</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="285" />
        <source>{path} is not UTF-8 text</source>
        <translation>{path} är inte UTF-8-text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="286" />
        <source>{path} is not an itsmdesk database or is corrupt ({reason})</source>
        <translation>{path} är ingen itsmdesk-databas eller är skadad ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="287" />
        <source>{path} is not valid JSON: {error}</source>
        <translation>{path} är inte giltig JSON: {error}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="288" />
        <source>{path}: bad CSV at line {line}: {reason}</source>
        <translation>{path}: felaktig CSV på rad {line}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="289" />
        <source>{person} is not on the CAB for {category}</source>
        <translation>{person} ingår inte i CAB för {category}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="290" />
        <source>{raw} gives {name} {value}, which is not one of: {shown}</source>
        <translation>{raw} ger {name} {value}, som inte är något av: {shown}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="291" />
        <source>{record} changed while the import ran; nothing was imported. Run the import again.</source>
        <translation>{record} ändrades medan importen pågick; ingenting importerades. Kör importen igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="292" />
        <source>{record} was changed by {who} at {when} UTC after you opened it (your version {yours}, now {theirs}); nothing was saved.</source>
        <translation>{record} ändrades av {who} {when} UTC efter att du öppnade den (din version {yours}, nu {theirs}); ingenting sparades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="293" />
        <source>{ref} cannot go from {old} to {new}</source>
        <translation>{ref} kan inte gå från {old} till {new}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="294" />
        <source>{ref} has no CAB approval ({detail})</source>
        <translation>{ref} saknar CAB-godkännande ({detail})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="295" />
        <source>{ref} has no workaround to apply</source>
        <translation>{ref} har ingen tillfällig lösning att tillämpa</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="296" />
        <source>{ref} is not resolved yet; an article needs the resolution</source>
        <translation>{ref} är inte löst ännu; en artikel behöver lösningen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="297" />
        <source>{ref} is {status}; a review follows implementation</source>
        <translation>{ref} är {status}; granskning sker efter genomförandet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="298" />
        <source>{ref} is {status}; only changes not yet started can be rescheduled</source>
        <translation>{ref} är {status}; endast ändringar som inte har påbörjats kan planeras om</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="299" />
        <source>{ref} needs a planned start before it can be {target}</source>
        <translation>{ref} behöver en planerad start innan den kan bli {target}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="300" />
        <source>{ref} needs an implementation plan and a backout plan before submission</source>
        <translation>{ref} behöver en implementeringsplan och en återställningsplan innan den skickas in</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="301" />
        <source>{ref} was not rejected by the CAB ({detail})</source>
        <translation>{ref} avslogs inte av CAB ({detail})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="302" />
        <source>{release} already delivers '{name}'</source>
        <translation>{release} levererar redan '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="303" />
        <source>{release} bundles no change; add the approved changes first</source>
        <translation>{release} innehåller ingen ändring; lägg först till de godkända ändringarna</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="304" />
        <source>{release} cannot move from {old} to {new} (allowed: {allowed})</source>
        <translation>{release} kan inte gå från {old} till {new} (tillåtet: {allowed})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="305" />
        <source>{release} cannot move to {new}: bundled change(s) not approved: {changes}</source>
        <translation>{release} kan inte gå till {new}: ingående ändringar är inte godkända: {changes}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="306" />
        <source>{release} is {status}; waves are deployed once it is approved</source>
        <translation>{release} är {status}; vågor driftsätts när den har godkänts</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="307" />
        <source>{report} needs --{option} REF</source>
        <translation>{report} kräver --{option} REF</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="308" />
        <source>{src} already {type} {tgt}</source>
        <translation>{src} {type} redan {tgt}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="309" />
        <source>{table} row {row}: points at a missing {parent}</source>
        <translation>{table} rad {row}: pekar på en saknad {parent}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="310" />
        <source>{table}.{column}: {n} row(s) point at a missing {parent}</source>
        <translation>{table}.{column}: {n} rad(er) pekar på en saknad {parent}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="311" />
        <source>{table}: reference {ref} used {n} times</source>
        <translation>{table}: referensen {ref} används {n} gånger</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="312" />
        <source>{type} change</source>
        <translation>ändring av typen {type}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="313" />
        <source>{value} is neither true ({true}) nor false ({false})</source>
        <translation>{value} är varken sant ({true}) eller falskt ({false})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="314" />
        <source>{value} is not a number</source>
        <translation>{value} är inte ett tal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="315" />
        <source>{value} is not a number (decimal separator {separator})</source>
        <translation>{value} är inte ett tal (decimaltecken {separator})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="316" />
        <source>{value} is not a valid {name} (one of: {shown}); add a map</source>
        <translation>{value} är inte ett giltigt värde för {name} (något av: {shown}); lägg till en map</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="317" />
        <source>{value} is not a whole number</source>
        <translation>{value} är inte ett heltal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="318" />
        <source>{value} matches none of the date formats {formats}</source>
        <translation>{value} passar inget av datumformaten {formats}</translation>
    </message>
</context>
<context>
    <name>knowledge</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="116" />
        <source>Article from incident</source>
        <translation>Artikel från incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="117" />
        <source>Reference of a resolved incident:</source>
        <translation>Referens till en löst incident:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="140" />
        <source>New &amp;article</source>
        <translation>Ny &amp;artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="143" />
        <source>Article from resolved &amp;incident…</source>
        <translation>Artikel från löst &amp;incident…</translation>
    </message>
</context>
<context>
    <name>panels</name>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="38" />
        <source>Ticket queues</source>
        <translation>Ärendeköer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="39" />
        <source>CMDB</source>
        <translation>CMDB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="40" />
        <source>Change calendar</source>
        <translation>Ändringskalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="41" />
        <source>Announcements</source>
        <translation>Meddelanden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="42" />
        <source>Knowledge search</source>
        <translation>Kunskapssök</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="43" />
        <source>Problems and known errors</source>
        <translation>Problem och kända fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="44" />
        <source>Trends dashboard</source>
        <translation>Trender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="45" />
        <source>Availability</source>
        <translation>Tillgänglighet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="46" />
        <source>Releases</source>
        <translation>Releaser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="47" />
        <source>Changes and CAB</source>
        <translation>Ändringar och CAB</translation>
    </message>
</context>
<context>
    <name>parent</name>
    <message>
        <location filename="../../itsmdesk/views/forms/common.py" line="27" />
        <source>Unsaved changes</source>
        <translation>Osparade ändringar</translation>
    </message>
</context>
<context>
    <name>problems</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="188" />
        <source>New &amp;problem</source>
        <translation>Nytt &amp;problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="189" />
        <source>New &amp;known error</source>
        <translation>Nytt &amp;känt fel</translation>
    </message>
</context>
</TS>