<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="sv">
<context>
    <name>AnnouncementDialog</name>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="60" />
        <source>New announcement</source>
        <translation>Nytt meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="62" />
        <source>Edit announcement</source>
        <translation>Redigera meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="67" />
        <source>What people will notice, e.g. "E-mail unavailable Saturday night"</source>
        <translation>Det som märks, t.ex. "E-post otillgänglig lördag natt"</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="71" />
        <source>Notice</source>
        <translation>Meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="72" />
        <source>Planned outage</source>
        <translation>Planerat avbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="78" />
        <source>until further notice</source>
        <translation>tills vidare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="91" />
        <source>Filter services…</source>
        <translation>Filtrera tjänster…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="97" />
        <source>Loading…</source>
        <translation>Läser in…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="104" />
        <source>Everyone</source>
        <translation>Alla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="105" />
        <source>IT staff only</source>
        <translation>Endast IT-personal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="108" />
        <source>Every site</source>
        <translation>Alla platser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="111" />
        <source>at</source>
        <translation>på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="116" />
        <source>What happens, what to do meanwhile, whom to call</source>
        <translation>Vad som händer, vad man gör under tiden, vem man ringer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="123" />
        <source>&amp;Title</source>
        <translation>&amp;Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="124" />
        <source>&amp;Kind</source>
        <translation>&amp;Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="126" />
        <source>&amp;When</source>
        <translation>&amp;När</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="127" />
        <source>&amp;Services</source>
        <translation>&amp;Tjänster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="129" />
        <source>&amp;For</source>
        <translation>&amp;För</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="133" />
        <source>Te&amp;xt</source>
        <translation>Te&amp;xt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="227" />
        <source>An announcement needs a title.</source>
        <translation>Ett meddelande behöver en rubrik.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/dialog.py" line="231" />
        <source>Say when it starts.</source>
        <translation>Ange när det börjar.</translation>
    </message>
</context>
<context>
    <name>AnnouncementsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44" />
        <source>Add…</source>
        <translation>Nytt…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="44" />
        <source>Add a manual announcement</source>
        <translation>Lägg till ett manuellt meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="45" />
        <source>Edit…</source>
        <translation>Redigera…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="46" />
        <source>Edit the selected announcement (one made from a change opens the change)</source>
        <translation>Redigera det markerade meddelandet (ett som skapats från en ändring öppnar ändringen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="48" />
        <source>Withdraw</source>
        <translation>Återkalla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="48" />
        <source>Withdraw the selected announcement</source>
        <translation>Återkalla det markerade meddelandet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="58" />
        <source>Copy text</source>
        <translation>Kopiera text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="59" />
        <location filename="../../itsmdesk/views/announcements/panel.py" line="68" />
        <source>Copy all as plain text for an e-mail</source>
        <translation>Kopiera allt som oformaterad text för ett e-postmeddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="60" />
        <source>Copy HTML</source>
        <translation>Kopiera HTML</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="61" />
        <source>Copy all as HTML for an e-mail</source>
        <translation>Kopiera allt som HTML för ett e-postmeddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="67" />
        <source>Copy</source>
        <translation>Kopiera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="97" />
        <source>until further notice</source>
        <translation>tills vidare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="98" />
        <source>NOW</source>
        <translation>NU</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="98" />
        <source>upcoming</source>
        <translation>kommande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="101" />
        <source>Services: </source>
        <translation>Tjänster: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="103" />
        <source>IT staff</source>
        <translation>IT-personal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="105" />
        <source>Everyone</source>
        <translation>Alla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="106" />
        <source>every site</source>
        <translation>alla platser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="107" />
        <source>For: {who} at {where}</source>
        <translation>För: {who} på {where}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="117" />
        <source>No current announcements.</source>
        <translation>Inga aktuella meddelanden.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="166" />
        <source>Announcements copied to the clipboard</source>
        <translation>Meddelandena har kopierats till urklipp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/announcements/panel.py" line="192" />
        <source>New &amp;announcement…</source>
        <translation>Nytt medd&amp;elande…</translation>
    </message>
</context>
<context>
    <name>ArticleForm</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="52" />
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="189" />
        <source>New article</source>
        <translation>Ny artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="56" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="64" />
        <source>vpn, remote access</source>
        <translation>vpn, fjärråtkomst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="38" />
        <source>Draft</source>
        <translation>Utkast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="38" />
        <source>Published</source>
        <translation>Publicerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="39" />
        <source>Retired</source>
        <translation>Avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="43" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="43" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="44" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="71" />
        <source>Cate&amp;gory</source>
        <translation>Kate&amp;gori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="72" />
        <source>T&amp;ags</source>
        <translation>T&amp;aggar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="74" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="126" />
        <source>&amp;History</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="133" />
        <source>&amp;Publish</source>
        <translation>&amp;Publicera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="136" />
        <source>Re&amp;tire</source>
        <translation>Avve&amp;ckla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="175" />
        <source>&amp;Links ({n})</source>
        <translation>L&amp;änkar ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="221" />
        <source>{ref} is {status} now.</source>
        <translation>{ref} är nu {status}.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="81" />
        <source>Write Markdown: # heading, - list, **bold**, `code`</source>
        <translation>Skriv Markdown: # rubrik, - lista, **fetstil**, `kod`</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="95" />
        <source>INC-…, KE-… or a CI name</source>
        <translation>INC-…, KE-… eller ett CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="96" />
        <source>&amp;Add link</source>
        <translation>&amp;Lägg till länk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="97" />
        <source>&amp;Remove</source>
        <translation>Ta &amp;bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="123" />
        <source>&amp;Text</source>
        <translation>&amp;Text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="124" />
        <source>&amp;Links</source>
        <translation>L&amp;änkar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="125" />
        <source>&amp;Versions</source>
        <translation>&amp;Versioner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="160" />
        <source>by {author}, version {version}</source>
        <translation>av {author}, version {version}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/article_form.py" line="169" />
        <source>v{n} · {at} · {who}
{fields}</source>
        <translation>v{n} · {at} · {who}
{fields}</translation>
    </message>
</context>
<context>
    <name>AuditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="411" />
        <source>Audit the CMDB against a scan</source>
        <translation>Granska CMDB mot en skanning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="414" />
        <source>Browse…</source>
        <translation>Bläddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="415" />
        <source>Audit</source>
        <translation>Granska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="422" />
        <source>Choose the scan (CSV: name, class, site, … as exported).</source>
        <translation>Välj skanningen (CSV: namn, klass, plats, … som vid export).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="424" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="424" />
        <source>CMDB</source>
        <translation>CMDB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="424" />
        <source>Scan</source>
        <translation>Skanning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="427" />
        <source>Accept scan into the CMDB</source>
        <translation>För in skanningen i CMDB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="439" />
        <source>Scan file</source>
        <translation>Skanningsfil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="459" />
        <source>Unknown (scanned, not in the CMDB)</source>
        <translation>Okända (skannade, finns inte i CMDB)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="460" />
        <source>Missing (in the CMDB, not found)</source>
        <translation>Saknade (finns i CMDB, hittades inte)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="461" />
        <source>Different</source>
        <translation>Avvikande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="462" />
        <source>Bad rows</source>
        <translation>Felaktiga rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="469" />
        <source>{s} scanned: {m} match, {u} unknown, {x} missing, {d} differences</source>
        <translation>{s} skannade: {m} matchar, {u} okända, {x} saknas, {d} avvikelser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="478" />
        <source>Accept scan</source>
        <translation>Godta skanning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="479" />
        <source>Create the unknown CIs and update the different ones from the scan?</source>
        <translation>Vill du skapa de okända CI:na och uppdatera de avvikande utifrån skanningen?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="483" />
        <source>Importing…</source>
        <translation>Importerar…</translation>
    </message>
</context>
<context>
    <name>AvailabilityModel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46" />
        <source>Failures</source>
        <translation>Fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="46" />
        <source>Downtime (h)</source>
        <translation>Driftstopp (h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="47" />
        <source>MTTR (h)</source>
        <translation>MTTR (h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="47" />
        <source>MTBF (h)</source>
        <translation>MTBF (h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="47" />
        <source>Availability %</source>
        <translation>Tillgänglighet %</translation>
    </message>
</context>
<context>
    <name>AvailabilityPanel</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="102" />
        <source>Configuration item</source>
        <translation>Konfigurationsobjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="103" />
        <source>Business service</source>
        <translation>Verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="110" />
        <source>&amp;Compute</source>
        <translation>&amp;Beräkna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="111" />
        <source>Export CS&amp;V…</source>
        <translation>Exportera CS&amp;V…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="112" />
        <source>Export &amp;PDF…</source>
        <translation>Exportera &amp;PDF…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="116" />
        <source>Per</source>
        <translation>Per</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="118" />
        <source>from</source>
        <translation>från</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="120" />
        <source>to</source>
        <translation>till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="142" />
        <source>Most downtime</source>
        <translation>Mest driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="185" />
        <source>{n} with outages · {f} failures · {d} h downtime in {p} h</source>
        <translation>{n} med avbrott · {f} fel · {d} h driftstopp på {p} h</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="200" />
        <source>Export availability</source>
        <translation>Exportera tillgänglighet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="201" />
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="204" />
        <source>{n} rows written to {path}</source>
        <translation>{n} rader skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="209" />
        <source>Availability report</source>
        <translation>Tillgänglighetsrapport</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="210" />
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="216" />
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
    <name>BackupActions</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="27" />
        <source>&amp;Back up now…</source>
        <translation>&amp;Säkerhetskopiera nu…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="31" />
        <source>&amp;Restore from backup…</source>
        <translation>Å&amp;terställ från säkerhetskopia…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="48" />
        <source>PostgreSQL dumps (*.dump);;All files (*)</source>
        <translation>PostgreSQL-dumpar (*.dump);;Alla filer (*)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="49" />
        <source>Back up the database</source>
        <translation>Säkerhetskopiera databasen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="57" />
        <source>Backing up…</source>
        <translation>Säkerhetskopierar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="60" />
        <source>Backup written to {path}</source>
        <translation>Säkerhetskopian skrevs till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="65" />
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="70" />
        <source>Restore from backup</source>
        <translation>Återställ från säkerhetskopia</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="72" />
        <source>Replace the database
{db}
with the backup
{file}?

The current database is saved beside it first. Other itsmdesk windows and commands using it must be closed.</source>
        <translation>Ersätta databasen
{db}
med säkerhetskopian
{file}?

Den nuvarande databasen sparas först bredvid den. Andra itsmdesk-fönster och kommandon som använder den måste stängas.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="47" />
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="66" />
        <source>itsmdesk backups (*.db *.bak *.sqlite);;All files (*)</source>
        <translation>itsmdesk-säkerhetskopior (*.db *.bak *.sqlite);;Alla filer (*)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="83" />
        <source>Restoring…</source>
        <translation>Återställer…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="93" />
        <source>Restored from {file}; the previous database was saved as {saved}</source>
        <translation>Återställd från {file}; den tidigare databasen sparades som {saved}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/backup_actions.py" line="95" />
        <source>Restored from {file}</source>
        <translation>Återställd från {file}</translation>
    </message>
</context>
<context>
    <name>BaselineDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="297" />
        <source>CMDB baselines</source>
        <translation>CMDB-baslinjer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="300" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="300" />
        <source>Taken (UTC)</source>
        <translation>Tagen (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="301" />
        <source>CIs</source>
        <translation>CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="301" />
        <source>Relations</source>
        <translation>Relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="307" />
        <source>Name of a new baseline</source>
        <translation>Namn på en ny baslinje</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="309" />
        <source>All CIs</source>
        <translation>Alla CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="310" />
        <source>Take baseline</source>
        <translation>Ta baslinje</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="311" />
        <source>Compare with now</source>
        <translation>Jämför med nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320" />
        <source>Difference</source>
        <translation>Skillnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320" />
        <source>Then</source>
        <translation>Då</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="320" />
        <source>Now</source>
        <translation>Nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="384" />
        <source>CIs added</source>
        <translation>Tillagda CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="385" />
        <source>CIs removed</source>
        <translation>Borttagna CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="386" />
        <source>CIs changed</source>
        <translation>Ändrade CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="387" />
        <source>Relations added</source>
        <translation>Tillagda relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="388" />
        <source>Relations removed</source>
        <translation>Borttagna relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="390" />
        <source>Relations changed</source>
        <translation>Ändrade relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="394" />
        <source>No differences</source>
        <translation>Inga skillnader</translation>
    </message>
</context>
<context>
    <name>BulkEditDialog</name>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="27" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="28" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="29" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="30" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="31" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="32" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="33" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="40" />
        <source>Edit {n} tickets</source>
        <translation>Redigera {n} ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="50" />
        <source>Pending reason / solution when needed</source>
        <translation>Orsak till väntan / lösning vid behov</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="53" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="54" />
        <source>New value</source>
        <translation>Nytt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="55" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="63" />
        <source>The change applies to all {n} selected tickets at once and can be undone with Ctrl+Shift+Z.</source>
        <translation>Ändringen gäller alla {n} markerade ärenden på en gång och kan ångras med Ctrl+Shift+Z.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90" />
        <source>(nobody)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="90" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="100" />
        <source>1 high</source>
        <translation>1 hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="100" />
        <source>2 medium</source>
        <translation>2 medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/bulk_dialog.py" line="100" />
        <source>3 low</source>
        <translation>3 låg</translation>
    </message>
</context>
<context>
    <name>CABMeetingForm</name>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="84" />
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="434" />
        <source>New CAB meeting</source>
        <translation>Nytt CAB-möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="91" />
        <source>Histor&amp;y</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="113" />
        <source>Weekly CAB</source>
        <translation>Veckovis CAB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="117" />
        <source>Emergency CAB (ECAB)</source>
        <translation>Akut-CAB (ECAB)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="127" />
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="274" />
        <source>(no chair)</source>
        <translation>(ingen ordförande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="133" />
        <source>&amp;Title</source>
        <translation>&amp;Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="134" />
        <source>&amp;Starts</source>
        <translation>&amp;Börjar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="135" />
        <source>&amp;Location</source>
        <translation>&amp;Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="138" />
        <source>Quorum</source>
        <translation>Kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="142" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="143" />
        <source>C&amp;hair</source>
        <translation>&amp;Ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="144" />
        <source>&amp;Notes</source>
        <translation>&amp;Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="150" />
        <source>Member</source>
        <translation>Medlem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="150" />
        <source>Present</source>
        <translation>Närvarande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="177" />
        <source>As the votes decide</source>
        <translation>Som rösterna avgör</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="180" />
        <source>The board may reject or defer a change against its votes, with a reason; it approves only what the votes approve.</source>
        <translation>Nämnden kan avslå eller skjuta upp en ändring mot sina röster, med en orsak; den godkänner bara det som rösterna godkänner.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="185" />
        <source>Reason, if against the votes</source>
        <translation>Orsak, om mot rösterna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="337" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="237" />
        <source>Done / not done</source>
        <translation>Klar / inte klar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="338" />
        <source>Quorum outcome</source>
        <translation>Utfall enligt kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="338" />
        <source>Decision / conditions</source>
        <translation>Beslut / villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="343" />
        <source>{status} · {type} change</source>
        <translation>{status} · ändring av typen {type}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="355" />
        <source>Not on the CAB for this change's category</source>
        <translation>Ingår inte i CAB för den här ändringens kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="373" />
        <source>against the votes ({outcome})</source>
        <translation>mot rösterna ({outcome})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="379" />
        <source>Decided against the quorum outcome ({outcome}): {reason}</source>
        <translation>Beslutat mot utfallet enligt kvorum ({outcome}): {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="382" />
        <source>no reason recorded</source>
        <translation>ingen orsak registrerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="393" />
        <source>no quorum: {votes} of {quorum} votes</source>
        <translation>ej beslutsmässigt: {votes} av {quorum} röster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="395" />
        <source>{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}</source>
        <translation>{approve} för, {reject} emot, {abstain} avstår; kvorum {quorum}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="406" />
        <source>overdue</source>
        <translation>försenad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="417" />
        <source>Overdue: due {due} and not done</source>
        <translation>Försenad: skulle vara klar {due} och är inte klar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="479" />
        <source>(absent)</source>
        <translation>(frånvarande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="517" />
        <source>Select a change on the agenda first.</source>
        <translation>Markera först en ändring på dagordningen.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="523" />
        <source>The votes say {outcome}: give the reason for deciding {decision}.</source>
        <translation>Rösterna säger {outcome}: ange orsaken till beslutet {decision}.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="536" />
        <source>An action needs a text</source>
        <translation>En åtgärd måste ha en text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="548" />
        <source>Select an action first.</source>
        <translation>Markera först en åtgärd.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="170" />
        <source>Build agenda from changes awaiting CAB</source>
        <translation>Skapa dagordning från ändringar som väntar på CAB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="174" />
        <source>Conditions for the selected change</source>
        <translation>Villkor för den markerade ändringen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="187" />
        <source>Record decision</source>
        <translation>Registrera beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="211" />
        <source>Action</source>
        <translation>Åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="211" />
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="245" />
        <source>Owner</source>
        <translation>Ägare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="211" />
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="247" />
        <source>Due</source>
        <translation>Förfaller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="212" />
        <source>Done</source>
        <translation>Klar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="228" />
        <source>New action</source>
        <translation>Ny åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="231" />
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="275" />
        <source>(no owner)</source>
        <translation>(ingen ägare)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="235" />
        <source>Add action</source>
        <translation>Lägg till åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="87" />
        <source>Meeting</source>
        <translation>Möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="88" />
        <source>Attendees</source>
        <translation>Deltagare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="89" />
        <source>Agenda and votes</source>
        <translation>Dagordning och röster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="90" />
        <source>Actions</source>
        <translation>Åtgärder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="96" />
        <source>CAB pack…</source>
        <translation>CAB-underlag…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="99" />
        <source>Minutes…</source>
        <translation>Protokoll…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="405" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="407" />
        <source>no</source>
        <translation>nej</translation>
    </message>
</context>
<context>
    <name>CIForm</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="100" />
        <source>Planned</source>
        <translation>Planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="100" />
        <source>In production</source>
        <translation>I produktion</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="101" />
        <source>In maintenance</source>
        <translation>Under underhåll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="101" />
        <source>Retired</source>
        <translation>Avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="102" />
        <source>Low</source>
        <translation>Låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="102" />
        <source>Medium</source>
        <translation>Medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="102" />
        <source>High</source>
        <translation>Hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="103" />
        <source>Critical</source>
        <translation>Kritisk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="104" />
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="318" />
        <source>New CI</source>
        <translation>Nytt CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="125" />
        <source>every dependency needed</source>
        <translation>alla beroenden krävs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="126" />
        <source>Redundancy: the CI stays up while at least this many of its redundant dependencies are up</source>
        <translation>Redundans: CI:t förblir i drift så länge minst så här många av dess redundanta beroenden är i drift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="240" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="132" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="133" />
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153" />
        <source>Class</source>
        <translation>Klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="134" />
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="135" />
        <source>Criticality</source>
        <translation>Kritikalitet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="136" />
        <source>Owner team</source>
        <translation>Ägande team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="137" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="138" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="139" />
        <source>Vendor</source>
        <translation>Leverantör</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="140" />
        <source>Serial</source>
        <translation>Serienummer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="141" />
        <source>Members that must stay up</source>
        <translation>Medlemmar som måste vara i drift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="142" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="143" />
        <source>Class attributes</source>
        <translation>Klassattribut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153" />
        <source>Direction</source>
        <translation>Riktning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153" />
        <source>Relation</source>
        <translation>Relation</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="153" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="154" />
        <source>Redundant</source>
        <translation>Redundant</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="161" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="167" />
        <source>redundant</source>
        <translation>redundant</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="168" />
        <source>Add</source>
        <translation>Lägg till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="170" />
        <source>Remove selected</source>
        <translation>Ta bort markerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="181" />
        <source>This CI</source>
        <translation>Detta CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="194" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="200" />
        <source>Details</source>
        <translation>Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="201" />
        <source>Relations</source>
        <translation>Relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="202" />
        <source>Open records</source>
        <translation>Öppna poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="203" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="204" />
        <source>History</source>
        <translation>Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="209" />
        <source>Subscribers</source>
        <translation>Prenumeranter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="214" />
        <source>Subscribers ({n})</source>
        <translation>Prenumeranter ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="267" />
        <source>this CI →</source>
        <translation>detta CI →</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="267" />
        <source>→ this CI</source>
        <translation>→ detta CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="269" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="271" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="271" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="272" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="272" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="275" />
        <source>Relations ({n})</source>
        <translation>Relationer ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="276" />
        <source>Open records ({n})</source>
        <translation>Öppna poster ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="393" />
        <source>Remove relations</source>
        <translation>Ta bort relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/ci_form.py" line="394" />
        <source>Remove {n} relation(s)?</source>
        <translation>Vill du ta bort {n} relation(er)?</translation>
    </message>
</context>
<context>
    <name>CabMinutes</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="60" />
        <source>{approve} for, {reject} against, {abstain} abstain</source>
        <translation>{approve} för, {reject} emot, {abstain} avstår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="66" />
        <source>no quorum: {votes} of {quorum} votes</source>
        <translation>ej beslutsmässigt: {votes} av {quorum} röster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="68" />
        <source>{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}</source>
        <translation>{approve} för, {reject} emot, {abstain} avstår; kvorum {quorum}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="78" />
        <source>Emergency CAB minutes: {title}</source>
        <translation>Protokoll akut-CAB: {title}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="79" />
        <source>CAB minutes: {title}</source>
        <translation>CAB-protokoll: {title}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="97" />
        <source>Meeting</source>
        <translation>Möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="98" />
        <source>Date (UTC)</source>
        <translation>Datum (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="100" />
        <source>Location</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="101" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="102" />
        <source>Chair</source>
        <translation>Ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="91" />
        <source>Present</source>
        <translation>Närvarande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="36" />
        <source>Decided against the quorum outcome ({outcome}): {reason}</source>
        <translation>Beslutat mot utfallet enligt kvorum ({outcome}): {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="40" />
        <source>Decided against the quorum outcome ({outcome}); no reason was recorded.</source>
        <translation>Beslutat mot utfallet enligt kvorum ({outcome}); ingen orsak registrerades.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="82" />
        <source>DRAFT: this meeting was cancelled and not held.</source>
        <translation>UTKAST: mötet ställdes in och hölls inte.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="84" />
        <source>DRAFT: this meeting has not been held yet. Attendance and decisions are not final.</source>
        <translation>UTKAST: mötet har inte hållits än. Närvaro och beslut är inte slutliga.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="92" />
        <source>Apologies</source>
        <translation>Anmält förhinder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="94" />
        <source>Invited</source>
        <translation>Inbjudna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="104" />
        <source>Quorum</source>
        <translation>Kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="107" />
        <source>Notes</source>
        <translation>Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="109" />
        <source>Decisions</source>
        <translation>Beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="110" />
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="154" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="110" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="111" />
        <source>Votes</source>
        <translation>Röster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="111" />
        <source>Decision</source>
        <translation>Beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="112" />
        <source>Conditions</source>
        <translation>Villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="119" />
        <source>votes: {outcome}</source>
        <translation>rösterna: {outcome}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="124" />
        <source>No changes were discussed</source>
        <translation>Inga ändringar behandlades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="131" />
        <source>{type} change · risk {risk} · planned {start} – {end} UTC · now {status}</source>
        <translation>Ändring ({type}) · risk {risk} · planerad {start} – {end} UTC · nu {status}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="181" />
        <source>DRAFT CAB minutes {ref}</source>
        <translation>UTKAST till CAB-protokoll {ref}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="186" />
        <source>DRAFT</source>
        <translation>UTKAST</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="136" />
        <source>Member</source>
        <translation>Medlem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="136" />
        <source>Vote</source>
        <translation>Röst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="137" />
        <source>Comment</source>
        <translation>Kommentar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="141" />
        <source>no votes recorded</source>
        <translation>inga röster registrerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="144" />
        <source>&lt;b&gt;Decision:&lt;/b&gt; {decision} &lt;font color='#6b7280'&gt;(quorum rule: {rule})&lt;/font&gt;</source>
        <translation>&lt;b&gt;Beslut:&lt;/b&gt; {decision} &lt;font color='#6b7280'&gt;(kvorumregel: {rule})&lt;/font&gt;</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="150" />
        <source>&lt;b&gt;Conditions:&lt;/b&gt; {conditions}</source>
        <translation>&lt;b&gt;Villkor:&lt;/b&gt; {conditions}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="153" />
        <source>Actions</source>
        <translation>Åtgärder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="154" />
        <source>Action</source>
        <translation>Åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="155" />
        <source>Owner</source>
        <translation>Ansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="155" />
        <source>Due</source>
        <translation>Senast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="156" />
        <source>Done</source>
        <translation>Klar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="163" />
        <source>No actions</source>
        <translation>Inga åtgärder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_minutes.py" line="180" />
        <source>CAB minutes {ref}</source>
        <translation>CAB-protokoll {ref}</translation>
    </message>
</context>
<context>
    <name>CabPack</name>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="77" />
        <source>Emergency CAB pack</source>
        <translation>Underlag för akut-CAB (ECAB)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="78" />
        <source>Change Advisory Board pack</source>
        <translation>Underlag för Change Advisory Board</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="84" />
        <source>Chair</source>
        <translation>Ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="85" />
        <source>Invited</source>
        <translation>Inbjudna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="87" />
        <source>Quorum</source>
        <translation>Kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="88" />
        <source>Changes on the agenda</source>
        <translation>Ändringar på dagordningen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="89" />
        <source>Forward schedule</source>
        <translation>Ändringsschema</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="90" />
        <source>{n} change(s) in the next 28 days</source>
        <translation>{n} ändring(ar) de kommande 28 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="94" />
        <source>Contents</source>
        <translation>Innehåll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="98" />
        <source>Agenda</source>
        <translation>Dagordning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="99" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="119" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="100" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="119" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="100" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="101" />
        <source>Planned start</source>
        <translation>Planerad start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="102" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="121" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="152" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="108" />
        <source>No changes on the agenda</source>
        <translation>Inga ändringar på dagordningen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="112" />
        <source>Forward schedule of change</source>
        <translation>Schema för kommande ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="120" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="140" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="120" />
        <source>Start</source>
        <translation>Start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="121" />
        <source>End</source>
        <translation>Slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="126" />
        <source>Nothing scheduled</source>
        <translation>Inget schemalagt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="135" />
        <source>none</source>
        <translation>inget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="137" />
        <source>(service outage)</source>
        <translation>(tjänsteavbrott)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="139" />
        <source>Type / category</source>
        <translation>Typ / kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="141" />
        <source>Planned window (UTC)</source>
        <translation>Planerat fönster (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="143" />
        <source>Downtime</source>
        <translation>Driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="144" />
        <source>Requester / team</source>
        <translation>Beställare / team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="146" />
        <source>Implementer</source>
        <translation>Genomförare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="148" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="149" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="196" />
        <source>Risk not assessed.</source>
        <translation>Risken är inte bedömd.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="200" />
        <source>Level {level}, computed score {score} ({computed})</source>
        <translation>Nivå {level}, beräknad poäng {score} ({computed})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="206" />
        <source>; overridden: {reason}</source>
        <translation>; åsidosatt: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="210" />
        <source>No factors were stored with this risk: it was set without an assessment.</source>
        <translation>Inga faktorer sparades med den här risken: den sattes utan en bedömning.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="214" />
        <source>Factor</source>
        <translation>Faktor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="214" />
        <source>Points</source>
        <translation>Poäng</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="215" />
        <source>Weight</source>
        <translation>Vikt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="215" />
        <source>Why</source>
        <translation>Varför</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="154" />
        <source>Impacted services</source>
        <translation>Påverkade tjänster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="115" />
        <source>Approved, scheduled and in-progress changes planned from {start} to {end}, including those that started earlier and still run.</source>
        <translation>Godkända, schemalagda och pågående ändringar planerade från {start} till {end}, inklusive de som började tidigare och fortfarande pågår.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="156" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="157" />
        <location filename="../../itsmdesk/reports/cab_pack.py" line="166" />
        <source>Criticality</source>
        <translation>Kritikalitet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="161" />
        <source>No business service impacted.</source>
        <translation>Ingen verksamhetstjänst påverkas.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="162" />
        <source>Affected CIs</source>
        <translation>Berörda CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="164" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="165" />
        <source>Class</source>
        <translation>Klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="170" />
        <source>No CI recorded.</source>
        <translation>Inga CI:n registrerade.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="171" />
        <source>Implementation plan</source>
        <translation>Implementeringsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="172" />
        <source>Backout plan</source>
        <translation>Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="173" />
        <source>Test plan</source>
        <translation>Testplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="175" />
        <source>Conflicts</source>
        <translation>Konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="177" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="178" />
        <source>With</source>
        <translation>Med</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="179" />
        <source>When (UTC)</source>
        <translation>När (UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="180" />
        <source>Detail</source>
        <translation>Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="187" />
        <source>No conflicts.</source>
        <translation>Inga konflikter.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="226" />
        <source>CAB decision</source>
        <translation>CAB-beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/reports/cab_pack.py" line="245" />
        <source>CAB pack {ref}</source>
        <translation>CAB-underlag {ref}</translation>
    </message>
</context>
<context>
    <name>CabPrinting</name>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="565" />
        <location filename="../../itsmdesk/views/changes/printing.py" line="60" />
        <source>Save PDF</source>
        <translation>Spara PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="566" />
        <location filename="../../itsmdesk/views/changes/printing.py" line="61" />
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="571" />
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
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="211" />
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="339" />
        <source>+%n more</source>
        <translation>
            <numerusform>+%n till</numerusform>
            <numerusform>+%n till</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="364" />
        <source>Releases</source>
        <translation>Releaser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="366" />
        <source>(no service)</source>
        <translation>(ingen tjänst)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="368" />
        <source>(no CI)</source>
        <translation>(inget CI)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/canvas.py" line="593" />
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
        <location filename="../../itsmdesk/views/calendar/panel.py" line="58" />
        <source>Reschedule %s</source>
        <translation>Planera om %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="109" />
        <source>Month</source>
        <translation>Månad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="109" />
        <source>Week</source>
        <translation>Vecka</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="109" />
        <source>Day</source>
        <translation>Dag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="110" />
        <source>Timeline</source>
        <translation>Tidslinje</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="113" />
        <source>Rows per CI</source>
        <translation>Rader per CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="114" />
        <source>Rows per service</source>
        <translation>Rader per tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="118" />
        <source>All statuses</source>
        <translation>Alla statusar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="136" />
        <source>Previous</source>
        <translation>Föregående</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="137" />
        <source>Today</source>
        <translation>Idag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="137" />
        <source>Go to today</source>
        <translation>Gå till idag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="138" />
        <source>Next</source>
        <translation>Nästa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="139" />
        <source>Undo</source>
        <translation>Ångra</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="139" />
        <source>Undo the last reschedule</source>
        <translation>Ångra den senaste omplaneringen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="141" />
        <source>Redo</source>
        <translation>Gör om</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="146" />
        <source>Export .ics…</source>
        <translation>Exportera .ics…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="146" />
        <source>Export this range as iCalendar</source>
        <translation>Exportera det här intervallet som iCalendar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="167" />
        <source>Conflicts</source>
        <translation>Konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="176" />
        <source>No end counts as</source>
        <translation>Utan slut räknas som</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="182" />
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="185" />
        <source>How long a change without an end (or ending at its start) counts when conflicts are checked; 0 leaves it an instant that overlaps nothing. Applies to everyone.</source>
        <translation>Hur länge en ändring utan slut (eller som slutar när den börjar) räknas när konflikter kontrolleras; 0 gör den till ett ögonblick som inte överlappar något. Gäller alla.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="192" />
        <source>Fill: status · left stripe: risk · red outline: conflict · red shade: blackout · green: maintenance window</source>
        <translation>Fyllning: status · vänster rand: risk · röd kontur: konflikt · röd skuggning: frysperiod · grön: underhållsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="225" />
        <source>All teams</source>
        <translation>Alla team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="226" />
        <source>All services</source>
        <translation>Alla tjänster</translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/panel.py" line="290" />
        <source>Conflicts (%n)</source>
        <translation>
            <numerusform>Konflikter (%n)</numerusform>
            <numerusform>Konflikter (%n)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/calendar/panel.py" line="292" />
        <source>Compared: the %n change(s) in this range still on the calendar (draft to implementing).</source>
        <translation>
            <numerusform>Jämfört: de %n ändring(ar) i detta intervall som fortfarande ligger i kalendern (utkast till genomförs).</numerusform>
            <numerusform>Jämfört: de %n ändring(ar) i detta intervall som fortfarande ligger i kalendern (utkast till genomförs).</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="294" />
        <source>%1 of %2 conflicting pair(s) involve a change without an end.</source>
        <translation>%1 av %2 konfliktpar berör en ändring utan slut.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="353" />
        <source>%s moved to %s</source>
        <translation>%s flyttad till %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="377" />
        <source>Export change calendar</source>
        <translation>Exportera ändringskalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="378" />
        <source>iCalendar (*.ics)</source>
        <translation>iCalendar (*.ics)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="388" />
        <source>%s written (%s changes)</source>
        <translation>%s skriven (%s ändringar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/calendar/panel.py" line="398" />
        <source>Export change calendar (.ics)…</source>
        <translation>Exportera ändringskalender (.ics)…</translation>
    </message>
</context>
<context>
    <name>ChangeForm</name>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="194" />
        <source>new (draft)</source>
        <translation>ny (utkast)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="236" />
        <location filename="../../itsmdesk/views/changes/change_form.py" line="440" />
        <source>(no team)</source>
        <translation>(inget team)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="246" />
        <source>Downtime window</source>
        <translation>Driftstoppsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="252" />
        <source>Service outage</source>
        <translation>Tjänsteavbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="260" />
        <source>&amp;Title</source>
        <translation>&amp;Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="263" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="266" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="278" />
        <source>Downtime</source>
        <translation>Driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="286" />
        <source>&amp;Reason</source>
        <translation>&amp;Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="287" />
        <source>&amp;Description</source>
        <translation>&amp;Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="267" />
        <source>People</source>
        <translation>Personer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="129" />
        <source>Reschedule</source>
        <translation>Planera om</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="135" />
        <source>The downtime window moves by the same amount.</source>
        <translation>Driftstoppsfönstret flyttas lika mycket.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="138" />
        <source>Planned &amp;start</source>
        <translation>Planerad st&amp;art</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="139" />
        <source>Planned &amp;end</source>
        <translation>Planerat sl&amp;ut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="157" />
        <source>Change the risk of an approved change</source>
        <translation>Ändra risken för en godkänd ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="158" />
        <source>{ref} is {status}: it was approved with its current risk. If the level changes, the change goes back for approval (the CAB votes again). The reason is kept in its history.</source>
        <translation>{ref} är {status}: den godkändes med sin nuvarande risk. Om nivån ändras går ändringen tillbaka för godkännande (CAB röstar igen). Orsaken sparas i historiken.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="200" />
        <source>Reason for the next step (kept in the history)</source>
        <translation>Orsak till nästa steg (sparas i historiken)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="212" />
        <source>Histor&amp;y</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="241" />
        <source>Re&amp;schedule…</source>
        <translation>&amp;Planera om…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="243" />
        <source>Move the planned window; the downtime window moves with it</source>
        <translation>Flytta det planerade fönstret; driftstoppsfönstret flyttas med</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="265" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="273" />
        <source>Planned window</source>
        <translation>Planerat fönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="293" />
        <source>Key in the old tool</source>
        <translation>Nyckel i det gamla verktyget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="294" />
        <source>Raised</source>
        <translation>Registrerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="295" />
        <source>Requested end</source>
        <translation>Önskat slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="296" />
        <source>CAB approval</source>
        <translation>CAB-godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="302" />
        <source>Imported</source>
        <translation>Importerat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="325" />
        <source>&amp;Implementation plan</source>
        <translation>&amp;Implementeringsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="326" />
        <source>&amp;Backout plan</source>
        <translation>&amp;Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="327" />
        <source>Te&amp;st plan</source>
        <translation>&amp;Testplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="333" />
        <source>Drop CIs here from the CMDB tree, or add one by name.</source>
        <translation>Dra hit CI:n från CMDB-trädet eller lägg till ett via namn.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="340" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="342" />
        <source>Add</source>
        <translation>Lägg till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="344" />
        <source>Remove selected</source>
        <translation>Ta bort markerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="360" />
        <source>Factor</source>
        <translation>Faktor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="360" />
        <source>Points</source>
        <translation>Poäng</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="360" />
        <source>Weight</source>
        <translation>Vikt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="361" />
        <source>Why</source>
        <translation>Varför</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="372" />
        <location filename="../../itsmdesk/views/changes/change_form.py" line="585" />
        <source>Assess risk</source>
        <translation>Bedöm risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="376" />
        <source>Override</source>
        <translation>Åsidosätt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="379" />
        <source>(computed)</source>
        <translation>(beräknad)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="452" />
        <source>needed</source>
        <translation>krävs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="453" />
        <source>not needed</source>
        <translation>krävs inte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="530" />
        <source>approved with this risk: a new level sends it back for approval</source>
        <translation>godkänd med denna risk: en ny nivå skickar tillbaka den för godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="538" />
        <source>No factors were stored with this risk: it was set without an assessment. Assessing the risk computes them and stores them with the change.</source>
        <translation>Inga faktorer sparades med den här risken: den sattes utan en bedömning. En riskbedömning beräknar dem och sparar dem med ändringen.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="165" />
        <location filename="../../itsmdesk/views/changes/change_form.py" line="383" />
        <source>Reason (required)</source>
        <translation>Orsak (obligatorisk)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="384" />
        <source>Apply override</source>
        <translation>Tillämpa åsidosättning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="390" />
        <source>Conflicts</source>
        <translation>Konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="400" />
        <source>(not reviewed)</source>
        <translation>(ej granskad)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="407" />
        <source>Record review</source>
        <translation>Registrera granskning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="413" />
        <source>Outcome</source>
        <translation>Utfall</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="414" />
        <source>Lessons</source>
        <translation>Lärdomar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="415" />
        <source>Incidents caused</source>
        <translation>Orsakade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="576" />
        <source>The review follows implementation.</source>
        <translation>Granskningen görs efter genomförandet.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="580" />
        <source>The change has started: its risk is history and is no longer re-assessed.</source>
        <translation>Ändringen har påbörjats: dess risk är historik och omvärderas inte längre.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="583" />
        <source>Re-assess risk…</source>
        <translation>Omvärdera risk…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="659" />
        <source>No CI named {name}</source>
        <translation>Inget CI med namnet {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="727" />
        <source>Risk changed from {old} to {new}: {ref} went back to {status} for approval.</source>
        <translation>Risken ändrades från {old} till {new}: {ref} gick tillbaka till {status} för godkännande.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="733" />
        <source>Risk level unchanged ({level}): the approval stands.</source>
        <translation>Risknivån är oförändrad ({level}): godkännandet står fast.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="737" />
        <source>Risk assessed: {level} (score {score}).</source>
        <translation>Risken bedömd: {level} (poäng {score}).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="743" />
        <source>Choose the review's outcome first.</source>
        <translation>Välj granskningens utfall först.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="207" />
        <source>Details</source>
        <translation>Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="208" />
        <source>Plans</source>
        <translation>Planer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="209" />
        <source>Affected CIs</source>
        <translation>Berörda CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="210" />
        <source>Risk and conflicts</source>
        <translation>Risk och konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="211" />
        <source>Review (PIR)</source>
        <translation>Granskning (PIR)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="192" />
        <location filename="../../itsmdesk/views/changes/change_form.py" line="588" />
        <source>New change</source>
        <translation>Ny ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="463" />
        <source>Status: %s</source>
        <translation>Status: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="472" />
        <source>Requester: %s · Implementer: %s</source>
        <translation>Beställare: %s · Genomförare: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="504" />
        <source>No conflicts.</source>
        <translation>Inga konflikter.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="522" />
        <source>Risk not assessed yet.</source>
        <translation>Risken är inte bedömd ännu.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="524" />
        <source>Risk: %s (score %s)</source>
        <translation>Risk: %s (poäng %s)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/change_form.py" line="527" />
        <source>overridden from %s: %s</source>
        <translation>åsidosatt från %s: %s</translation>
    </message>
</context>
<context>
    <name>ChangesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="66" />
        <source>Search reference or title</source>
        <translation>Sök referens eller rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="68" />
        <source>All statuses</source>
        <translation>Alla statusar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="73" />
        <source>More</source>
        <translation>Mer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="75" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="79" />
        <source>Ref</source>
        <translation>Ref</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="75" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="79" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="75" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="76" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="76" />
        <source>Planned start</source>
        <translation>Planerad start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="76" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="80" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="79" />
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="99" />
        <source>Changes</source>
        <translation>Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="100" />
        <source>CAB meetings</source>
        <translation>CAB-möten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="101" />
        <location filename="../../itsmdesk/views/changes/panel.py" line="129" />
        <source>Success rate</source>
        <translation>Andel lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="117" />
        <source>By month</source>
        <translation>Per månad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="117" />
        <source>By type</source>
        <translation>Per typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="118" />
        <source>By team</source>
        <translation>Per team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="121" />
        <source>Export CSV…</source>
        <translation>Exportera CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="127" />
        <source>Group</source>
        <translation>Grupp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="127" />
        <source>Finished</source>
        <translation>Avslutade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="127" />
        <source>Successful</source>
        <translation>Lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="128" />
        <source>Failed / backed out</source>
        <translation>Misslyckade / återställda</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="128" />
        <source>Incidents caused</source>
        <translation>Orsakade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="160" />
        <source>Export success rate</source>
        <translation>Exportera andel lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="161" />
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="265" />
        <source>Standard change</source>
        <translation>Standardändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="266" />
        <source>Template:</source>
        <translation>Mall:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="299" />
        <source>New change</source>
        <translation>Ny ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="300" />
        <source>New standard change from template…</source>
        <translation>Ny standardändring från mall…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="301" />
        <source>New CAB meeting</source>
        <translation>Nytt CAB-möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="303" />
        <source>CAB pack (PDF, print preview)…</source>
        <translation>CAB-underlag (PDF, förhandsgranskning)…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/changes/panel.py" line="305" />
        <source>CAB minutes (PDF, print preview)…</source>
        <translation>CAB-protokoll (PDF, förhandsgranskning)…</translation>
    </message>
</context>
<context>
    <name>Cli</name>
    <message>
        <location filename="../../itsmdesk/cli.py" line="62" />
        <source>itsmdesk: IT service support (incidents, problems, CMDB, changes, releases).</source>
        <translation>itsmdesk: IT-servicestöd (incidenter, problem, CMDB, ändringar, releaser).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="64" />
        <source>With no command, the desktop application starts.</source>
        <translation>Utan kommando startar skrivbordsprogrammet.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="67" />
        <source>sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/DB (default: $ITSMDESK_DB, else a file in your data folder)</source>
        <translation>sqlite:///FIL eller postgresql://ANVÄNDARE:LÖSEN@VÄRD:PORT/DB (standard: $ITSMDESK_DB, annars en fil i din datamapp)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="70" />
        <source>sign in as LOGIN (default: $ITSMDESK_USER); the password comes from $ITSMDESK_PASSWORD or is asked for</source>
        <translation>logga in som LOGIN (standard: $ITSMDESK_USER); lösenordet tas från $ITSMDESK_PASSWORD eller efterfrågas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="74" />
        <source>work on the demo database (built on first use): the GUI, or any command</source>
        <translation>arbeta i demodatabasen (byggs första gången): det grafiska gränssnittet eller vilket kommando som helst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="132" />
        <location filename="../../itsmdesk/cli.py" line="146" />
        <location filename="../../itsmdesk/cli.py" line="157" />
        <location filename="../../itsmdesk/commands/mail.py" line="97" />
        <source>itsmdesk: error: {message}</source>
        <translation>itsmdesk: fel: {message}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="136" />
        <source>itsmdesk: interrupted</source>
        <translation>itsmdesk: avbrutet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="159" />
        <source>(set ITSMDESK_DEBUG=1 for details)</source>
        <translation>(sätt ITSMDESK_DEBUG=1 för detaljer)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="20" />
        <source>ACTION</source>
        <translation>ÅTGÄRD</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="21" />
        <source>AFTER</source>
        <translation>EFTER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="22" />
        <source>APPROVED</source>
        <translation>GODKÄND</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="23" />
        <source>AT</source>
        <translation>TIDPUNKT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="24" />
        <source>AVAILABILITY_PCT</source>
        <translation>TILLGÄNGLIGHET_PROCENT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="25" />
        <source>CATEGORY</source>
        <translation>KATEGORI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="26" />
        <source>CAUSED_INCIDENTS</source>
        <translation>ORSAKADE_INCIDENTER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="27" />
        <source>CHANGE</source>
        <translation>ÄNDRING</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="28" />
        <source>CHANGE_PCT</source>
        <translation>FÖRÄNDRING_PROCENT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="29" />
        <source>CHECKSUM</source>
        <translation>KONTROLLSUMMA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="30" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="31" />
        <source>CIS</source>
        <translation>CI:N</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="32" />
        <source>CLASS_LABEL</source>
        <translation>KLASS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="33" />
        <source>COUNT</source>
        <translation>ANTAL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="34" />
        <source>CRITICALITY</source>
        <translation>KRITIKALITET</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="35" />
        <source>DELTA</source>
        <translation>DIFFERENS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="36" />
        <source>DEPTH</source>
        <translation>DJUP</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="37" />
        <source>DETAIL</source>
        <translation>DETALJ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="38" />
        <source>DOWNTIME_H</source>
        <translation>DRIFTSTOPP_H</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="39" />
        <source>END</source>
        <translation>SLUT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="40" />
        <source>ESCALATE_PCT</source>
        <translation>ESKALERA_PROCENT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="41" />
        <source>EXTERNAL_KEY</source>
        <translation>EXTERN_NYCKEL</translation>
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
        <source>PROPAGATES</source>
        <translation>SPRIDS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="63" />
        <source>PRIORITY</source>
        <translation>PRIORITET</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="64" />
        <source>RANK</source>
        <translation>RANG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="65" />
        <source>RATE</source>
        <translation>ANDEL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="66" />
        <source>DEFAULT</source>
        <translation>STANDARD</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="67" />
        <source>VALUE</source>
        <translation>VÄRDE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="68" />
        <source>REF</source>
        <translation>REF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="69" />
        <source>REFS</source>
        <translation>REFERENSER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="70" />
        <source>RELATION</source>
        <translation>RELATION</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="71" />
        <source>RELATIONS</source>
        <translation>RELATIONER</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="72" />
        <source>RESOLUTION_MIN</source>
        <translation>LÖSNING_MIN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="73" />
        <source>RESPONSE_MIN</source>
        <translation>SVAR_MIN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="74" />
        <source>RISK</source>
        <translation>RISK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="75" />
        <source>RRULE</source>
        <translation>RRULE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="76" />
        <source>SCOPE</source>
        <translation>OMFATTNING</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="77" />
        <source>SITE</source>
        <translation>PLATS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="78" />
        <source>SOURCE</source>
        <translation>KÄLLA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="79" />
        <source>SLA_STATE</source>
        <translation>SLA_LÄGE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="80" />
        <source>START</source>
        <translation>START</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="81" />
        <source>STARTS_AT</source>
        <translation>BÖRJAR</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="82" />
        <source>STATUS</source>
        <translation>STATUS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="83" />
        <source>STEP</source>
        <translation>STEG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="84" />
        <source>STEPS</source>
        <translation>STEG</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="85" />
        <source>SUCCESSFUL</source>
        <translation>LYCKADE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="86" />
        <source>SUGGESTED_TITLE</source>
        <translation>FÖRESLAGEN_RUBRIK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="87" />
        <source>TAKEN_AT</source>
        <translation>TAGEN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="88" />
        <source>TARGET</source>
        <translation>MÅL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="89" />
        <source>TITLE</source>
        <translation>RUBRIK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="90" />
        <source>TO</source>
        <translation>TILL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="91" />
        <source>TYPE</source>
        <translation>TYP</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="92" />
        <source>VERSION</source>
        <translation>VERSION</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="93" />
        <source>VIA</source>
        <translation>VIA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="94" />
        <source>WEIGHT</source>
        <translation>VIKT</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="95" />
        <source>WHO</source>
        <translation>VEM</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="96" />
        <source>WHY</source>
        <translation>VARFÖR</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="188" />
        <source>building the demo database {db} (once)…</source>
        <translation>bygger demodatabasen {db} (en gång)…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="237" />
        <source>Password for {who}: </source>
        <translation>Lösenord för {who}: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="267" />
        <location filename="../../itsmdesk/commands/sync.py" line="200" />
        <source>(none)</source>
        <translation>(inga)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="286" />
        <source>would create {n}</source>
        <translation>skulle skapa {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="288" />
        <source>create {n}</source>
        <translation>skapa {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="290" />
        <source>nothing written; create {n}</source>
        <translation>inget skrivet; skapa {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="291" />
        <source>{kind}: {n} rows read</source>
        <translation>{kind}: {n} rader lästa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="293" />
        <source>update {n}</source>
        <translation>uppdatera {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="294" />
        <source>unchanged {n}</source>
        <translation>oförändrade {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="295" />
        <source>rejected {n}</source>
        <translation>avvisade {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="298" />
        <source>journal_rows {n}</source>
        <translation>journalrader {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="310" />
        <source>line {line}, column {column}: {reason}</source>
        <translation>rad {line}, kolumn {column}: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="334" />
        <source>'{value}' is not a whole number from {low} to {high}</source>
        <translation>'{value}' är inte ett heltal från {low} till {high}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/base.py" line="354" />
        <source>'{value}' is not a number from {low} to {high}</source>
        <translation>'{value}' är inte ett tal från {low} till {high}</translation>
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
        <location filename="../../itsmdesk/commands/changes.py" line="38" />
        <source>change management: conflicts, transitions, success rate</source>
        <translation>ändringshantering: konflikter, statusbyten, andel lyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="41" />
        <source>conflicting changes and window violations</source>
        <translation>ändringar i konflikt och brott mot ändringsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="43" />
        <source>compare changes planned to run on or after this day</source>
        <translation>jämför ändringar planerade att pågå denna dag eller senare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="45" />
        <source>compare changes planned to start up to this day, inclusive</source>
        <translation>jämför ändringar planerade att starta till och med denna dag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="49" />
        <source>compare changes with these statuses (default: the ones still on the calendar, draft to implementing)</source>
        <translation>jämför ändringar med dessa statusar (standard: de som fortfarande ligger i kalendern, utkast till genomförs)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="52" />
        <source>compare every change, whatever its status</source>
        <translation>jämför alla ändringar, oavsett status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="53" />
        <source>skip impact-path conflicts</source>
        <translation>hoppa över konflikter via påverkansvägar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="57" />
        <source>show or set how long a change without an end counts in conflict checks</source>
        <translation>visa eller ange hur länge en ändring utan slut räknas vid konfliktkontroller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="62" />
        <source>move a change to another status</source>
        <translation>flytta en ändring till en annan status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="65" />
        <source>why (needed to reject a change the CAB did not reject)</source>
        <translation>varför (krävs för att avslå en ändring som CAB inte avslog)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="69" />
        <source>change success rate per type, team or month</source>
        <translation>andel lyckade ändringar per typ, team eller månad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="76" />
        <source>assess a change's risk and show its factors</source>
        <translation>bedöm en ändrings risk och visa dess faktorer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="78" />
        <source>re-assess an approved change for this reason (a new level sends it back for approval)</source>
        <translation>omvärdera en godkänd ändring med denna orsak (en ny nivå skickar tillbaka den för godkännande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="84" />
        <location filename="../../itsmdesk/commands/changes.py" line="90" />
        <source>forward schedule of change as .ics</source>
        <translation>schema för kommande ändringar som .ics</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="87" />
        <source>change calendar: export</source>
        <translation>ändringskalender: export</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="120" />
        <source>every status</source>
        <translation>alla statusar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="123" />
        <source>Compared {n} change(s) with status: {statuses}.</source>
        <translation>Jämförde {n} ändring(ar) med status: {statuses}.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="125" />
        <source>Period: {start} to {end}.</source>
        <translation>Period: {start} till {end}.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="126" />
        <source>any start</source>
        <translation>valfri start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="127" />
        <source>any end</source>
        <translation>valfritt slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="129" />
        <source>A change without an end counts as {minutes} minute(s) (setting {setting}; 'changes conflict-stretch' changes it): {changes} change(s) stretched, {stretched} of {pairs} conflicting pair(s) involve one.</source>
        <translation>En ändring utan slut räknas som {minutes} minut(er) (inställningen {setting}; 'changes conflict-stretch' ändrar den): {changes} ändring(ar) förlängda, {stretched} av {pairs} konfliktpar berör en sådan.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="168" />
        <source>A change without an end counts as {minutes} minute(s) in conflict checks.</source>
        <translation>En ändring utan slut räknas som {minutes} minut(er) vid konfliktkontroller.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="227" />
        <source>{ref}: risk {level} (score {score})</source>
        <translation>{ref}: risk {level} (poäng {score})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="232" />
        <source>{ref}: risk level {old} -&gt; {new}; sent back for approval (now {status})</source>
        <translation>{ref}: risknivå {old} -&gt; {new}; skickad tillbaka för godkännande (nu {status})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="236" />
        <source>{ref}: risk level unchanged ({level}); the approval stands</source>
        <translation>{ref}: risknivån är oförändrad ({level}); godkännandet står fast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="239" />
        <source>{ref} is {status}: this is the risk it was approved with; give --reason to re-assess it (a new level sends it back for approval)</source>
        <translation>{ref} är {status}: detta är risken den godkändes med; ange --reason för att omvärdera den (en ny nivå skickar tillbaka den för godkännande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="243" />
        <source>{ref} is {status}: its stored risk is shown; it is no longer re-assessed</source>
        <translation>{ref} är {status}: dess sparade risk visas; den omvärderas inte längre</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/changes.py" line="260" />
        <source>{path} written ({n} changes)</source>
        <translation>{path} skriven ({n} ändringar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="20" />
        <source>what fails if a CI fails (down) or what it needs (up)</source>
        <translation>vad som slutar fungera om ett CI fallerar (down) eller vad det behöver (up)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="21" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="24" />
        <source>relation steps (default: no limit)</source>
        <translation>antal relationssteg (standard: ingen gräns)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="26" />
        <source>treat every relation as a single point of failure</source>
        <translation>behandla varje relation som en enskild felpunkt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="27" />
        <source>only the business services</source>
        <translation>bara verksamhetstjänsterna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="31" />
        <source>CMDB baselines: take, list, compare with now</source>
        <translation>CMDB-baslinjer: ta, lista, jämför med nuläget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="33" />
        <source>snapshot CIs and relations under a name</source>
        <translation>ögonblicksbild av CI:n och relationer under ett namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="36" />
        <source>only CIs of this class</source>
        <translation>bara CI:n av denna klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="37" />
        <source>only CIs at this site (code)</source>
        <translation>bara CI:n på denna plats (kod)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="38" />
        <source>a business service and everything it needs</source>
        <translation>en verksamhetstjänst och allt den behöver</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="40" />
        <source>list baselines</source>
        <translation>lista baslinjer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="43" />
        <source>compare a baseline with the CMDB now</source>
        <translation>jämför en baslinje med CMDB:n nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="48" />
        <source>compare the CMDB with a discovered list (CSV)</source>
        <translation>jämför CMDB:n med en inventerad lista (CSV)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="51" />
        <source>apply the scan: create unknown CIs and update different ones</source>
        <translation>tillämpa skanningen: skapa okända CI:n och uppdatera avvikande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="77" />
        <source>{n} CIs ({services} business services)</source>
        <translation>{n} CI:n ({services} verksamhetstjänster)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="89" />
        <source>baseline '{name}' taken: {n} items</source>
        <translation>baslinjen '{name}' tagen: {n} poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="99" />
        <source>all</source>
        <translation>alla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="116" />
        <source>baseline '{name}' ({at} UTC) against now:</source>
        <translation>baslinjen '{name}' ({at} UTC) jämfört med nu:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="119" />
        <source>no differences</source>
        <translation>inga skillnader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="121" />
        <source>+ CI {name}</source>
        <translation>+ CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="123" />
        <source>- CI {name}</source>
        <translation>- CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="125" />
        <source>~ CI {name}: {field} {old} -&gt; {new}</source>
        <translation>~ CI {name}: {field} {old} -&gt; {new}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="128" />
        <source>+ relation {name}</source>
        <translation>+ relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="130" />
        <source>- relation {name}</source>
        <translation>- relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="132" />
        <source>~ relation {name}: {field} {old} -&gt; {new}</source>
        <translation>~ relation {name}: {field} {old} -&gt; {new}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="149" />
        <source>bad row: {error}</source>
        <translation>felaktig rad: {error}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="151" />
        <source>unknown  {name}</source>
        <translation>okänt    {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="153" />
        <source>missing  {name}</source>
        <translation>saknas   {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="155" />
        <source>differs  {name}: {field} CMDB {cmdb}, scan {scan}</source>
        <translation>avviker  {name}: {field} CMDB {cmdb}, skanning {scan}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/cmdb.py" line="157" />
        <source>{scanned} scanned: {matching} match, {unknown} unknown, {missing} missing, {different} differences</source>
        <translation>{scanned} skannade: {matching} stämmer, {unknown} okända, {missing} saknas, {different} avvikelser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="14" />
        <source>create the database or upgrade its schema</source>
        <translation>skapa databasen eller uppgradera dess schema</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="15" />
        <source>create the first administrator (a database without accounts only); the password from $ITSMDESK_NEW_PASSWORD or asked for</source>
        <translation>skapa den första administratören (bara i en databas utan konton); lösenordet från $ITSMDESK_NEW_PASSWORD eller efterfrågat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="18" />
        <source>the administrator's name (default: LOGIN)</source>
        <translation>administratörens namn (standard: LOGIN)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="21" />
        <source>fill the database with deterministic demo data</source>
        <translation>fyll databasen med deterministiska demodata</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="25" />
        <source>add demo data even though the database already holds records</source>
        <translation>lägg till demodata trots att databasen redan innehåller poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="28" />
        <source>print counts per record kind as JSON</source>
        <translation>skriv ut antal per posttyp som JSON</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="31" />
        <source>write a consistent copy of the database to FILE</source>
        <translation>skriv en konsistent kopia av databasen till FILE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="35" />
        <source>replace the database with the backup FILE (SQLite; the current file is saved beside it first)</source>
        <translation>ersätt databasen med säkerhetskopian FILE (SQLite; den nuvarande filen sparas först bredvid den)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="41" />
        <source>check the file, the references between records, external keys, stored values and the CMDB graph index</source>
        <translation>kontrollera filen, referenserna mellan poster, externa nycklar, lagrade värden och CMDB:ns grafindex</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="45" />
        <source>first put the CMDB graph index right (it is derived from the CIs and relations; nothing else changes)</source>
        <translation>rätta först CMDB:ns grafindex (det härleds från CI:erna och relationerna; inget annat ändras)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="51" />
        <source>list records of one kind</source>
        <translation>lista poster av en typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="53" />
        <source>one of: {kinds}</source>
        <translation>en av: {kinds}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="59" />
        <source>who changed what on a record (by reference or CI name)</source>
        <translation>vem som ändrade vad på en post (efter referens eller CI-namn)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="64" />
        <source>every setting: where it lives, its default and its value here</source>
        <translation>alla inställningar: var de finns, deras standardvärde och deras värde här</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="66" />
        <source>print JSON</source>
        <translation>skriv ut JSON</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="80" />
        <source>created {db} at schema {version}</source>
        <translation>skapade {db} med schema {version}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="83" />
        <source>{db} is up to date (schema {version})</source>
        <translation>{db} är aktuell (schema {version})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="86" />
        <source>upgraded {db} from schema {old} to {new}</source>
        <translation>uppgraderade {db} från schema {old} till {new}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="94" />
        <source>{login}: administrator {name} created; sign in with --user {login}</source>
        <translation>{login}: administratören {name} skapad; logga in med --user {login}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="109" />
        <source>demo data ({size}, seed {seed}) written to {db} in {seconds} s</source>
        <translation>demodata ({size}, frö {seed}) skrivna till {db} på {seconds} s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="128" />
        <source>backup of {db} written to {path}</source>
        <translation>säkerhetskopia av {db} skriven till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="142" />
        <source>the previous database was saved as {path}</source>
        <translation>den tidigare databasen sparades som {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="145" />
        <source>{db} restored from {path}</source>
        <translation>{db} återställd från {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="158" />
        <source>CMDB graph index repaired ({cis} CI(s), {relations} relation(s) still wrong)</source>
        <translation>CMDB:ns grafindex reparerat ({cis} CI, {relations} relation(er) fortfarande fel)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="165" />
        <source>{n} problem(s) found in {db}</source>
        <translation>{n} fel hittade i {db}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="169" />
        <source>{db}: OK</source>
        <translation>{db}: OK</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/core.py" line="221" />
        <source>{reason} Organisation settings show their defaults.</source>
        <translation>{reason} Organisationens inställningar visar sina standardvärden.</translation>
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
        <location filename="../../itsmdesk/commands/importing.py" line="22" />
        <source>import records from a CSV file</source>
        <translation>importera poster från en CSV-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="26" />
        <source>mapping for another tool's export: a file, or the name of a ready one (itsmdesk mappings lists them)</source>
        <translation>mappning för ett annat verktygs export: en fil eller namnet på en färdig (itsmdesk mappings listar dem)</translation>
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
        <location filename="../../itsmdesk/commands/importing.py" line="36" />
        <source>the ready import mappings for other tools' exports</source>
        <translation>de färdiga importmappningarna för andra verktygs exporter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="38" />
        <source>as JSON</source>
        <translation>som JSON</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="51" />
        <source>No ready mappings are installed.</source>
        <translation>Inga färdiga mappningar är installerade.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="55" />
        <source>Use one with: itsmdesk import KIND FILE --map NAME</source>
        <translation>Använd en med: itsmdesk import TYP FIL --map NAMN</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="61" />
        <source>reading</source>
        <translation>läser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="62" />
        <source>checking</source>
        <translation>kontrollerar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="63" />
        <source>checking rows</source>
        <translation>kontrollerar rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="64" />
        <source>writing</source>
        <translation>skriver</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="65" />
        <source>writing records</source>
        <translation>skriver poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="66" />
        <source>writing history</source>
        <translation>skriver historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="67" />
        <source>exporting</source>
        <translation>exporterar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="100" />
        <location filename="../../itsmdesk/commands/sync.py" line="165" />
        <source>(empty)</source>
        <translation>(tomt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="108" />
        <source>create CI {name}</source>
        <translation>skapa CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="108" />
        <source>add relation {name}</source>
        <translation>lägg till relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="110" />
        <source>update CI {name}</source>
        <translation>uppdatera CI {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="110" />
        <source>update relation {name}</source>
        <translation>uppdatera relation {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="119" />
        <source>... and {n} more CIs to create or update (not listed)</source>
        <translation>... och {n} CI:n till att skapa eller uppdatera (visas inte)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="121" />
        <source>... and {n} more relations to create or update (not listed)</source>
        <translation>... och {n} relationer till att skapa eller uppdatera (visas inte)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="124" />
        <source>relations not in the file are kept (the import never removes relations)</source>
        <translation>relationer som inte finns i filen behålls (importen tar aldrig bort relationer)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="164" />
        <source>... and {n} more bad rows</source>
        <translation>... och {n} felaktiga rader till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="166" />
        <source>... and {n} more errors in the rows above</source>
        <translation>... och {n} fler fel i raderna ovan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/importing.py" line="170" />
        <source>rejected rows written to {path}</source>
        <translation>avvisade rader skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="22" />
        <source>failures, MTBF, MTTR and availability per CI or business service</source>
        <translation>fel, MTBF, MTTR och tillgänglighet per CI eller verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="25" />
        <source>period start (default: a year before the end)</source>
        <translation>periodens början (standard: ett år före slutet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="27" />
        <source>period end, inclusive day (default: now)</source>
        <translation>periodens slut, dagen inräknad (standard: nu)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="30" />
        <source>only the N with most downtime</source>
        <translation>bara de N med mest driftstopp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="32" />
        <source>write the figures as CSV</source>
        <translation>skriv siffrorna som CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="33" />
        <source>write the report as PDF</source>
        <translation>skriv rapporten som PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="37" />
        <source>incidents per CI, service, category or team, top movers</source>
        <translation>incidenter per CI, tjänst, kategori eller team, största förändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="40" />
        <source>period start (default: 90 days before the end)</source>
        <translation>periodens början (standard: 90 dagar före slutet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="41" />
        <source>period end, inclusive day</source>
        <translation>periodens slut, dagen inräknad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="46" />
        <source>knowledge base</source>
        <translation>kunskapsbas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="48" />
        <source>full-text search of articles, best first</source>
        <translation>fritextsökning i artiklar, bästa träff först</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="54" />
        <source>problem management</source>
        <translation>problemhantering</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="57" />
        <source>recurring incidents not yet linked to a problem</source>
        <translation>återkommande incidenter som ännu inte är kopplade till ett problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="59" />
        <source>look at incidents of the last N days (before --to, default now)</source>
        <translation>titta på incidenter från de senaste N dagarna (före --to, standard nu)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="62" />
        <source>look at incidents opened on or after this day (instead of --days)</source>
        <translation>titta på incidenter öppnade denna dag eller senare (i stället för --days)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="65" />
        <source>look at incidents opened up to this day, inclusive (default: now)</source>
        <translation>titta på incidenter öppnade till och med denna dag (standard: nu)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="171" />
        <source>Incidents opened {start} to {end} (UTC); at most the newest {per_ci} per CI or service are clustered (--per-ci), at most {limit} groups shown (--limit).</source>
        <translation>Incidenter öppnade {start} till {end} (UTC); högst de {per_ci} nyaste per CI eller tjänst grupperas (--per-ci), högst {limit} grupper visas (--limit).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="177" />
        <source>{cis} CI(s) or service(s) had more: {n} older incident(s) were not clustered.</source>
        <translation>{cis} CI eller tjänst(er) hade fler: {n} äldre incident(er) grupperades inte.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="181" />
        <source>Showing {shown} of {found} groups.</source>
        <translation>Visar {shown} av {found} grupper.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="68" />
        <source>incidents within N days of each other belong together</source>
        <translation>incidenter inom N dagar från varandra hör ihop</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="71" />
        <source>show at most N groups, the biggest first (default 100)</source>
        <translation>visa högst N grupper, de största först (standard 100)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="73" />
        <source>cluster at most the newest N incidents of each CI or service (default 400)</source>
        <translation>gruppera högst de N nyaste incidenterna per CI eller tjänst (standard 400)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="87" />
        <source>{n} rows written to {path}</source>
        <translation>{n} rader skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="94" />
        <source>{n} page(s) written to {path}</source>
        <translation>{n} sidor skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="102" />
        <source>service availability {start} .. {end} UTC ({hours} h)</source>
        <translation>tillgänglighet per tjänst {start} .. {end} UTC ({hours} h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="104" />
        <source>ci availability {start} .. {end} UTC ({hours} h)</source>
        <translation>tillgänglighet per CI {start} .. {end} UTC ({hours} h)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="122" />
        <source>ci</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="122" />
        <source>service</source>
        <translation>tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="123" />
        <source>category</source>
        <translation>kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="123" />
        <source>team</source>
        <translation>team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="124" />
        <source>incidents by {by}, {start} .. {end}: {total} (previous period {previous})</source>
        <translation>incidenter per {by}, {start} .. {end}: {total} (föregående period {previous})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/problems.py" line="129" />
        <source>top movers:</source>
        <translation>största förändringar:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="11" />
        <source>release management: show, move status, deploy waves</source>
        <translation>releasehantering: visa, byt status, driftsätt vågor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="14" />
        <source>a release with its changes, risk, plan and DML items</source>
        <translation>en release med dess ändringar, risk, plan och DML-objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="20" />
        <source>move a release to STATUS (checks the change roll-up)</source>
        <translation>flytta en release till STATUS (kontrollerar ändringarnas sammanställning)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="26" />
        <source>deploy one rollout wave: update the site's CI versions</source>
        <translation>driftsätt en utrullningsvåg: uppdatera platsens CI-versioner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="29" />
        <source>the wave's name (or a unique prefix) or id</source>
        <translation>vågens namn (eller ett unikt prefix) eller id</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="48" />
        <source>type {type} · status {status} · risk {risk} · window {start} – {end} UTC</source>
        <translation>typ {type} · status {status} · risk {risk} · fönster {start} – {end} UTC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="51" />
        <source>manager {manager} · team {team} · next: {next}</source>
        <translation>ansvarig {manager} · team {team} · nästa: {next}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="55" />
        <source>  risk {level} {why}</source>
        <translation>  risk {level} {why}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="57" />
        <source>Changes</source>
        <translation>Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="58" />
        <source>  (NOT all approved: cannot deploy)</source>
        <translation>  (INTE alla godkända: kan inte driftsättas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="59" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="59" />
        <source>NO</source>
        <translation>NEJ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="63" />
        <source>Affected services: {names}</source>
        <translation>Berörda tjänster: {names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="65" />
        <source>Plan</source>
        <translation>Plan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="71" />
        <source>Definitive media library</source>
        <translation>Definitivt mediebibliotek (DML)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/releases.py" line="75" />
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
        <location filename="../../itsmdesk/commands/servicedesk.py" line="21" />
        <source>full-text search over tickets (title, description, work log)</source>
        <translation>fritextsökning i ärenden (rubrik, beskrivning, arbetslogg)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="24" />
        <source>only open tickets</source>
        <translation>bara öppna ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="35" />
        <source>ticket queues: counts, or the first rows of one queue</source>
        <translation>ärendeköer: antal, eller de första raderna i en kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="36" />
        <source>queue key (all_open, unassigned, breached, ...)</source>
        <translation>köns nyckel (all_open, unassigned, breached, ...)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="20" />
        <source>SLA clocks, targets and business calendars</source>
        <translation>SLA-klockor, mål och arbetstidskalendrar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="23" />
        <source>flag tickets at risk and mark breaches (run every minute)</source>
        <translation>flagga ärenden i fara och markera brutna SLA (kör varje minut)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="18" />
        <source>mail: notifications, outage announcements, the outbox</source>
        <translation>e-post: aviseringar, avbrottsmeddelanden, utkorgen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="26" />
        <source>deliver the queued mail that is due (retries with backoff)</source>
        <translation>skicka den köade e-post som ska iväg (nya försök med ökande väntetid)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="28" />
        <location filename="../../itsmdesk/commands/sla.py" line="24" />
        <location filename="../../itsmdesk/commands/sla.py" line="102" />
        <source>pretend it is this UTC time (YYYY-MM-DD HH:MM)</source>
        <translation>låtsas att klockan är denna UTC-tid (ÅÅÅÅ-MM-DD TT:MM)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="33" />
        <source>the outgoing mail, newest first, with its status</source>
        <translation>den utgående e-posten, nyaste först, med status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="40" />
        <source>show or change the SMTP server notifications go out by; --test connects</source>
        <translation>visa eller ändra SMTP-servern som aviseringar skickas via; --test ansluter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="44" />
        <source>0: the usual one (587, 465 for ssl)</source>
        <translation>0: den vanliga (587, 465 för ssl)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="47" />
        <source>the SMTP login (--user signs in to itsmdesk)</source>
        <translation>inloggningen till SMTP-servern (--user loggar in i itsmdesk)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="49" />
        <source>the address mail is sent from</source>
        <translation>adressen som e-posten skickas från</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="55" />
        <source>connect and log in</source>
        <translation>anslut och logga in</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="58" />
        <source>connect to the SMTP server and log in; with --to, send a test mail</source>
        <translation>anslut till SMTP-servern och logga in; med --to skickas ett testbrev</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="64" />
        <source>a person follows a business service's outage announcements</source>
        <translation>en person följer en verksamhetstjänsts avbrottsmeddelanden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="66" />
        <source>a person no longer follows a business service</source>
        <translation>en person slutar följa en verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="68" />
        <location filename="../../itsmdesk/commands/mail_out.py" line="73" />
        <source>the business service's name</source>
        <translation>verksamhetstjänstens namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="69" />
        <location filename="../../itsmdesk/commands/mail_out.py" line="78" />
        <source>login, e-mail address or name</source>
        <translation>inloggning, e-postadress eller namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="72" />
        <source>who follows a business service</source>
        <translation>vilka som följer en verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="77" />
        <source>the language a person is mailed in</source>
        <translation>språket en person får e-post på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="93" />
        <source>{sent} sent, {retrying} to retry, {failed} failed</source>
        <translation>{sent} skickade, {retrying} att försöka igen, {failed} misslyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="96" />
        <source>The SMTP server was not reached: {error}</source>
        <translation>SMTP-servern gick inte att nå: {error}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="152" />
        <source>{server}: test mail sent to {to}</source>
        <translation>{server}: testbrev skickat till {to}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="142" />
        <location filename="../../itsmdesk/commands/mail_out.py" line="154" />
        <source>{server}: connected and logged in</source>
        <translation>{server}: ansluten och inloggad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="165" />
        <source>{person} now follows {service}</source>
        <translation>{person} följer nu {service}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="168" />
        <source>{person} already follows {service}</source>
        <translation>{person} följer redan {service}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="180" />
        <source>{person} no longer follows {service}</source>
        <translation>{person} följer inte längre {service}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="183" />
        <source>{person} did not follow {service}</source>
        <translation>{person} följde inte {service}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail_out.py" line="207" />
        <source>{person} is mailed in {language}</source>
        <translation>{person} får e-post på {language}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="28" />
        <source>show the SLA targets per priority</source>
        <translation>visa SLA-målen per prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="32" />
        <source>set an SLA target</source>
        <translation>sätt ett SLA-mål</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="34" />
        <source>set one priority's response and resolution targets (business time)</source>
        <translation>sätt en prioritets mål för svar och lösning (arbetstid)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="37" />
        <source>e.g. 30m, 4h, 1h30m</source>
        <translation>t.ex. 30m, 4h, 1h30m</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="38" />
        <source>e.g. 8h, 2400m</source>
        <translation>t.ex. 8h, 2400m</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="40" />
        <source>count on this business calendar (default: the one named Default, else 24x7)</source>
        <translation>räkna på denna arbetstidskalender (standard: den som heter Default, annars dygnet runt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="43" />
        <source>flag at risk at this share of the resolution target</source>
        <translation>flagga som i riskzonen vid denna andel av lösningsmålet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="44" />
        <source>an SLA of this service's own (a service CI's name)</source>
        <translation>ett eget SLA för denna tjänst (en tjänste-CI:s namn)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="46" />
        <source>an OLA: this team's internal target (its time holding the ticket)</source>
        <translation>ett OLA: detta teams interna mål (tiden teamet har ärendet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="50" />
        <source>business calendars, their hours and holidays</source>
        <translation>arbetstidskalendrar, deras arbetstider och helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="54" />
        <source>add or change a business calendar</source>
        <translation>lägg till eller ändra en arbetstidskalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="56" />
        <source>add a business calendar</source>
        <translation>lägg till en arbetstidskalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="57" />
        <source>change a business calendar's hours or zone</source>
        <translation>ändra en arbetstidskalenders arbetstider eller tidszon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="61" />
        <source>time zone, e.g. Europe/Stockholm</source>
        <translation>tidszon, t.ex. Europe/Stockholm</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="63" />
        <source>working hours, e.g. "mon-fri 08:00-12:00,13:00-17:00" or "sun 22:00-06:00" (repeatable)</source>
        <translation>arbetstider, t.ex. "mon-fri 08:00-12:00,13:00-17:00" eller "sun 22:00-06:00" (kan upprepas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="67" />
        <source>add a holiday to a calendar</source>
        <translation>lägg till en helgdag i en kalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="69" />
        <source>add one holiday</source>
        <translation>lägg till en helgdag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="75" />
        <source>holidays from a file</source>
        <translation>helgdagar från en fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="81" />
        <source>expand repeating holidays over these years (default: this year and the next nine)</source>
        <translation>upprepa återkommande helgdagar över dessa år (standard: i år och de nio följande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="85" />
        <source>the SLA breach report of a period: CSV (one row per ticket) and/or PDF</source>
        <translation>SLA-rapporten över brott för en period: CSV (en rad per ärende) och/eller PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="89" />
        <source>last day of the period (YYYY-MM-DD, included)</source>
        <translation>periodens sista dag (ÅÅÅÅ-MM-DD, inräknad)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="90" />
        <source>write the tickets as CSV here</source>
        <translation>skriv ärendena som CSV hit</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="91" />
        <source>write the report as PDF here</source>
        <translation>skriv rapporten som PDF hit</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="95" />
        <source>store every open ticket's SLA state again from its history</source>
        <translation>spara om varje öppet ärendes SLA-läge utifrån dess historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="99" />
        <source>a ticket's SLA clock: elapsed business time, due dates, state</source>
        <translation>ett ärendes SLA-klocka: förbrukad arbetstid, förfallotider, läge</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="188" />
        <source>{kind} P{priority}: respond within {response}, resolve within {resolution} (business time)</source>
        <translation>{kind} P{priority}: svar inom {response}, lösning inom {resolution} (arbetstid)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="230" />
        <source> (default)</source>
        <translation> (standard)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="235" />
        <source>No calendar is named Default: targets without a calendar count 24x7.</source>
        <translation>Ingen kalender heter Default: mål utan kalender räknas dygnet runt.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="252" />
        <source>created calendar {name}: {hours}</source>
        <translation>skapade kalendern {name}: {hours}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="268" />
        <source>calendar {name}: {hours}</source>
        <translation>kalendern {name}: {hours}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="285" />
        <source>{day} is a holiday in {name}</source>
        <translation>{day} är en helgdag i {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="288" />
        <source>{day} already is a holiday in {name}</source>
        <translation>{day} är redan en helgdag i {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="317" />
        <source>{n} open tickets had their SLA state stored again</source>
        <translation>{n} öppna ärenden fick sitt SLA-läge sparat på nytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="343" />
        <source>{ref}: {state}, {elapsed} of {target} business time used; resolution due {due} UTC, response due {response} UTC</source>
        <translation>{ref}: {state}, {elapsed} av {target} arbetstid förbrukad; lösning senast {due} UTC, svar senast {response} UTC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="372" />
        <source>{n} tickets: {met} met, {breached} breached, {open} still open</source>
        <translation>{n} ärenden: {met} uppfyllda, {breached} brutna, {open} fortfarande öppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="28" />
        <source>quick open: any record by reference, source-system key (external key) or words</source>
        <translation>snabböppna: valfri post via referens, källsystemets nyckel (extern nyckel) eller ord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="43" />
        <source>service announcements</source>
        <translation>driftmeddelanden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="45" />
        <source>current announcements as text or HTML (for e-mail)</source>
        <translation>aktuella meddelanden som text eller HTML (för e-post)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="49" />
        <source>only what concerns this site (by its code)</source>
        <translation>bara det som gäller den här platsen (med dess kod)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="51" />
        <source>leave out the notices for IT staff only</source>
        <translation>utelämna meddelanden som bara är för IT-personal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="53" />
        <source>add a manual announcement</source>
        <translation>lägg till ett manuellt meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="59" />
        <source>service CI name (repeatable)</source>
        <translation>tjänstens CI-namn (kan upprepas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="63" />
        <source>for this site only (by its code); default: every site</source>
        <translation>bara för den här platsen (med dess kod); standard: alla platser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="66" />
        <source>business calendars for SLA clocks (the change calendar is `calendar`)</source>
        <translation>arbetstidskalendrar för SLA-klockor (ändringskalendern är `calendar`)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="69" />
        <source>calendars and their holidays</source>
        <translation>kalendrar och deras helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="71" />
        <source>create a calendar with office hours Mon-Fri 08-17</source>
        <translation>skapa en kalender med kontorstid mån–fre 08–17</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="76" />
        <source>holidays</source>
        <translation>helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="77" />
        <location filename="../../itsmdesk/commands/sla.py" line="77" />
        <source>import holidays from an .ics file</source>
        <translation>importera helgdagar från en .ics-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="80" />
        <source>calendar name (default: the default one)</source>
        <translation>kalenderns namn (standard: standardkalendern)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sla.py" line="139" />
        <source>{flagged} flagged at risk, {breached} breached, {notifications} notifications</source>
        <translation>{flagged} flaggade i fara, {breached} brutna, {notifications} aviseringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="142" />
        <location filename="../../itsmdesk/commands/sla.py" line="362" />
        <location filename="../../itsmdesk/commands/sla.py" line="369" />
        <source>wrote {path}</source>
        <translation>skrev {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="170" />
        <source>announced: {title}</source>
        <translation>meddelat: {title}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="180" />
        <source>{name} ({timezone}): {n} holidays</source>
        <translation>{name} ({timezone}): {n} helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="193" />
        <source>created calendar {name}</source>
        <translation>skapade kalendern {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/servicedesk.py" line="210" />
        <location filename="../../itsmdesk/commands/sla.py" line="307" />
        <source>{added} holidays added to {name}, {skipped} already there</source>
        <translation>{added} helgdagar tillagda i {name}, {skipped} fanns redan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="25" />
        <source>accounts: people, their roles and passwords</source>
        <translation>konton: personer, deras roller och lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="29" />
        <source>people with a login and their roles</source>
        <translation>personer med inloggning och deras roller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="31" />
        <source>people without a login too</source>
        <translation>även personer utan inloggning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="35" />
        <source>a new person with a login and roles</source>
        <translation>en ny person med inloggning och roller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="40" />
        <location filename="../../itsmdesk/commands/admin.py" line="49" />
        <source>a role (repeat for more): {roles}</source>
        <translation>en roll (upprepa för fler): {roles}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="43" />
        <source>give the login to the person already in the directory with this e-mail (or name)</source>
        <translation>ge inloggningen till personen som redan finns i katalogen med den här e-postadressen (eller namnet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="47" />
        <source>grant or revoke roles</source>
        <translation>ge eller ta bort roller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="53" />
        <source>set a person's password</source>
        <translation>sätta en persons lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="58" />
        <source>stop a person signing in</source>
        <translation>hindra en person från att logga in</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="59" />
        <source>let a person sign in again</source>
        <translation>låta en person logga in igen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="74" />
        <source>New password for {login}: </source>
        <translation>Nytt lösenord för {login}: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="75" />
        <source>Again: </source>
        <translation>Igen: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="91" />
        <source>inactive</source>
        <translation>inaktiv</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="108" />
        <source>{login}: account of {name} ({roles})</source>
        <translation>{login}: konto för {name} ({roles})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/accounts.py" line="126" />
        <source>{login}: password set</source>
        <translation>{login}: lösenordet är satt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="26" />
        <source>set up a shared PostgreSQL database and its logins</source>
        <translation>sätt upp en delad PostgreSQL-databas och dess inloggningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="30" />
        <source>make a PostgreSQL database a shared itsmdesk database: roles, row-level security, the first administrator (run as a superuser)</source>
        <translation>gör en PostgreSQL-databas till en delad itsmdesk-databas: roller, radsäkerhet, den första administratören (körs som superanvändare)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="33" />
        <source>postgresql://SUPERUSER@HOST:PORT/DB, without the password (it comes from ITSMDESK_PASSWORD, PGPASSFILE or is asked for)</source>
        <translation>postgresql://SUPERANVÄNDARE@VÄRD:PORT/DB, utan lösenord (det hämtas från ITSMDESK_PASSWORD, PGPASSFILE eller efterfrågas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="37" />
        <source>the first administrator's login</source>
        <translation>den första administratörens inloggning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="38" />
        <source>the administrator's name</source>
        <translation>administratörens namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="39" />
        <source>prefix of the PostgreSQL role names (default itsmdesk; another one for a second itsmdesk database on the same server)</source>
        <translation>prefix för PostgreSQL-rollernas namn (standard itsmdesk; ett annat för en andra itsmdesk-databas på samma server)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="44" />
        <source>a new person with their own PostgreSQL login and roles (as an administrator)</source>
        <translation>en ny person med egen PostgreSQL-inloggning och roller (som administratör)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="47" />
        <source>the person's name (default: the login)</source>
        <translation>personens namn (standard: inloggningen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="64" />
        <source>itsmdesk: warning: a password in the URL is visible to every user of this computer in the process list; use ITSMDESK_PASSWORD or a PGPASSFILE instead</source>
        <translation>itsmdesk: varning: ett lösenord i URL:en syns för alla användare på den här datorn i processlistan; använd ITSMDESK_PASSWORD eller en PGPASSFILE i stället</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="87" />
        <location filename="../../itsmdesk/commands/base.py" line="256" />
        <source>Password for {login}: </source>
        <translation>Lösenord för {login}: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="105" />
        <source>{db}: shared database ready (schema {schema}, roles {prefix}_*).</source>
        <translation>{db}: den delade databasen är klar (schema {schema}, roller {prefix}_*).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="108" />
        <source>Administrator {login} created: connect as postgresql://{login}@HOST:PORT/{db}</source>
        <translation>Administratören {login} skapad: anslut som postgresql://{login}@VÄRD:PORT/{db}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="112" />
        <source>Administrator {login} was there already (left as it was).</source>
        <translation>Administratören {login} fanns redan (lämnades som den var).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/admin.py" line="135" />
        <source>{login} can now connect as postgresql://{login}@HOST:PORT/{db} (roles: {roles})</source>
        <translation>{login} kan nu ansluta som postgresql://{login}@VÄRD:PORT/{db} (roller: {roles})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="12" />
        <source>a local replica of the shared database for a site that works offline</source>
        <translation>en lokal replik av den delade databasen för en plats som arbetar frånkopplad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="16" />
        <source>copy the hub (the whole database) into a new SQLite file for a site</source>
        <translation>kopiera navet (hela databasen) till en ny SQLite-fil för en plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="18" />
        <source>the hub: postgresql://USER@HOST:PORT/DB (the password from ITSMDESK_PASSWORD or the keyring) or sqlite:///FILE</source>
        <translation>navet: postgresql://USER@HOST:PORT/DB (lösenordet från ITSMDESK_PASSWORD eller nyckelringen) eller sqlite:///FILE</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="21" />
        <source>the site's code (2 to 8 letters or digits): references made on the replica are numbered in its block, e.g. INC-OSL-000001</source>
        <translation>platsens kod (2 till 8 bokstäver eller siffror): referenser som skapas på repliken numreras i dess serie, t.ex. INC-OSL-000001</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="37" />
        <source>whether the database is a replica, of which hub, and when it last synced</source>
        <translation>om databasen är en replik, av vilket nav, och när den senast synkroniserades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="42" />
        <source>values the hub did not take because it had changed the same field</source>
        <translation>värden som navet inte tog emot eftersom det hade ändrat samma fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="44" />
        <source>include the conflicts decided already</source>
        <translation>ta med konflikter som redan är avgjorda</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="49" />
        <source>decide a conflict: keep the hub's value or take the replica's</source>
        <translation>avgör en konflikt: behåll navets värde eller ta replikens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="51" />
        <source>the conflict's number, as 'replica conflicts' lists it</source>
        <translation>konfliktens nummer, som 'replica conflicts' listar det</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="53" />
        <source>hub: keep the value the hub kept; replica: set the replica's value</source>
        <translation>hub: behåll värdet som navet behöll; replica: sätt replikens värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="57" />
        <source>send this replica's changes to the hub and fetch the hub's</source>
        <translation>skicka den här replikens ändringar till navet och hämta navets</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="33" />
        <location filename="../../itsmdesk/commands/sync.py" line="59" />
        <source>the hub (default: the one the replica was made from)</source>
        <translation>navet (standard: det som repliken skapades från)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="24" />
        <source>only the site's part: teams=NAME,NAME and/or site=CODE (its teams' CIs, tickets, problems, changes and releases, and all reference data)</source>
        <translation>bara platsens del: teams=NAMN,NAMN och/eller site=KOD (dess teams CI:er, ärenden, problem, ändringar och releaser, samt alla referensdata)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="30" />
        <source>copy the replica's part of the hub again (when the hub's history no longer reaches back to the last sync); unsent changes are kept</source>
        <translation>kopiera replikens del av navet igen (när navets historik inte längre når tillbaka till den senaste synkroniseringen); ändringar som inte skickats behålls</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="62" />
        <source>print one JSON line per step (phase, done, total) and a last one with the summary (for the desktop app)</source>
        <translation>skriv en JSON-rad per steg (phase, done, total) och en sista med sammanfattningen (för skrivbordsprogrammet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="67" />
        <source>on a replica with no link: write its unsent changes to a file to carry to the hub</source>
        <translation>på en replik utan förbindelse: skriv dess osända ändringar till en fil att bära till navet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="73" />
        <source>at the hub: apply a site's carried file and write the answer; on the replica: apply the hub's answer</source>
        <translation>på navet: tillämpa en plats burna fil och skriv svaret; på repliken: tillämpa navets svar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="77" />
        <source>at the hub: where to write the answer to carry back (default: FILE with '.answer' added)</source>
        <translation>på navet: var svaret att bära tillbaka skrivs (standard: FIL med '.answer' tillagt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="99" />
        <source>replica of {hub} for site {site} written to {path}: {rows} rows, {journal} journal rows</source>
        <translation>replik av {hub} för platsen {site} skriven till {path}: {rows} rader, {journal} journalrader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="104" />
        <location filename="../../itsmdesk/commands/sync.py" line="126" />
        <source>scope: {scope}</source>
        <translation>omfång: {scope}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="105" />
        <source>references made on it are numbered in the site's block ({example}); sync with: itsmdesk --db sqlite:///{path} sync</source>
        <translation>referenser som skapas där numreras i platsens serie ({example}); synkronisera med: itsmdesk --db sqlite:///{path} sync</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="121" />
        <source>{db} is not a replica</source>
        <translation>{db} är inte en replik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="124" />
        <source>replica of {hub} for site {site}</source>
        <translation>replik av {hub} för platsen {site}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="127" />
        <source>scope: the whole hub</source>
        <translation>omfång: hela navet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="129" />
        <source>last synced: {when} UTC</source>
        <translation>senast synkroniserad: {when} UTC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="131" />
        <source>never synced yet</source>
        <translation>aldrig synkroniserad ännu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="132" />
        <source>local journal rows waiting to be sent: {n}</source>
        <translation>lokala journalrader som väntar på att skickas: {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="150" />
        <source>fetched {rows} rows from the hub again; {again} unsent journal rows applied again on top; current to hub journal id {checkpoint}</source>
        <translation>hämtade {rows} rader från navet igen; {again} journalrader som inte skickats tillämpades igen ovanpå; aktuell till navets journal-id {checkpoint}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="157" />
        <source>{ref} {field}: the hub kept {hub}; {site} had {replica} ({who}, {at} UTC)</source>
        <translation>{ref} {field}: navet behöll {hub}; {site} hade {replica} ({who}, {at} UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="179" />
        <source>kept the hub's value</source>
        <translation>behöll navets värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="180" />
        <source>took the replica's value</source>
        <translation>tog replikens värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="181" />
        <source>decided: {what} ({who}, {at} UTC)</source>
        <translation>avgjord: {what} ({who}, {at} UTC)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="207" />
        <source>decide one with: itsmdesk replica decide ID --take hub|replica</source>
        <translation>avgör en med: itsmdesk replica decide ID --take hub|replica</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="320" />
        <source>sent {batches} change(s) ({rows} journal rows; {skipped} sent before), received {pulled} journal rows</source>
        <translation>skickade {batches} ändring(ar) ({rows} journalrader; {skipped} skickade tidigare), tog emot {pulled} journalrader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="325" />
        <source>the hub no longer keeps its history back to this replica's last sync: the replica's part was fetched again from the hub (unsent changes kept)</source>
        <translation>navet har inte längre kvar sin historik tillbaka till den här replikens senaste synkronisering: replikens del hämtades igen från navet (ändringar som inte skickats behölls)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="329" />
        <source>scope: {skipped} hub change(s) outside it not applied; {fetched} row(s) of records entering it fetched whole</source>
        <translation>omfång: {skipped} ändring(ar) på navet utanför det tillämpades inte; {fetched} rad(er) för poster som kom in i det hämtades hela</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="333" />
        <source>{n} conflict(s): the hub's value stays, yours is kept for a person to decide:</source>
        <translation>{n} konflikt(er): navets värde står kvar, ditt sparas så att en person kan avgöra:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="349" />
        <source>{batches} unsent change(s) ({rows} journal rows) written to {path}; at the hub: itsmdesk --db HUB sync import-bundle {path}</source>
        <translation>{batches} osända ändring(ar) ({rows} journalrader) skrivna till {path}; på navet: itsmdesk --db HUB sync import-bundle {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="367" />
        <source>{path} brings nothing new: this replica has it already</source>
        <translation>{path} innehåller inget nytt: repliken har det redan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="370" />
        <source>the hub's answer applied: {acked} journal row(s) of yours acknowledged, {pulled} received</source>
        <translation>navets svar tillämpat: {acked} av dina journalrader kvitterade, {pulled} mottagna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/sync.py" line="381" />
        <source>{applied} change(s) applied, {skipped} applied before; the answer ({rows} journal rows) is in {answer}: carry it back and run itsmdesk --db sqlite:///REPLICA sync import-bundle {answer}</source>
        <translation>{applied} ändring(ar) tillämpade, {skipped} tillämpade tidigare; svaret ({rows} journalrader) finns i {answer}: bär tillbaka det och kör itsmdesk --db sqlite:///REPLIK sync import-bundle {answer}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="18" />
        <source>e-mail: take mail in, send notifications</source>
        <translation>e-post: ta in e-post, skicka aviseringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="19" />
        <source>E-mail. Taking mail in: fetch, import, unmatched, setup, rules. Sending notifications: send-queued, outbox, test-smtp, subscribe, unsubscribe, subscribers, language. See docs/mail.md.</source>
        <translation>E-post. Ta in e-post: fetch, import, unmatched, setup, rules. Skicka aviseringar: send-queued, outbox, test-smtp, subscribe, unsubscribe, subscribers, language. Se docs/mail.md.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="24" />
        <source>take in new mail from the IMAP mailbox (each mail once)</source>
        <translation>ta in ny e-post från IMAP-brevlådan (varje brev en gång)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="29" />
        <source>take in mail saved as .eml (or .msg) files (each mail once)</source>
        <translation>ta in e-post sparad som .eml-filer (eller .msg) (varje brev en gång)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="34" />
        <source>mail no rule matched, waiting for an agent</source>
        <translation>e-post som ingen regel passade, väntar på en handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="38" />
        <source>show or change the IMAP mailbox settings; --test connects</source>
        <translation>visa eller ändra inställningarna för IMAP-brevlådan; --test ansluter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="44" />
        <source>the mailbox's login (--user signs in to itsmdesk)</source>
        <translation>brevlådans inloggning (--user loggar in i itsmdesk)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="49" />
        <location filename="../../itsmdesk/commands/mail_out.py" line="52" />
        <source>read the password from standard input and keep it in the keyring</source>
        <translation>läs lösenordet från standard in och spara det i nyckelringen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="52" />
        <source>connect and open the folder</source>
        <translation>anslut och öppna mappen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="54" />
        <source>show the mail rules, or replace them with a JSON file's</source>
        <translation>visa e-postreglerna, eller ersätt dem med reglerna i en JSON-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="61" />
        <source>already taken</source>
        <translation>redan intaget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="76" />
        <source>{found} new mails: {tickets} tickets, {notes} notes, {waiting} unmatched, {ignored} ignored</source>
        <translation>{found} nya brev: {tickets} ärenden, {notes} anteckningar, {waiting} omatchade, {ignored} ignorerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="132" />
        <source>This computer has no keyring: the password was not kept (set ITSMDESK_MAIL_PASSWORD instead)</source>
        <translation>Den här datorn har ingen nyckelring: lösenordet sparades inte (sätt ITSMDESK_MAIL_PASSWORD i stället)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/commands/mail.py" line="137" />
        <source>connected: {count} mails in {folder}</source>
        <translation>ansluten: {count} brev i {folder}</translation>
    </message>
</context>
<context>
    <name>CmdbPanel</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="34" />
        <source>By class</source>
        <translation>Per klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="35" />
        <source>By site</source>
        <translation>Per plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="36" />
        <source>By business service</source>
        <translation>Per verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="39" />
        <source>Filter CIs by name (Ctrl+Shift+F)</source>
        <translation>Filtrera CI:n efter namn (Ctrl+Shift+F)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="42" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="43" />
        <source>Show what fails if the selected CI fails (Ctrl+I)</source>
        <translation>Visa vad som slutar fungera om det markerade CI:t fallerar (Ctrl+I)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="45" />
        <source>New CI</source>
        <translation>Nytt CI</translation>
    </message>
</context>
<context>
    <name>CmdbTree</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="92" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="92" />
        <source>Class</source>
        <translation>Klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="92" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="122" />
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
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="136" />
        <source>Loading…</source>
        <translation>Läser in…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/tree.py" line="180" />
        <source>More… (next {n})</source>
        <translation>Fler… (nästa {n})</translation>
    </message>
</context>
<context>
    <name>ConflictsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="53" />
        <source>changed on both sides</source>
        <translation>ändrat på båda sidor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="54" />
        <source>deleted on the hub</source>
        <translation>borttaget på navet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="55" />
        <source>edited on the hub</source>
        <translation>redigerat på navet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="68" />
        <source>the author may not {what}</source>
        <translation>den som ändrade får inte {what}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="76" />
        <source>(the record deleted)</source>
        <translation>(posten borttagen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="87" />
        <source>the record, as the hub has it</source>
        <translation>posten, som navet har den</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="88" />
        <source>delete the record</source>
        <translation>ta bort posten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="91" />
        <source>(empty)</source>
        <translation>(tomt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="127" />
        <source>Show decided</source>
        <translation>Visa avgjorda</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="131" />
        <source>Refresh</source>
        <translation>Uppdatera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="132" />
        <source>Read the conflicts again</source>
        <translation>Läs in konflikterna igen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="136" />
        <source>Sync with hub…</source>
        <translation>Synkronisera med navet…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148" />
        <source>Record</source>
        <translation>Post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148" />
        <source>Hub's value</source>
        <translation>Navets värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="148" />
        <source>Replica's value</source>
        <translation>Replikens värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="149" />
        <source>Who and when</source>
        <translation>Vem och när</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="149" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="149" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="168" />
        <source>Hub's value (kept)</source>
        <translation>Navets värde (behållet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="169" />
        <source>Replica's value (not taken)</source>
        <translation>Replikens värde (inte taget)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="177" />
        <source>Keep hub's value</source>
        <translation>Behåll navets värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="180" />
        <source>Take replica's value</source>
        <translation>Ta replikens värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="184" />
        <source>Open record</source>
        <translation>Öppna posten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="264" />
        <source>{n}{more} open conflict(s) to decide</source>
        <translation>{n}{more} öppna konflikt(er) att avgöra</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="265" />
        <source>No open conflicts.</source>
        <translation>Inga öppna konflikter.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="285" />
        <source>Select a conflict to see both values.</source>
        <translation>Välj en konflikt för att se båda värdena.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="291" />
        <source>{record} · {field} · {reason}
Made at {site} by {who}, {when}</source>
        <translation>{record} · {field} · {reason}
Gjort på {site} av {who}, {when}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="296" />
        <source>kept the hub's value</source>
        <translation>behöll navets värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="297" />
        <source>took the replica's value</source>
        <translation>tog replikens värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="298" />
        <source>Decided: {what} ({who}, {when})</source>
        <translation>Avgjord: {what} ({who}, {when})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="307" />
        <source>The hub deleted what the replica changed: only the hub's side can be kept.</source>
        <translation>Navet tog bort det som repliken ändrade: bara navets sida kan behållas.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="319" />
        <source>Conflict on {record} decided</source>
        <translation>Konflikten på {record} avgjord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="329" />
        <source>Deciding a conflict</source>
        <translation>Avgör en konflikt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/panel.py" line="372" />
        <source>&amp;Sync with hub…</source>
        <translation>&amp;Synkronisera med navet…</translation>
    </message>
</context>
<context>
    <name>Connect</name>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="52" />
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="151" />
        <source>Connect to shared database</source>
        <translation>Anslut till delad databas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="66" />
        <source>&amp;Remember password (in this computer's keyring)</source>
        <translation>&amp;Kom ihåg lösenordet (i datorns nyckelring)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="70" />
        <source>This computer has no keyring: the password cannot be remembered.</source>
        <translation>Datorn har ingen nyckelring: lösenordet kan inte sparas.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="75" />
        <source>&amp;Server</source>
        <translation>&amp;Server</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="76" />
        <source>P&amp;ort</source>
        <translation>P&amp;ort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="77" />
        <source>&amp;Database</source>
        <translation>&amp;Databas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="78" />
        <source>&amp;Login</source>
        <translation>&amp;Inloggning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="79" />
        <source>&amp;Password</source>
        <translation>&amp;Lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="85" />
        <source>Connect</source>
        <translation>Anslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="104" />
        <source>Connecting…</source>
        <translation>Ansluter…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="130" />
        <source>This computer has no keyring: the password is not remembered.</source>
        <translation>Datorn har ingen nyckelring: lösenordet sparas inte.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="147" />
        <source>itsmdesk opens {db} from its next start.</source>
        <translation>itsmdesk öppnar {db} från nästa start.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/connect_dialog.py" line="152" />
        <source>Restart now?</source>
        <translation>Starta om nu?</translation>
    </message>
</context>
<context>
    <name>DashboardPanel</name>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="41" />
        <source>Business service</source>
        <translation>Verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="41" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="42" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="46" />
        <source>Last 7 days</source>
        <translation>Senaste 7 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="46" />
        <source>Last 30 days</source>
        <translation>Senaste 30 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="47" />
        <source>Last 90 days</source>
        <translation>Senaste 90 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="47" />
        <source>Last 12 months</source>
        <translation>Senaste 12 månaderna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="53" />
        <source>Top </source>
        <translation>Topp </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="54" />
        <source>&amp;Refresh</source>
        <translation>&amp;Uppdatera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="59" />
        <source>Incidents by</source>
        <translation>Incidenter per</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="67" />
        <source>Most incidents</source>
        <translation>Flest incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="69" />
        <source>Top movers (vs previous period)</source>
        <translation>Största förändringar (mot föregående period)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="71" />
        <source>Incidents opened</source>
        <translation>Öppnade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dashboard/panel.py" line="113" />
        <source>{total} incidents ({change:+} vs previous period)</source>
        <translation>{total} incidenter ({change:+} mot föregående period)</translation>
    </message>
</context>
<context>
    <name>DiagnosticEditor</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="59" />
        <source>Diagnostic scripts</source>
        <translation>Diagnosskript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="73" />
        <source>&amp;New…</source>
        <translation>&amp;Ny…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="74" />
        <source>Re&amp;name…</source>
        <translation>&amp;Byt namn…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="75" />
        <source>Categories</source>
        <translation>Kategorier</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="84" />
        <source>&amp;Add step</source>
        <translation>&amp;Lägg till steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="85" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="106" />
        <source>Remove</source>
        <translation>Ta bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="86" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="107" />
        <source>Up</source>
        <translation>Upp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="87" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="108" />
        <source>Down</source>
        <translation>Ned</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="89" />
        <source>Steps (asked in this order)</source>
        <translation>Steg (frågas i den här ordningen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="96" />
        <source>e.g. Is more than one user affected?</source>
        <translation>t.ex. Påverkas fler än en användare?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="98" />
        <source>&amp;Question</source>
        <translation>&amp;Fråga</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="101" />
        <source>Answer</source>
        <translation>Svar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="102" />
        <source>Route ticket to team</source>
        <translation>Skicka ärendet till team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="105" />
        <source>Add a&amp;nswer</source>
        <translation>Lägg till s&amp;var</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="111" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="351" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="116" />
        <source>Answers the agent can pick</source>
        <translation>Svar som handläggaren kan välja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="143" />
        <source>The incident form asks these questions for a ticket of the chosen category; an answer may send the ticket to another team.</source>
        <translation>Incidentformuläret ställer de här frågorna för ärenden i den valda kategorin; ett svar kan skicka ärendet vidare till ett annat team.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="184" />
        <source>Incident categories</source>
        <translation>Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="185" />
        <source>Request categories</source>
        <translation>Tjänstebegäranden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="254" />
        <source>Unsaved script</source>
        <translation>Osparat skript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="255" />
        <source>Save the changes to the script of {name}?</source>
        <translation>Vill du spara ändringarna i skriptet för {name}?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="273" />
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="323" />
        <source>Steps of {name}</source>
        <translation>Steg för {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="274" />
        <source>Steps (pick a category)</source>
        <translation>Steg (välj en kategori)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="282" />
        <source>Name of the new incident category</source>
        <translation>Namn på den nya incidentkategorin</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="283" />
        <source>Name of the new request category</source>
        <translation>Namn på den nya kategorin för tjänstebegäranden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="284" />
        <source>New category</source>
        <translation>Ny kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="314" />
        <source>Rename category</source>
        <translation>Byt namn på kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="314" />
        <source>New name</source>
        <translation>Nytt namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="335" />
        <source>(no question yet)</source>
        <translation>(ingen fråga ännu)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="351" />
        <source>Step {n}</source>
        <translation>Steg {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="365" />
        <source>Unsaved changes</source>
        <translation>Osparade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="368" />
        <source>Yes</source>
        <translation>Ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="369" />
        <source>No</source>
        <translation>Nej</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="401" />
        <source>(no routing)</source>
        <translation>(skickas inte vidare)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="409" />
        <source>(unknown team {team})</source>
        <translation>(okänt team {team})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="503" />
        <source>Script not saved</source>
        <translation>Skriptet sparades inte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/diagnostic_editor.py" line="493" />
        <source>Saved {n} steps for {name}</source>
        <translation>{n} steg sparade för {name}</translation>
    </message>
</context>
<context>
    <name>Fields</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="134" />
        <source>Active</source>
        <translation>Aktiv</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="135" />
        <source>Actual end</source>
        <translation>Faktiskt slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="136" />
        <source>Actual start</source>
        <translation>Faktisk start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="137" />
        <source>Added at</source>
        <translation>Tillagd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="138" />
        <source>Added by</source>
        <translation>Tillagd av</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="139" />
        <source>Address</source>
        <translation>Adress</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="140" />
        <source>Announcement</source>
        <translation>Meddelande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="141" />
        <source>Affected service</source>
        <translation>Berörd tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="142" />
        <location filename="../../itsmdesk/words.py" line="325" />
        <source>Vote</source>
        <translation>Röst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="143" />
        <source>Article</source>
        <translation>Artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="144" />
        <source>Link</source>
        <translation>Länk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="145" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="146" />
        <source>Attachment</source>
        <translation>Bilaga</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="147" />
        <source>Attributes</source>
        <translation>Attribut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="148" />
        <source>Author</source>
        <translation>Författare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="149" />
        <source>Backout plan</source>
        <translation>Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="150" />
        <source>Baseline</source>
        <translation>Baslinje</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="151" />
        <source>Baseline item</source>
        <translation>Baslinjepost</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="152" />
        <location filename="../../itsmdesk/words.py" line="315" />
        <source>Text</source>
        <translation>Text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="153" />
        <source>Action</source>
        <translation>Åtgärd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="154" />
        <source>Agenda item</source>
        <translation>Dagordningspunkt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="155" />
        <source>Attendee</source>
        <translation>Deltagare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="156" />
        <source>Business calendar</source>
        <translation>Arbetstidskalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="157" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="158" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="159" />
        <source>Chair</source>
        <translation>Ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="160" />
        <location filename="../../itsmdesk/words.py" line="162" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="161" />
        <location filename="../../itsmdesk/words.py" line="220" />
        <location filename="../../itsmdesk/words.py" line="256" />
        <source>Affected CI</source>
        <translation>Berört CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="163" />
        <source>Incident caused</source>
        <translation>Orsakad incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="164" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="165" />
        <source>Checksum</source>
        <translation>Kontrollsumma</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="166" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="167" />
        <source>CI class</source>
        <translation>CI-klass</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="168" />
        <source>CI version</source>
        <translation>CI-version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="169" />
        <source>Closed</source>
        <translation>Stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="170" />
        <source>Code</source>
        <translation>Kod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="171" />
        <source>Comment</source>
        <translation>Kommentar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="172" />
        <source>Conditions</source>
        <translation>Villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="173" />
        <source>Criticality</source>
        <translation>Kritikalitet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="174" />
        <source>Data</source>
        <translation>Data</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="175" />
        <source>Day</source>
        <translation>Dag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="176" />
        <source>Decision</source>
        <translation>Beslut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="177" />
        <source>Reason for the decision</source>
        <translation>Orsak till beslutet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="178" />
        <source>Default duration (minutes)</source>
        <translation>Standardlängd (minuter)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="179" />
        <source>Default team</source>
        <translation>Standardteam</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="180" />
        <source>Definition</source>
        <translation>Definition</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="181" />
        <location filename="../../itsmdesk/words.py" line="306" />
        <source>Depends on</source>
        <translation>Beror på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="182" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="183" />
        <source>Diagnostic script</source>
        <translation>Diagnosskript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="184" />
        <source>Done</source>
        <translation>Klar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="185" />
        <source>Downtime end</source>
        <translation>Driftstoppets slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="186" />
        <source>Downtime start</source>
        <translation>Driftstoppets start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="187" />
        <source>Due</source>
        <translation>Förfaller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="188" />
        <source>E-mail</source>
        <translation>E-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="189" />
        <source>Emergency</source>
        <translation>Akut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="190" />
        <source>Ends</source>
        <translation>Slutar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="191" />
        <source>Error code</source>
        <translation>Felkod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="192" />
        <source>Escalate at %</source>
        <translation>Eskalera vid %</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="193" />
        <source>Escalation level</source>
        <translation>Eskaleringsnivå</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="194" />
        <source>External key</source>
        <translation>Extern nyckel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="196" />
        <source>Caused by CI</source>
        <translation>Orsakat av CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="197" />
        <source>Reopened</source>
        <translation>Återöppnat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="198" />
        <source>Reassignments</source>
        <translation>Omfördelningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="199" />
        <source>Handle time (hours)</source>
        <translation>Hanteringstid (timmar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="200" />
        <source>Requested end</source>
        <translation>Önskat slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="201" />
        <source>CAB approval needed</source>
        <translation>CAB-godkännande krävs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="202" />
        <source>Summary</source>
        <translation>Sammanfattning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="203" />
        <source>Contact</source>
        <translation>Kontakt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="204" />
        <source>Contacted</source>
        <translation>Kontaktad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="205" />
        <source>Extra</source>
        <translation>Extra</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="206" />
        <source>File name</source>
        <translation>Filnamn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="207" />
        <source>Holiday</source>
        <translation>Helgdag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="208" />
        <source>Icon</source>
        <translation>Ikon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="209" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="210" />
        <source>Implementation plan</source>
        <translation>Implementeringsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="211" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="212" />
        <source>Agent</source>
        <translation>Agent</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="213" />
        <source>Business service</source>
        <translation>Verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="214" />
        <source>Item kind</source>
        <translation>Objekttyp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="215" />
        <source>Item version</source>
        <translation>Objektversion</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="216" />
        <source>Job title</source>
        <translation>Befattning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="217" />
        <source>Key</source>
        <translation>Nyckel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="218" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="219" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="221" />
        <source>Label</source>
        <translation>Etikett</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="222" />
        <source>Language</source>
        <translation>Språk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="223" />
        <source>Team lead</source>
        <translation>Teamledare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="224" />
        <source>Location</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="225" />
        <source>Mail</source>
        <translation>E-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="226" />
        <source>Major incident</source>
        <translation>Större incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="227" />
        <source>Manager</source>
        <translation>Ansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="228" />
        <source>Meeting</source>
        <translation>Möte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="229" />
        <source>File type</source>
        <translation>Filtyp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="230" />
        <source>Members needed up</source>
        <translation>Medlemmar som krävs i drift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="231" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="232" />
        <source>Notes</source>
        <translation>Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="233" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="234" />
        <source>Organisation</source>
        <translation>Organisation</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="235" />
        <source>Outage</source>
        <translation>Tjänsteavbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="236" />
        <source>Outage end</source>
        <translation>Avbrottets slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="237" />
        <source>Outage start</source>
        <translation>Avbrottets start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="238" />
        <location filename="../../itsmdesk/words.py" line="239" />
        <source>Owner</source>
        <translation>Ägare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="240" />
        <source>Owner team</source>
        <translation>Ägande team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="241" />
        <source>Parent</source>
        <translation>Överordnat ärende</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="242" />
        <source>Paused (seconds)</source>
        <translation>Pausad (sekunder)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="243" />
        <source>Paused since</source>
        <translation>Pausad sedan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="244" />
        <source>Pending reason</source>
        <translation>Orsak till väntan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="245" />
        <source>Person</source>
        <translation>Person</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="246" />
        <source>Phase</source>
        <translation>Fas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="247" />
        <source>Phone</source>
        <translation>Telefon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="248" />
        <source>Lessons learned</source>
        <translation>Lärdomar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="249" />
        <source>Review outcome</source>
        <translation>Granskningens utfall</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="250" />
        <source>Planned end</source>
        <translation>Planerat slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="251" />
        <source>Planned start</source>
        <translation>Planerad start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="252" />
        <source>Position</source>
        <translation>Position</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="253" />
        <source>Present</source>
        <translation>Närvarande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="254" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="255" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="257" />
        <source>Propagates</source>
        <translation>Spridning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="258" />
        <source>Public</source>
        <translation>Offentlig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="259" />
        <source>Quorum</source>
        <translation>Kvorum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="260" />
        <source>Root cause analysis</source>
        <translation>Grundorsaksanalys</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="261" />
        <source>Read</source>
        <translation>Läst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="262" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="263" />
        <source>Record</source>
        <translation>Post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="264" />
        <source>Record kind</source>
        <translation>Posttyp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="265" />
        <source>Redundant</source>
        <translation>Redundant</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="266" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="267" />
        <source>Relation added</source>
        <translation>Relation tillagd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="268" />
        <source>Relation removed</source>
        <translation>Relation borttagen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="269" />
        <source>Release</source>
        <translation>Release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="270" />
        <source>Bundled change</source>
        <translation>Ingående ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="271" />
        <source>Delivered item</source>
        <translation>Levererat objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="272" />
        <source>Release version</source>
        <translation>Releaseversion</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="273" />
        <source>Requester</source>
        <translation>Beställare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="274" />
        <source>Resolution code</source>
        <translation>Lösningskod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="275" />
        <source>Resolution due</source>
        <translation>Lösning senast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="276" />
        <source>Resolution (minutes)</source>
        <translation>Lösningstid (minuter)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="277" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="278" />
        <source>Responded</source>
        <translation>Besvarad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="279" />
        <source>Response due</source>
        <translation>Svar senast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="280" />
        <source>Response (minutes)</source>
        <translation>Svarstid (minuter)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="281" />
        <source>Corrective change raised</source>
        <translation>Korrigerande ändring skapad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="282" />
        <source>Risk factors</source>
        <translation>Riskfaktorer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="283" />
        <source>Risk level</source>
        <translation>Risknivå</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="284" />
        <source>Risk override</source>
        <translation>Åsidosatt risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="285" />
        <source>Reason for the risk override</source>
        <translation>Orsak till åsidosatt risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="286" />
        <source>Risk re-assessed after approval</source>
        <translation>Risken omvärderad efter godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="287" />
        <source>Risk score</source>
        <translation>Riskpoäng</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="288" />
        <source>Root cause</source>
        <translation>Grundorsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="289" />
        <source>Recurrence</source>
        <translation>Upprepning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="290" />
        <source>Scope</source>
        <translation>Omfattning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="291" />
        <source>Sent back for approval</source>
        <translation>Skickad tillbaka för godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="292" />
        <source>Serial number</source>
        <translation>Serienummer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="293" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="294" />
        <source>Subscriber</source>
        <translation>Prenumerant</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="295" />
        <source>Shared</source>
        <translation>Delad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="296" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="297" />
        <source>Size</source>
        <translation>Storlek</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="298" />
        <source>SLA state</source>
        <translation>SLA-läge</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="299" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="300" />
        <source>Solution status</source>
        <translation>Lösningsstatus</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="301" />
        <source>Source</source>
        <translation>Källa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="302" />
        <source>Source reference</source>
        <translation>Källreferens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="303" />
        <source>Starts</source>
        <translation>Börjar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="304" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="305" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="307" />
        <source>Symptom</source>
        <translation>Symtom</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="308" />
        <source>Tags</source>
        <translation>Taggar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="309" />
        <source>Taken</source>
        <translation>Tagen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="310" />
        <source>Target</source>
        <translation>Mål</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="311" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="312" />
        <source>Member</source>
        <translation>Medlem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="313" />
        <source>Template</source>
        <translation>Mall</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="314" />
        <source>Test plan</source>
        <translation>Testplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="316" />
        <source>Ticket kind</source>
        <translation>Ärendetyp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="317" />
        <source>Time spent (minutes)</source>
        <translation>Nedlagd tid (minuter)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="318" />
        <source>Time zone</source>
        <translation>Tidszon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="319" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="320" />
        <source>Reason for the status change</source>
        <translation>Orsak till statusändringen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="321" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="322" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="323" />
        <source>Value</source>
        <translation>Värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="324" />
        <source>Vendor</source>
        <translation>Leverantör</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="326" />
        <source>Voted</source>
        <translation>Röstat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="327" />
        <source>Wave deployed</source>
        <translation>Våg driftsatt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="328" />
        <source>Work log note</source>
        <translation>Anteckning i arbetsloggen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="329" />
        <source>Workaround</source>
        <translation>Tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="330" />
        <source>Working hours</source>
        <translation>Arbetstid</translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="91" />
        <source>Choose the file</source>
        <translation>Välj filen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="92" />
        <source>A CSV export from another tool: tickets, an event log, CIs or relations.</source>
        <translation>En CSV-export från ett annat verktyg: ärenden, en händelselogg, CI:n eller relationer.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="95" />
        <source>Incidents</source>
        <translation>Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="95" />
        <source>Changes</source>
        <translation>Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="96" />
        <source>Problems</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="96" />
        <source>Configuration items</source>
        <translation>Konfigurationsobjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="97" />
        <source>CI relations</source>
        <translation>CI-relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="98" />
        <source>Service desk interactions</source>
        <translation>Servicedeskkontakter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="102" />
        <source>Path of the CSV file</source>
        <translation>Sökväg till CSV-filen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="104" />
        <source>&amp;Browse…</source>
        <translation>&amp;Bläddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="110" />
        <source>&amp;Import as:</source>
        <translation>&amp;Importera som:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="111" />
        <source>&amp;File:</source>
        <translation>&amp;Fil:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="114" />
        <source>Nothing is written until the last page; the dry run shows every row that would be rejected, with its line, column and reason.</source>
        <translation>Ingenting skrivs förrän på sista sidan; testkörningen visar varje rad som skulle avvisas, med rad, kolumn och orsak.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="120" />
        <source>Import file</source>
        <translation>Importfil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="121" />
        <source>CSV files (*.csv *.txt);;All files (*)</source>
        <translation>CSV-filer (*.csv *.txt);;Alla filer (*)</translation>
    </message>
</context>
<context>
    <name>GanttView</name>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="99" />
        <source>No dated steps yet: give the steps planned start and end times to see the chart.</source>
        <translation>Inga daterade steg än: ge stegen planerade start- och sluttider för att se diagrammet.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="159" />
        <source>not scheduled</source>
        <translation>ej schemalagd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/gantt.py" line="215" />
        <source>now</source>
        <translation>nu</translation>
    </message>
</context>
<context>
    <name>History</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="335" />
        <source>created</source>
        <translation>skapade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="336" />
        <source>deleted</source>
        <translation>raderade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="337" />
        <location filename="../../itsmdesk/words.py" line="339" />
        <source>changed</source>
        <translation>ändrade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="338" />
        <source>added</source>
        <translation>lade till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="340" />
        <source>removed</source>
        <translation>tog bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="341" />
        <source>note</source>
        <translation>anteckning</translation>
    </message>
</context>
<context>
    <name>HistoryView</name>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57" />
        <source>When</source>
        <translation>När</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57" />
        <source>Who</source>
        <translation>Vem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57" />
        <source>What</source>
        <translation>Vad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="57" />
        <source>Before</source>
        <translation>Före</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/history_view.py" line="58" />
        <source>After</source>
        <translation>Efter</translation>
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
        <location filename="../../itsmdesk/views/importer/actions.py" line="19" />
        <source>&amp;Import…</source>
        <translation>&amp;Importera…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/actions.py" line="22" />
        <source>Import tickets, event logs, CIs or relations from another tool's CSV</source>
        <translation>Importera ärenden, händelseloggar, CI:n eller relationer från ett annat verktygs CSV</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="98" />
        <source>Import CIs or relations from CSV</source>
        <translation>Importera CI:n eller relationer från CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="102" />
        <source>CIs</source>
        <translation>CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="103" />
        <source>Relations</source>
        <translation>Relationer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="106" />
        <source>Browse…</source>
        <translation>Bläddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="112" />
        <source>Import nothing if any row is bad</source>
        <translation>Importera ingenting om någon rad är felaktig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="113" />
        <source>Import the good rows, save the bad ones</source>
        <translation>Importera de korrekta raderna, spara de felaktiga</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="115" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="116" />
        <source>File</source>
        <translation>Fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="117" />
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="132" />
        <source>Bad rows</source>
        <translation>Felaktiga rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="118" />
        <source>Choose a file, then Preview.</source>
        <translation>Välj en fil och sedan Förhandsgranska.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="122" />
        <source>Record / field</source>
        <translation>Post / fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="122" />
        <source>Now</source>
        <translation>Nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="123" />
        <source>After import</source>
        <translation>Efter import</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="127" />
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="239" />
        <source>What would change</source>
        <translation>Vad som skulle ändras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="129" />
        <source>Line</source>
        <translation>Rad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="129" />
        <source>Column</source>
        <translation>Kolumn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="129" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="144" />
        <source>Preview</source>
        <translation>Förhandsgranska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="145" />
        <source>Import</source>
        <translation>Importera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="158" />
        <source>CSV file</source>
        <translation>CSV-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="179" />
        <source>Would create {c}, update {u}; {n} unchanged; {r} bad rows.</source>
        <translation>Skulle skapa {c}, uppdatera {u}; {n} oförändrade; {r} felaktiga rader.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="182" />
        <source>Relations missing from the file are kept: the import never removes relations.</source>
        <translation>Relationer som saknas i filen behålls: importen tar aldrig bort relationer.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="187" />
        <source>Bad rows ({n})</source>
        <translation>Felaktiga rader ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="197" />
        <source>New relation: {name}</source>
        <translation>Ny relation: {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="198" />
        <source>Changed relation: {name}</source>
        <translation>Ändrad relation: {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="200" />
        <source>New CI: {name} ({cls})</source>
        <translation>Nytt CI: {name} ({cls})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="201" />
        <source>Changed CI: {name} ({cls})</source>
        <translation>Ändrat CI: {name} ({cls})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="204" />
        <source>Line {line} of the file</source>
        <translation>Rad {line} i filen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="213" />
        <source>… and {n} more not listed</source>
        <translation>… och {n} till som inte visas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="216" />
        <source>Nothing would change</source>
        <translation>Ingenting skulle ändras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="217" />
        <source>What would change ({n})</source>
        <translation>Vad som skulle ändras ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="224" />
        <source>Save the bad rows to</source>
        <translation>Spara de felaktiga raderna till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="228" />
        <source>Importing…</source>
        <translation>Importerar…</translation>
    </message>
</context>
<context>
    <name>ImportWizard</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="61" />
        <source>line {line}, column {column}: {reason}</source>
        <translation>rad {line}, kolumn {column}: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="627" />
        <source>Import from another tool</source>
        <translation>Importera från ett annat verktyg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="639" />
        <source>&amp;Import</source>
        <translation>&amp;Importera</translation>
    </message>
</context>
<context>
    <name>IncidentForm</name>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="144" />
        <source>Short summary of what the caller reports</source>
        <translation>Kort sammanfattning av vad anmälaren rapporterar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="147" />
        <source>What happens, since when, what was tried</source>
        <translation>Vad händer, sedan när, vad har prövats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="153" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="156" />
        <source>Type a CI name, or drop one from the CMDB</source>
        <translation>Skriv ett CI-namn eller dra in ett från CMDB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="165" />
        <source>(no team)</source>
        <translation>(inget team)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="166" />
        <source>(nobody)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="167" />
        <source>Major incident</source>
        <translation>Större incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="179" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="180" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="181" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="182" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="183" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="184" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="185" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="186" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="189" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="191" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="192" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="755" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="193" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="204" />
        <source>Why is the ticket waiting? (needed for pending)</source>
        <translation>Varför väntar ärendet? (krävs för väntande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="214" />
        <source>How it was solved (needed to resolve)</source>
        <translation>Hur det löstes (krävs för att lösa)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="215" />
        <source>Move</source>
        <translation>Flytta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="217" />
        <source>Apply the status change and save (Ctrl+Return)</source>
        <translation>Genomför statusändringen och spara (Ctrl+Return)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="224" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="225" />
        <source>Move to</source>
        <translation>Flytta till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="226" />
        <source>Pending reason</source>
        <translation>Orsak till väntan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="227" />
        <source>Resolution code</source>
        <translation>Lösningskod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="228" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="229" />
        <source>Lifecycle</source>
        <translation>Livscykel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="246" />
        <source>Reference, e.g. {example}</source>
        <translation>Referens, t.ex. {example}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="253" />
        <source>Link child ticket…</source>
        <translation>Koppla underordnat ärende…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="255" />
        <source>Make another ticket a child of this one (this one becomes a major incident)</source>
        <translation>Gör ett annat ärende underordnat det här (det här blir en större incident)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="263" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="264" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="265" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="266" />
        <source>Parent</source>
        <translation>Överordnat ärende</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="267" />
        <source>Child tickets</source>
        <translation>Underordnade ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="272" />
        <source>Interactions</source>
        <translation>Kontakter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="275" />
        <source>Links</source>
        <translation>Länkar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="284" />
        <source>Key in the old tool</source>
        <translation>Nyckel i det gamla verktyget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="285" />
        <source>Caused by CI</source>
        <translation>Orsakat av CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="286" />
        <source>Reopened</source>
        <translation>Återöppnat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="287" />
        <source>Reassignments</source>
        <translation>Omfördelningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="288" />
        <source>Handle time</source>
        <translation>Hanteringstid</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="294" />
        <source>Imported</source>
        <translation>Importerat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="336" />
        <source>&amp;Mail</source>
        <translation>&amp;E-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="472" />
        <source>{hours} h</source>
        <translation>{hours} h</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="514" />
        <source>opened</source>
        <translation>öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="802" />
        <source>Link child ticket</source>
        <translation>Koppla underordnat ärende</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="803" />
        <source>Reference of the child ticket (INC-… or REQ-…)</source>
        <translation>Referens till det underordnade ärendet (INC-… eller REQ-…)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="347" />
        <source>Escalate…</source>
        <translation>Eskalera…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="353" />
        <source>Move status</source>
        <translation>Ändra status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="354" />
        <source>Add work log note</source>
        <translation>Lägg till anteckning i arbetsloggen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="498" />
        <source>New incident</source>
        <translation>Ny incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="75" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="400" />
        <source>New</source>
        <translation>Ny</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="72" />
        <source>1 – high</source>
        <translation>1 – hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="73" />
        <source>2 – medium</source>
        <translation>2 – medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="74" />
        <source>3 – low</source>
        <translation>3 – låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="76" />
        <source>Awaiting approval</source>
        <translation>Väntar på godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="77" />
        <source>Assigned</source>
        <translation>Tilldelat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="78" />
        <source>In progress</source>
        <translation>Pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="79" />
        <source>Pending</source>
        <translation>Väntande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="80" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="81" />
        <source>Fulfilled</source>
        <translation>Utfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="82" />
        <source>Closed</source>
        <translation>Stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="83" />
        <source>Cancelled</source>
        <translation>Avbrutet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="331" />
        <source>&amp;Details</source>
        <translation>&amp;Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="332" />
        <source>Histor&amp;y</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="439" />
        <source>Reopen</source>
        <translation>Återöppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="497" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="512" />
        <source>Service request</source>
        <translation>Tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="497" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="512" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="541" />
        <source>SLA paused</source>
        <translation>SLA pausad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="543" />
        <source>SLA met</source>
        <translation>SLA uppfylld</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="543" />
        <source>SLA breached</source>
        <translation>SLA överskriden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="547" />
        <source>Breached {t}</source>
        <translation>Överskriden {t}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="547" />
        <source>At risk: {t} left</source>
        <translation>I riskzonen: {t} kvar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="548" />
        <source>{t} left</source>
        <translation>{t} kvar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="575" />
        <source>Announced for this CI/service: </source>
        <translation>Aviserat för detta CI/denna tjänst: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="734" />
        <source>Resolve child tickets</source>
        <translation>Lös underordnade ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="735" />
        <source>This major incident has open child tickets. Resolve them too?</source>
        <translation>Den här större incidenten har öppna underordnade ärenden. Vill du lösa dem också?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="741" />
        <source>{n} child tickets resolved</source>
        <translation>{n} underordnade ärenden lösta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="747" />
        <source>To another team (functional)</source>
        <translation>Till ett annat team (funktionell)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="747" />
        <source>To the team lead (hierarchical)</source>
        <translation>Till teamledaren (hierarkisk)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="748" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="755" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="759" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="763" />
        <source>Escalate</source>
        <translation>Eskalera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="748" />
        <source>How?</source>
        <translation>Hur?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="759" />
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="763" />
        <source>Reason</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="777" />
        <source>{n} people notified</source>
        <translation>{n} personer aviserade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_form.py" line="498" />
        <source>New request</source>
        <translation>Ny begäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="66" />
        <source>Known errors and articles that match</source>
        <translation>Kända fel och artiklar som matchar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="71" />
        <source>Diagnostic script</source>
        <translation>Diagnosskript</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="74" />
        <source>Record answers</source>
        <translation>Registrera svar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="131" />
        <source>Add a note… (Ctrl+L)</source>
        <translation>Lägg till en anteckning… (Ctrl+L)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="90" />
        <source>Public (caller sees it)</source>
        <translation>Offentlig (anmälaren ser den)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="53" />
        <source>Link</source>
        <translation>Koppla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="55" />
        <source>This ticket is a case of the chosen known error</source>
        <translation>Det här ärendet är ett fall av det valda kända felet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="57" />
        <source>Apply workaround</source>
        <translation>Tillämpa tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="59" />
        <source>Link the known error and note its workaround in the work log</source>
        <translation>Koppla det kända felet och anteckna dess tillfälliga lösning i arbetsloggen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="92" />
        <source>Add note</source>
        <translation>Lägg till anteckning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="100" />
        <source>Work log</source>
        <translation>Arbetslogg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="110" />
        <source>Attach file…</source>
        <translation>Bifoga fil…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="113" />
        <source>Attachments</source>
        <translation>Bilagor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="132" />
        <source>Save the ticket first to add notes</source>
        <translation>Spara ärendet först för att kunna lägga till anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="139" />
        <source>system</source>
        <translation>system</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="140" />
        <source>public</source>
        <translation>offentlig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="140" />
        <source>private</source>
        <translation>privat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="146" />
        <source>No notes yet.</source>
        <translation>Inga anteckningar ännu.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="162" />
        <source>Type a title to see matching known errors.</source>
        <translation>Skriv en rubrik för att se matchande kända fel.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="236" />
        <source>Attach file</source>
        <translation>Bifoga fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/incident_side.py" line="247" />
        <source>Save attachment</source>
        <translation>Spara bilaga</translation>
    </message>
</context>
<context>
    <name>KnowledgePanel</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="143" />
        <source>Search the knowledge base…</source>
        <translation>Sök i kunskapsdatabasen…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="145" />
        <source>New</source>
        <translation>Ny</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="146" />
        <source>New article</source>
        <translation>Ny artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="150" />
        <source>Show the articles of one category</source>
        <translation>Visa artiklarna i en kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="153" />
        <source>All categories</source>
        <translation>Alla kategorier</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="221" />
        <source>All categories ({n})</source>
        <translation>Alla kategorier ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="223" />
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="280" />
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="293" />
        <source>(no category)</source>
        <translation>(ingen kategori)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="286" />
        <source>The first {n} articles; choose a category or type words to search.</source>
        <translation>De första {n} artiklarna; välj en kategori eller skriv ord för att söka.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="289" />
        <source>{n} article(s) by category; type words to search titles, tags and text.</source>
        <translation>{n} artikel/artiklar per kategori; skriv ord för att söka i rubriker, taggar och text.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="292" />
        <source>{n} article(s) in {category}</source>
        <translation>{n} artikel/artiklar i {category}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="271" />
        <source>{n} article(s), best match first</source>
        <translation>{n} artikel/artiklar, bästa träff först</translation>
    </message>
</context>
<context>
    <name>KnownErrorForm</name>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="41" />
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="122" />
        <source>New known error</source>
        <translation>Nytt känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="44" />
        <source>What the error looks like, in a line</source>
        <translation>Hur felet yttrar sig, på en rad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="28" />
        <source>Workaround only</source>
        <translation>Endast tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="29" />
        <source>Fix planned</source>
        <translation>Åtgärd planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="30" />
        <source>Fix in progress</source>
        <translation>Åtgärd pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="31" />
        <source>Fixed</source>
        <translation>Åtgärdat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="32" />
        <source>Will not be fixed</source>
        <translation>Kommer inte att åtgärdas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="50" />
        <source>Open</source>
        <translation>Öppen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="51" />
        <source>Retired</source>
        <translation>Avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="55" />
        <source>CI names, comma separated</source>
        <translation>CI-namn, kommaseparerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="62" />
        <source>Error &amp;code</source>
        <translation>F&amp;elkod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="63" />
        <source>Solution &amp;status</source>
        <translation>&amp;Lösningsstatus</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="64" />
        <source>Stat&amp;us</source>
        <translation>Stat&amp;us</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="65" />
        <source>&amp;Problem</source>
        <translation>&amp;Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="66" />
        <source>Affected C&amp;Is</source>
        <translation>Berörda &amp;CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="67" />
        <source>Symptom</source>
        <translation>Symtom</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="68" />
        <source>Root cause</source>
        <translation>Grundorsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="69" />
        <source>Workaround</source>
        <translation>Tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="72" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="72" />
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="77" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="73" />
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="78" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="73" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="77" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="82" />
        <source>&amp;Details</source>
        <translation>&amp;Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="83" />
        <source>&amp;Incidents</source>
        <translation>&amp;Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="84" />
        <source>C&amp;hanges</source>
        <translation>Ä&amp;ndringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="85" />
        <source>Histor&amp;y</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/known_error_form.py" line="93" />
        <source>Raise R&amp;FC</source>
        <translation>Skapa R&amp;FC</translation>
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
    <name>MailPanel</name>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="70" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="70" />
        <source>Make an incident of the selected mail</source>
        <translation>Gör en incident av det markerade brevet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="72" />
        <source>Request</source>
        <translation>Tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="72" />
        <source>Make a service request of the selected mail</source>
        <translation>Gör en tjänstebeställning av det markerade brevet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="74" />
        <source>Discard</source>
        <translation>Kasta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="74" />
        <source>Discard the selected mail (no ticket)</source>
        <translation>Kasta det markerade brevet (inget ärende)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="76" />
        <location filename="../../itsmdesk/views/mail/panel.py" line="192" />
        <source>Fetch</source>
        <translation>Hämta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="76" />
        <source>Fetch new mail from the mailbox now</source>
        <translation>Hämta ny e-post från brevlådan nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="118" />
        <source>(no subject)</source>
        <translation>(ingen ämnesrad)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="133" />
        <source>No mail is waiting. Mail that no rule turns into a ticket shows here, to make an incident or a request of, or to discard. Fetch takes in new mail now; .eml files can be dropped on this list.</source>
        <translation>Ingen e-post väntar. E-post som ingen regel gör ett ärende av visas här, för att göra en incident eller en tjänstebegäran av, eller kasta. Hämta tar in ny e-post nu; .eml-filer kan släppas på listan.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="161" />
        <source>{ref} made from the mail</source>
        <translation>{ref} skapat från brevet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="182" />
        <source>Stopping after this batch…</source>
        <translation>Stannar efter den här omgången…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="185" />
        <source>Stop</source>
        <translation>Stoppa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="186" />
        <source>Fetching mail…</source>
        <translation>Hämtar e-post…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="197" />
        <source>No mailbox is set up (Tools &gt; Mail settings).</source>
        <translation>Ingen brevlåda är inställd (Verktyg &gt; E-postinställningar).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="200" />
        <source>{n} new mails taken in</source>
        <translation>{n} nya brev intagna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="220" />
        <source>{n} mails taken in, {d} already there</source>
        <translation>{n} brev intagna, {d} fanns redan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="230" />
        <source>Import mail</source>
        <translation>Importera e-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="230" />
        <source>Mail (*.eml *.msg)</source>
        <translation>E-post (*.eml *.msg)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="280" />
        <source>Fetch &amp;mail</source>
        <translation>Hämta &amp;e-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="281" />
        <source>&amp;Import mail files…</source>
        <translation>&amp;Importera e-postfiler…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/panel.py" line="282" />
        <source>Mail &amp;settings…</source>
        <translation>E-post&amp;inställningar…</translation>
    </message>
</context>
<context>
    <name>MailSender</name>
    <message>
        <location filename="../../itsmdesk/views/mail/sender.py" line="47" />
        <source>Mail: {sent} sent, {failed} failed</source>
        <translation>E-post: {sent} skickade, {failed} misslyckade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/sender.py" line="50" />
        <source>Mail not sent: {error}</source>
        <translation>E-post skickades inte: {error}</translation>
    </message>
</context>
<context>
    <name>MailSettings</name>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="36" />
        <source>SSL/TLS (IMAPS)</source>
        <translation>SSL/TLS (IMAPS)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="37" />
        <source>STARTTLS</source>
        <translation>STARTTLS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="38" />
        <source>None (loopback only)</source>
        <translation>Ingen (bara loopback)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="50" />
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="195" />
        <source>Mail settings</source>
        <translation>E-postinställningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="57" />
        <source>usual port</source>
        <translation>vanlig port</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="72" />
        <source>leave mail in the folder, flagged as done</source>
        <translation>lämna breven i mappen, märkta som klara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="75" />
        <source>the system's certificates</source>
        <translation>systemets certifikat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="79" />
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="80" />
        <source>only on demand</source>
        <translation>bara på begäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="81" />
        <source>Test connection</source>
        <translation>Testa anslutningen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="88" />
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="89" />
        <source>Port</source>
        <translation>Port</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="90" />
        <source>Security</source>
        <translation>Säkerhet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="91" />
        <source>Login</source>
        <translation>Inloggning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="92" />
        <source>Password</source>
        <translation>Lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="93" />
        <source>Folder</source>
        <translation>Mapp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="94" />
        <source>Move done mail to</source>
        <translation>Flytta klar e-post till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="95" />
        <source>CA certificate file</source>
        <translation>CA-certifikatfil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="96" />
        <source>Fetch every</source>
        <translation>Hämta var</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="107" />
        <source>Incoming mail (IMAP)</source>
        <translation>Inkommande e-post (IMAP)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="111" />
        <source>Outgoing mail (SMTP)</source>
        <translation>Utgående e-post (SMTP)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="141" />
        <source>kept in the keyring (type to change)</source>
        <translation>sparat i nyckelringen (skriv för att ändra)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="143" />
        <source>this computer has no keyring: set ITSMDESK_MAIL_PASSWORD</source>
        <translation>den här datorn har ingen nyckelring: sätt ITSMDESK_MAIL_PASSWORD</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="172" />
        <source>Connecting…</source>
        <translation>Ansluter…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="176" />
        <source>Connected: {n} mails in the folder.</source>
        <translation>Ansluten: {n} brev i mappen.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/settings_dialog.py" line="195" />
        <source>The settings were saved, but this computer has no keyring to keep the password: set ITSMDESK_MAIL_PASSWORD where mail is fetched.</source>
        <translation>Inställningarna sparades, men den här datorn har ingen nyckelring att spara lösenordet i: sätt ITSMDESK_MAIL_PASSWORD där e-posten hämtas.</translation>
    </message>
</context>
<context>
    <name>MailThread</name>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="28" />
        <source>To be sent to {who}</source>
        <translation>Skickas till {who}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="29" />
        <source>Not sent to {who}</source>
        <translation>Inte skickat till {who}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="41" />
        <source>From</source>
        <translation>Från</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="41" />
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="41" />
        <source>Subject</source>
        <translation>Ämne</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="47" />
        <source>No mail about this ticket.</source>
        <translation>Ingen e-post om det här ärendet.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/thread_view.py" line="27" />
        <source>Sent to {who}</source>
        <translation>Skickat till {who}</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="64" />
        <source>itsmdesk — {db}</source>
        <translation>itsmdesk — {db}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="115" />
        <source>&amp;File</source>
        <translation>&amp;Arkiv</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="115" />
        <source>&amp;Records</source>
        <translation>&amp;Poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="116" />
        <source>&amp;View</source>
        <translation>&amp;Visa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="116" />
        <source>Re&amp;ports</source>
        <translation>&amp;Rapporter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="117" />
        <source>&amp;Tools</source>
        <translation>Ver&amp;ktyg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="117" />
        <source>&amp;Help</source>
        <translation>&amp;Hjälp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="120" />
        <source>&amp;Quit</source>
        <translation>&amp;Avsluta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="124" />
        <source>&amp;Quick open…</source>
        <translation>&amp;Snabböppna…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="128" />
        <source>&amp;Connect to shared database…</source>
        <translation>&amp;Anslut till delad databas…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="137" />
        <source>Close tab</source>
        <translation>Stäng flik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="141" />
        <source>&amp;About itsmdesk</source>
        <translation>&amp;Om itsmdesk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="190" />
        <source>Reset layout</source>
        <translation>Återställ layout</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="260" />
        <source>{title} arrives in a later version.</source>
        <translation>{title} kommer i en senare version.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="324" />
        <source>SQLite file</source>
        <translation>SQLite-fil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="324" />
        <source>PostgreSQL</source>
        <translation>PostgreSQL</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="330" />
        <source>Who works at this desk (Ctrl+Shift+P)</source>
        <translation>Vem som arbetar vid den här datorn (Ctrl+Shift+P)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="372" />
        <source>Opening the database…</source>
        <translation>Öppnar databasen…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="403" />
        <source>Saving…</source>
        <translation>Sparar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="406" />
        <source>Connected</source>
        <translation>Ansluten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="407" />
        <source>Disconnected</source>
        <translation>Frånkopplad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="416" />
        <source>Reconnected</source>
        <translation>Ansluten igen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="422" />
        <source>Connection to the database lost — reconnecting (attempt {n})…</source>
        <translation>Anslutningen till databasen bröts — ansluter igen (försök {n})…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="448" />
        <source>Sign in…</source>
        <translation>Logga in…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="452" />
        <source>Sign in as…</source>
        <translation>Logga in som…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="454" />
        <source>Sign out</source>
        <translation>Logga ut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="456" />
        <source>Change password…</source>
        <translation>Byt lösenord…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="458" />
        <source>Manage people…</source>
        <translation>Hantera personer…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="462" />
        <source>Needs the role {role}</source>
        <translation>Kräver rollen {role}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="465" />
        <source>Create administrator account…</source>
        <translation>Skapa administratörskonto…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="492" />
        <location filename="../../itsmdesk/views/main_window.py" line="496" />
        <source>Change password</source>
        <translation>Byt lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="492" />
        <source>Old password</source>
        <translation>Gammalt lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="496" />
        <source>New password</source>
        <translation>Nytt lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="501" />
        <source>Password changed</source>
        <translation>Lösenordet är bytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="527" />
        <source>🔔 {n}</source>
        <translation>🔔 {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="528" />
        <source>{n} unread</source>
        <translation>{n} olästa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="530" />
        <source>{n} unread notifications (Ctrl+Shift+M)</source>
        <translation>{n} olästa aviseringar (Ctrl+Shift+M)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="567" />
        <source>Signed in: {name} ▾</source>
        <translation>Inloggad: {name} ▾</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="579" />
        <source>&lt;h2&gt;itsmdesk {version}&lt;/h2&gt;&lt;p&gt;Open a queue on the left, or press &lt;b&gt;Ctrl+K&lt;/b&gt; to find any record by reference or words.&lt;/p&gt;</source>
        <translation>&lt;h2&gt;itsmdesk {version}&lt;/h2&gt;&lt;p&gt;Öppna en kö till vänster, eller tryck &lt;b&gt;Ctrl+K&lt;/b&gt; för att hitta en post via referens eller ord.&lt;/p&gt;</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="586" />
        <source>Welcome</source>
        <translation>Välkommen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="600" />
        <source>No form for {kind} yet</source>
        <translation>Inget formulär för {kind} ännu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="664" />
        <source>Not closed: a record could not be saved.</source>
        <translation>Inte stängt: en post kunde inte sparas.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="680" />
        <source>Unsaved changes</source>
        <translation>Osparade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="681" />
        <source>These records have unsaved changes:
{names}

Save them before closing?</source>
        <translation>De här posterna har osparade ändringar:
{names}

Vill du spara dem innan du stänger?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="695" />
        <source>Saving before closing…</source>
        <translation>Sparar innan stängning…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="758" />
        <source>About itsmdesk</source>
        <translation>Om itsmdesk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/main_window.py" line="759" />
        <source>itsmdesk {version}
IT Service Support on {db}</source>
        <translation>itsmdesk {version}
IT-servicesupport på {db}</translation>
    </message>
</context>
<context>
    <name>MappingPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="224" />
        <source>Map the columns</source>
        <translation>Mappa kolumnerna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="225" />
        <source>Load a ready mapping (value maps, date formats, event-log folding) or pick a source column for each field.</source>
        <translation>Läs in en färdig mappning (värdemappningar, datumformat, sammanslagning av händelseloggar) eller välj en källkolumn för varje fält.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="228" />
        <source>(none: map by hand)</source>
        <translation>(ingen: mappa manuellt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="232" />
        <source>&amp;Load mapping…</source>
        <translation>&amp;Läs in mappning…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="234" />
        <source>&amp;Save mapping…</source>
        <translation>&amp;Spara mappning…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="237" />
        <source>&amp;Event log: several rows per record, keep each as history</source>
        <translation>&amp;Händelselogg: flera rader per post, behåll var och en som historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="243" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="243" />
        <source>Source column</source>
        <translation>Källkolumn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="244" />
        <source>Notes</source>
        <translation>Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="251" />
        <source>Mapping:</source>
        <translation>Mappning:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="256" />
        <source>External &amp;key column:</source>
        <translation>Kolumn för extern &amp;nyckel:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="258" />
        <source>Event &amp;time column:</source>
        <translation>Kolumn för händelse&amp;tid:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="259" />
        <source>Event &amp;author column:</source>
        <translation>Kolumn för händelse&amp;författare:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="271" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="304" />
        <source>one of: {values}</source>
        <translation>ett av: {values}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="305" />
        <source>looked up by name or reference</source>
        <translation>slås upp via namn eller referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="306" />
        <source>date and time (formats: load a mapping)</source>
        <translation>datum och tid (format: läs in en mappning)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="307" />
        <source>date</source>
        <translation>datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="307" />
        <source>whole number</source>
        <translation>heltal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="308" />
        <source>yes / no</source>
        <translation>ja / nej</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="308" />
        <source>number</source>
        <translation>tal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="315" />
        <source>Load mapping</source>
        <translation>Läs in mappning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="316" />
        <source>Mappings (*.toml);;All files (*)</source>
        <translation>Mappningar (*.toml);;Alla filer (*)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="373" />
        <source>Save mapping</source>
        <translation>Spara mappning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="374" />
        <source>Mappings (*.toml)</source>
        <translation>Mappningar (*.toml)</translation>
    </message>
</context>
<context>
    <name>MergeDialog</name>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="28" />
        <source>(empty)</source>
        <translation>(tomt)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="50" />
        <source>Someone else saved this record</source>
        <translation>Någon annan har sparat den här posten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="63" />
        <source>Choose which value to keep where you both changed a field. Your other changes are kept.</source>
        <translation>Välj vilket värde som ska behållas där ni båda har ändrat ett fält. Dina övriga ändringar behålls.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="69" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="69" />
        <source>Saved by them</source>
        <translation>Sparat av dem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="69" />
        <source>Yours</source>
        <translation>Ditt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="89" />
        <source>(changed)</source>
        <translation>(ändrat)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="90" />
        <source>(unchanged by you)</source>
        <translation>(oförändrat av dig)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="95" />
        <source>(unchanged by them)</source>
        <translation>(oförändrat av dem)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/merge_dialog.py" line="104" />
        <source>Save merged</source>
        <translation>Spara sammanslaget</translation>
    </message>
</context>
<context>
    <name>PdfCommon</name>
    <message>
        <location filename="../../itsmdesk/words.py" line="15" />
        <source>draft</source>
        <translation>utkast</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="16" />
        <source>submitted</source>
        <translation>inskickad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="17" />
        <source>assessed</source>
        <translation>bedömd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="18" />
        <source>awaiting cab</source>
        <translation>väntar på CAB</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="19" />
        <source>approved</source>
        <translation>godkänd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="20" />
        <source>rejected</source>
        <translation>avslagen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="21" />
        <source>scheduled</source>
        <translation>schemalagd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="22" />
        <source>implementing</source>
        <translation>genomförs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="23" />
        <source>implemented</source>
        <translation>genomförd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="24" />
        <source>in review</source>
        <translation>under granskning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="25" />
        <source>closed</source>
        <translation>stängd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="26" />
        <source>failed</source>
        <translation>misslyckad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="27" />
        <source>backed out</source>
        <translation>återställd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="29" />
        <source>standard</source>
        <translation>standard</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="30" />
        <source>normal</source>
        <translation>normal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="31" />
        <source>emergency</source>
        <translation>akut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="32" />
        <source>major</source>
        <translation>större</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="33" />
        <source>minor</source>
        <translation>mindre</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="35" />
        <source>low</source>
        <translation>låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="36" />
        <source>medium</source>
        <translation>medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="37" />
        <source>high</source>
        <translation>hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="38" />
        <source>very high</source>
        <translation>mycket hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="39" />
        <source>critical</source>
        <translation>kritisk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="40" />
        <source>not assessed</source>
        <translation>ej bedömd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="42" />
        <source>approve</source>
        <translation>godkänner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="43" />
        <source>reject</source>
        <translation>avslår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="44" />
        <source>abstain</source>
        <translation>avstår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="45" />
        <source>deferred</source>
        <translation>uppskjuten</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="46" />
        <source>pending</source>
        <translation>avvaktar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="48" />
        <source>planned</source>
        <translation>planerat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="49" />
        <source>held</source>
        <translation>genomfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="50" />
        <source>cancelled</source>
        <translation>inställt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="52" />
        <source>planning</source>
        <translation>planering</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="53" />
        <source>build</source>
        <translation>byggs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="54" />
        <source>test</source>
        <translation>test</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="55" />
        <source>deploying</source>
        <translation>driftsätts</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="56" />
        <source>deployed</source>
        <translation>driftsatt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="57" />
        <source>in progress</source>
        <translation>pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="58" />
        <source>done</source>
        <translation>klart</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="59" />
        <source>skipped</source>
        <translation>överhoppat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="61" />
        <source>same ci</source>
        <translation>samma CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="62" />
        <source>impact path</source>
        <translation>påverkansväg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="63" />
        <source>blackout</source>
        <translation>frysperiod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="64" />
        <source>outside maintenance</source>
        <translation>utanför underhållsfönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="66" />
        <source>services</source>
        <translation>tjänster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="67" />
        <source>type</source>
        <translation>typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="68" />
        <source>outage</source>
        <translation>avbrott</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="69" />
        <source>failure rate</source>
        <translation>felfrekvens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="70" />
        <source>conflicts</source>
        <translation>konflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="71" />
        <source>changes</source>
        <translation>ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="72" />
        <source>sites</source>
        <translation>platser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="73" />
        <source>backout</source>
        <translation>återställning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="74" />
        <source>combined</source>
        <translation>sammantaget</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="76" />
        <source>in production</source>
        <translation>i drift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="77" />
        <source>in maintenance</source>
        <translation>under underhåll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="78" />
        <source>retired</source>
        <translation>avvecklad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="79" />
        <source>depends on</source>
        <translation>beror på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="80" />
        <source>runs on</source>
        <translation>körs på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="81" />
        <source>hosted on</source>
        <translation>driftas på</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="82" />
        <source>connected to</source>
        <translation>ansluten till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="83" />
        <source>part of</source>
        <translation>del av</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="84" />
        <source>uses</source>
        <translation>använder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="86" />
        <source>new</source>
        <translation>nytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="87" />
        <source>approval</source>
        <translation>för godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="88" />
        <source>assigned</source>
        <translation>tilldelat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="89" />
        <source>resolved</source>
        <translation>löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="90" />
        <source>fulfilled</source>
        <translation>utfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="91" />
        <source>investigating</source>
        <translation>under utredning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="92" />
        <source>root cause known</source>
        <translation>grundorsak känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="93" />
        <source>workaround only</source>
        <translation>endast tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="94" />
        <source>fix planned</source>
        <translation>åtgärd planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="95" />
        <source>fix in progress</source>
        <translation>åtgärd pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="96" />
        <source>fixed</source>
        <translation>åtgärdat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="97" />
        <source>won't fix</source>
        <translation>åtgärdas inte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="99" />
        <source>incident</source>
        <translation>incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="100" />
        <source>request</source>
        <translation>tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="101" />
        <source>phone</source>
        <translation>telefon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="102" />
        <source>email</source>
        <translation>e-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="103" />
        <source>portal</source>
        <translation>portal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="104" />
        <source>walk in</source>
        <translation>besök</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="105" />
        <source>chat</source>
        <translation>chatt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="106" />
        <source>monitoring</source>
        <translation>övervakning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="107" />
        <source>solved (workaround)</source>
        <translation>löst (tillfällig lösning)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="108" />
        <source>solved permanently</source>
        <translation>löst permanent</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="109" />
        <source>solved by change</source>
        <translation>löst genom ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="110" />
        <source>not reproducible</source>
        <translation>kan inte återskapas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="111" />
        <source>duplicate</source>
        <translation>dubblett</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="112" />
        <source>user error</source>
        <translation>användarfel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="113" />
        <source>no fault found</source>
        <translation>inget fel hittat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="115" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/words.py" line="116" />
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
        <location filename="../../itsmdesk/reports/pdf_common.py" line="326" />
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
        <location filename="../../itsmdesk/views/importer/wizard.py" line="138" />
        <source>Preview</source>
        <translation>Förhandsgranska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="139" />
        <source>Check that the columns split correctly; change the delimiter or encoding if they do not.</source>
        <translation>Kontrollera att kolumnerna delas upp korrekt; ändra avgränsare eller teckenkodning om de inte gör det.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="143" />
        <location filename="../../itsmdesk/views/importer/wizard.py" line="147" />
        <source>Detect</source>
        <translation>Identifiera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="160" />
        <source>&amp;Delimiter:</source>
        <translation>&amp;Avgränsare:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="164" />
        <source>&amp;Encoding:</source>
        <translation>&amp;Teckenkodning:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="194" />
        <source>Read as: delimiter “{d}”, encoding {e}, {n} columns (first {rows} rows shown)</source>
        <translation>Läst som: avgränsare ”{d}”, teckenkodning {e}, {n} kolumner (de första {rows} raderna visas)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="211" />
        <source>{n} rows in the preview do not split into the header's columns, e.g. {example}</source>
        <translation>{n} rader i förhandsgranskningen delas inte upp enligt rubrikradens kolumner, t.ex. {example}</translation>
    </message>
</context>
<context>
    <name>ProblemForm</name>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="83" />
        <source>Short description of the problem</source>
        <translation>Kort beskrivning av problemet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="113" />
        <source>CI name</source>
        <translation>CI-namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="102" />
        <source>&amp;Status</source>
        <translation>St&amp;atus</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="121" />
        <source>&amp;Priority</source>
        <translation>&amp;Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="122" />
        <source>Cate&amp;gory</source>
        <translation>Kate&amp;gori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="124" />
        <source>Business ser&amp;vice</source>
        <translation>&amp;Verksamhetstjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="125" />
        <source>&amp;CI</source>
        <translation>&amp;CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="126" />
        <source>&amp;Team</source>
        <translation>T&amp;eam</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="139" />
        <source>&amp;Details</source>
        <translation>&amp;Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="140" />
        <source>&amp;Root cause analysis</source>
        <translation>G&amp;rundorsaksanalys</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="142" />
        <source>&amp;Incidents</source>
        <translation>&amp;Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="143" />
        <source>&amp;Known errors and changes</source>
        <translation>&amp;Kända fel och ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="144" />
        <source>&amp;History</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="152" />
        <source>Raise R&amp;FC</source>
        <translation>Skapa R&amp;FC</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="155" />
        <source>C&amp;lose problem…</source>
        <translation>S&amp;täng problem…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="168" />
        <source>What is happening, since when, who is affected</source>
        <translation>Vad händer, sedan när, vem påverkas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="169" />
        <source>How to restore service until the fix is in</source>
        <translation>Hur tjänsten återställs tills åtgärden är på plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="170" />
        <source>The permanent solution (the corrective change)</source>
        <translation>Den permanenta lösningen (den korrigerande ändringen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="171" />
        <source>The underlying cause, once known</source>
        <translation>Den bakomliggande orsaken, när den är känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="173" />
        <source>Description</source>
        <translation>Beskrivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="174" />
        <source>Root cause</source>
        <translation>Grundorsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="175" />
        <source>Workaround</source>
        <translation>Tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="176" />
        <source>Permanent solution</source>
        <translation>Permanent lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="182" />
        <source>What people and monitoring observe</source>
        <translation>Vad användare och övervakning observerar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="183" />
        <source>Possible causes still open</source>
        <translation>Möjliga orsaker som ännu inte uteslutits</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="184" />
        <source>Logs, measurements, tests that confirm or refute</source>
        <translation>Loggar, mätningar och tester som bekräftar eller motbevisar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="185" />
        <source>The cause the evidence supports</source>
        <translation>Den orsak som belägget stöder</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="187" />
        <source>Notes</source>
        <translation>Anteckningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="53" />
        <source>Symptoms</source>
        <translation>Symtom</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="53" />
        <source>Hypotheses</source>
        <translation>Hypoteser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="54" />
        <source>Evidence</source>
        <translation>Belägg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="54" />
        <source>Cause</source>
        <translation>Orsak</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="91" />
        <source>&amp;Move to</source>
        <translation>F&amp;lytta till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="93" />
        <source>Move the problem to another status (unsaved edits are saved first)</source>
        <translation>Flytta problemet till en annan status (osparade ändringar sparas först)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="118" />
        <source>CI names, comma separated</source>
        <translation>CI-namn, kommaseparerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="131" />
        <source>Affected C&amp;Is</source>
        <translation>Berörda &amp;CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="191" />
        <source>Timeline of linked incidents</source>
        <translation>Tidslinje för kopplade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="192" />
        <source>When</source>
        <translation>När</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="192" />
        <source>What</source>
        <translation>Vad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="193" />
        <source>Record</source>
        <translation>Post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="193" />
        <source>Detail</source>
        <translation>Detalj</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="205" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="205" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="235" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="244" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="205" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="245" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="304" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="206" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="206" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="213" />
        <source>INC-000123, INC-000124 …</source>
        <translation>INC-000123, INC-000124 …</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="214" />
        <source>Lin&amp;k</source>
        <translation>K&amp;oppla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="215" />
        <source>&amp;Unlink selected</source>
        <translation>Koppla &amp;bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="216" />
        <source>Resolve open incidents</source>
        <translation>Lös öppna incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="219" />
        <source>Link incidents:</source>
        <translation>Koppla incidenter:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="235" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="236" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="241" />
        <source>Record as &amp;known error</source>
        <translation>Registrera som kä&amp;nt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="244" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="252" />
        <source>Known errors</source>
        <translation>Kända fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="257" />
        <source>Corrective changes (RFCs)</source>
        <translation>Korrigerande ändringar (RFC:er)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="308" />
        <source>&amp;Incidents ({n})</source>
        <translation>&amp;Incidenter ({n})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="408" />
        <source>Moved to {status}.</source>
        <translation>Flyttat till {status}.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="41" />
        <source>New</source>
        <translation>Nytt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="41" />
        <source>Investigating</source>
        <translation>Under utredning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="42" />
        <source>Root cause known</source>
        <translation>Grundorsak känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="42" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="43" />
        <source>Closed</source>
        <translation>Stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="271" />
        <source>(none)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="301" />
        <source>Problem recorded</source>
        <translation>Problem registrerat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="302" />
        <source>Incident opened</source>
        <translation>Incident öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="303" />
        <source>Incident resolved</source>
        <translation>Incident löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="304" />
        <source>Work log</source>
        <translation>Arbetslogg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="77" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="349" />
        <source>New problem</source>
        <translation>Nytt problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="419" />
        <source>{ref} raised.</source>
        <translation>{ref} skapad.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="438" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="456" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="471" />
        <source>Resolve linked incidents</source>
        <translation>Lös kopplade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="439" />
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="457" />
        <source>The fix for {ref} is in. Resolve its {n} open linked incident(s) too?</source>
        <translation>Åtgärden för {ref} är på plats. Vill du även lösa dess {n} öppna kopplade incident(er)?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="452" />
        <source>Closed; {n} incident(s) resolved.</source>
        <translation>Stängt; {n} incident(er) lösta.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="453" />
        <source>Closed.</source>
        <translation>Stängt.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="472" />
        <source>Resolve every open incident linked to this problem?</source>
        <translation>Vill du lösa alla öppna incidenter som är kopplade till det här problemet?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/problem_form.py" line="477" />
        <source>{n} incident(s) resolved.</source>
        <translation>{n} incident(er) lösta.</translation>
    </message>
</context>
<context>
    <name>ProblemsPanel</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="38" />
        <source>&amp;Problems</source>
        <translation>&amp;Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="39" />
        <source>&amp;Known errors</source>
        <translation>&amp;Kända fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="40" />
        <source>Ca&amp;ndidates</source>
        <translation>Ka&amp;ndidater</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="55" />
        <source>Open problems</source>
        <translation>Öppna problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="56" />
        <source>All problems</source>
        <translation>Alla problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="57" />
        <source>New</source>
        <translation>Nytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="57" />
        <source>Investigating</source>
        <translation>Under utredning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="58" />
        <source>Root cause known</source>
        <translation>Grundorsak känd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="59" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="59" />
        <source>Closed</source>
        <translation>Stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="62" />
        <source>Search problems…</source>
        <translation>Sök problem…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="64" />
        <source>New problem</source>
        <translation>Nytt problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="71" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="97" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="71" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="72" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="97" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="73" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="73" />
        <source>Service</source>
        <translation>Tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="74" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="99" />
        <location filename="../../itsmdesk/views/problems/panel.py" line="128" />
        <source>Incidents</source>
        <translation>Incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="89" />
        <source>Search symptoms, error codes, workarounds…</source>
        <translation>Sök symtom, felkoder, tillfälliga lösningar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="91" />
        <source>New known error</source>
        <translation>Nytt känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="98" />
        <source>Error code</source>
        <translation>Felkod</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="98" />
        <source>Solution</source>
        <translation>Lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="113" />
        <source>Last 14 days</source>
        <translation>Senaste 14 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="113" />
        <source>Last 30 days</source>
        <translation>Senaste 30 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="114" />
        <source>Last 90 days</source>
        <translation>Senaste 90 dagarna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="117" />
        <source>&amp;Create problem</source>
        <translation>&amp;Skapa problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="120" />
        <source>Recurring incidents, not yet linked to a problem:</source>
        <translation>Återkommande incidenter som ännu inte kopplats till ett problem:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="127" />
        <source>CI / service</source>
        <translation>CI / tjänst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="127" />
        <source>Incidents look like</source>
        <translation>Incidenterna liknar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="128" />
        <source>Last</source>
        <translation>Senaste</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="170" />
        <source>At most the newest %1 incidents per CI or service are compared; at most %2 groups are shown, the biggest first.</source>
        <translation>Högst de %1 nyaste incidenterna per CI eller tjänst jämförs; högst %2 grupper visas, de största först.</translation>
    </message>
    <message numerus="yes">
        <location filename="../../itsmdesk/views/problems/panel.py" line="174" />
        <source>%n CI(s) or service(s) had more: their older incidents (%1) were not compared.</source>
        <translation>
            <numerusform>%n CI eller tjänst(er) hade fler: deras äldre incidenter (%1) jämfördes inte.</numerusform>
            <numerusform>%n CI eller tjänst(er) hade fler: deras äldre incidenter (%1) jämfördes inte.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="178" />
        <source>Showing %1 of %2 groups.</source>
        <translation>Visar %1 av %2 grupper.</translation>
    </message>
</context>
<context>
    <name>QueueColumns</name>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="71" />
        <source>Drag a header to move its column; right-click to choose the columns</source>
        <translation>Dra en rubrik för att flytta kolumnen; högerklicka för att välja kolumner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="310" />
        <source>{column} (no room)</source>
        <translation>{column} (får inte plats)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="320" />
        <source>Show the columns that fit</source>
        <translation>Visa de kolumner som får plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="323" />
        <source>Columns as wide as their contents; the last ones are left out while there is no room</source>
        <translation>Kolumnerna så breda som innehållet; de sista utelämnas så länge de inte får plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/columns.py" line="328" />
        <source>Reset the columns</source>
        <translation>Återställ kolumnerna</translation>
    </message>
</context>
<context>
    <name>QueueEditor</name>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="47" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="48" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="49" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="50" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="51" />
        <source>SLA</source>
        <translation>SLA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="52" />
        <source>Due</source>
        <translation>Förfaller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="53" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="54" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="55" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="56" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="57" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="58" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="59" />
        <source>Updated</source>
        <translation>Uppdaterad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="60" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="61" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="62" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="63" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="64" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="67" />
        <source>is</source>
        <translation>är</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="68" />
        <source>is not</source>
        <translation>är inte</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="69" />
        <source>is one of</source>
        <translation>är något av</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="70" />
        <source>is none of</source>
        <translation>är inget av</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="71" />
        <source>less than</source>
        <translation>mindre än</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="72" />
        <source>at most</source>
        <translation>högst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="73" />
        <source>more than</source>
        <translation>mer än</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="74" />
        <source>at least</source>
        <translation>minst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="75" />
        <source>is empty</source>
        <translation>är tomt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="76" />
        <source>is not empty</source>
        <translation>är inte tomt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="77" />
        <source>contains</source>
        <translation>innehåller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="80" />
        <source>before</source>
        <translation>före</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="81" />
        <source>on or before</source>
        <translation>till och med</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="82" />
        <source>after</source>
        <translation>efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="83" />
        <source>on or after</source>
        <translation>från och med</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="86" />
        <source>new</source>
        <translation>nytt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="87" />
        <source>approval</source>
        <translation>för godkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="88" />
        <source>assigned</source>
        <translation>tilldelat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="89" />
        <source>in progress</source>
        <translation>pågår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="90" />
        <source>pending</source>
        <translation>väntande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="91" />
        <source>resolved</source>
        <translation>löst</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="92" />
        <source>closed</source>
        <translation>stängt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="93" />
        <source>fulfilled</source>
        <translation>utfört</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="94" />
        <source>cancelled</source>
        <translation>avbrutet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="95" />
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="96" />
        <source>at risk</source>
        <translation>i riskzonen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="97" />
        <source>breached</source>
        <translation>överskriden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="98" />
        <source>paused</source>
        <translation>pausad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="99" />
        <source>met</source>
        <translation>uppfylld</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="100" />
        <source>incident</source>
        <translation>incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="101" />
        <source>request</source>
        <translation>tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="102" />
        <source>phone</source>
        <translation>telefon</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="103" />
        <source>email</source>
        <translation>e-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="104" />
        <source>portal</source>
        <translation>portal</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="105" />
        <source>walk in</source>
        <translation>besök</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="106" />
        <source>chat</source>
        <translation>chatt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="107" />
        <source>monitoring</source>
        <translation>övervakning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="108" />
        <source>1 high</source>
        <translation>1 hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="109" />
        <source>2 medium</source>
        <translation>2 medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="110" />
        <source>3 low</source>
        <translation>3 låg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="147" />
        <source>(pick one or more)</source>
        <translation>(välj ett eller flera)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="241" />
        <source>text</source>
        <translation>text</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="241" />
        <source>exact value</source>
        <translation>exakt värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="249" />
        <source>My teams (signed-in person's)</source>
        <translation>Mina team (den inloggades)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="262" />
        <source>Me (signed-in person)</source>
        <translation>Jag (den inloggade)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="279" />
        <source>relative to today</source>
        <translation>relativt idag</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="280" />
        <source>fixed date</source>
        <translation>fast datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="284" />
        <source> days</source>
        <translation> dagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="285" />
        <source>Negative: in the past (-7 = a week ago)</source>
        <translation>Negativt: bakåt i tiden (-7 = för en vecka sedan)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="384" />
        <source>Edit queue</source>
        <translation>Redigera kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="384" />
        <source>New queue</source>
        <translation>Ny kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="391" />
        <source>e.g. Network tickets this week</source>
        <translation>t.ex. Nätverksärenden den här veckan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="392" />
        <source>Shared with everyone</source>
        <translation>Delad med alla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="394" />
        <source>Unshared queues are listed only for you</source>
        <translation>Köer som inte delas visas bara för dig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="396" />
        <source>&amp;Name</source>
        <translation>&amp;Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="404" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="405" />
        <source>Condition</source>
        <translation>Villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="406" />
        <source>Value</source>
        <translation>Värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="410" />
        <source>&amp;Add filter</source>
        <translation>&amp;Lägg till filter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="414" />
        <source>&amp;Remove filter</source>
        <translation>&amp;Ta bort filter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="420" />
        <source>Tickets that match all of these</source>
        <translation>Ärenden som uppfyller alla dessa villkor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="433" />
        <source>newest / highest first (descending)</source>
        <translation>nyaste / högsta först (fallande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="434" />
        <source>oldest / lowest first (ascending)</source>
        <translation>äldsta / lägsta först (stigande)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="438" />
        <source>&amp;Sort by</source>
        <translation>S&amp;ortera efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="447" />
        <source>Tick the columns to show; drag or use the buttons to order them</source>
        <translation>Kryssa för de kolumner som ska visas; dra dem eller använd knapparna för att ändra ordningen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="449" />
        <source>Move &amp;up</source>
        <translation>Flytta &amp;upp</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="451" />
        <source>Move do&amp;wn</source>
        <translation>Flytta n&amp;ed</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="456" />
        <source>Columns</source>
        <translation>Kolumner</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="486" />
        <source>Loading…</source>
        <translation>Läser in…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="593" />
        <source>Counting…</source>
        <translation>Räknar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="601" />
        <source>Matches {n} tickets now</source>
        <translation>{n} ärenden matchar just nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/queue_editor.py" line="627" />
        <source>Queue not saved</source>
        <translation>Kön sparades inte</translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="417" />
        <location filename="../../itsmdesk/views/queue/model.py" line="423" />
        <source>paused</source>
        <translation>pausad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="422" />
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="422" />
        <source>at risk</source>
        <translation>i riskzonen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="422" />
        <source>breached</source>
        <translation>överskriden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/model.py" line="423" />
        <source>met</source>
        <translation>uppfylld</translation>
    </message>
</context>
<context>
    <name>QueuePanel</name>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="64" />
        <source>My open</source>
        <translation>Mina öppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="65" />
        <source>My team</source>
        <translation>Mitt team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="66" />
        <source>Unassigned</source>
        <translation>Ej tilldelade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="67" />
        <source>SLA at risk</source>
        <translation>SLA i fara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="68" />
        <source>Breached</source>
        <translation>Bruten SLA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="69" />
        <source>All open</source>
        <translation>Alla öppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="70" />
        <source>Resolved recently</source>
        <translation>Nyligen lösta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="71" />
        <source>All tickets</source>
        <translation>Alla ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="104" />
        <source>Filter: words or a reference…</source>
        <translation>Filter: ord eller en referens…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="114" />
        <source>New ticket</source>
        <translation>Nytt ärende</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="115" />
        <source>Record a new incident (Ctrl+N)</source>
        <translation>Registrera en ny incident (Ctrl+N)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="118" />
        <source>Edit selected…</source>
        <translation>Redigera markerade…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="119" />
        <source>Change a field on every selected ticket (Ctrl+E)</source>
        <translation>Ändra ett fält i alla markerade ärenden (Ctrl+E)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="331" />
        <source>{n} tickets</source>
        <translation>{n} ärenden</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="405" />
        <source>Select the tickets to change first</source>
        <translation>Markera först de ärenden som ska ändras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="421" />
        <source>Changed {n} tickets (Ctrl+Shift+Z undoes)</source>
        <translation>{n} ärenden ändrade (Ctrl+Shift+Z ångrar)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="429" />
        <source>No bulk edit to undo</source>
        <translation>Ingen massredigering att ångra</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="434" />
        <source>Undid the bulk edit of {n} tickets</source>
        <translation>Massredigeringen av {n} ärenden har ångrats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="450" />
        <source>Save queue</source>
        <translation>Spara kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="450" />
        <source>Name of the new queue</source>
        <translation>Namn på den nya kön</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="478" />
        <source>Only saved queues can be edited</source>
        <translation>Endast sparade köer kan redigeras</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="497" />
        <source>New queue…</source>
        <translation>Ny kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="499" />
        <source>Edit queue…</source>
        <translation>Redigera kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="500" />
        <source>Save queue as…</source>
        <translation>Spara kö som…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="508" />
        <source>Only saved queues can be deleted</source>
        <translation>Endast sparade köer kan tas bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="539" />
        <source>&amp;New incident</source>
        <translation>&amp;Ny incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="541" />
        <source>New service &amp;request</source>
        <translation>Ny &amp;tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="543" />
        <source>&amp;Bulk edit selected tickets…</source>
        <translation>&amp;Massredigera markerade ärenden…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="545" />
        <source>&amp;Undo last bulk edit</source>
        <translation>&amp;Ångra senaste massredigering</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="547" />
        <source>Refresh &amp;queues</source>
        <translation>&amp;Uppdatera köer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="549" />
        <source>&amp;Save queue as…</source>
        <translation>&amp;Spara kö som…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="551" />
        <source>New &amp;queue…</source>
        <translation>Ny &amp;kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="553" />
        <source>Edit saved &amp;queue…</source>
        <translation>&amp;Redigera sparad kö…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="555" />
        <source>&amp;Delete saved queue</source>
        <translation>Ta &amp;bort sparad kö</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/queue/panel.py" line="557" />
        <source>Filter queue</source>
        <translation>Filtrera kö</translation>
    </message>
</context>
<context>
    <name>QuickOpen</name>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="15" />
        <source>Incident</source>
        <translation>Incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="16" />
        <source>Request</source>
        <translation>Tjänstebegäran</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="17" />
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="18" />
        <source>Known error</source>
        <translation>Känt fel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="19" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="20" />
        <source>Release</source>
        <translation>Release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="21" />
        <source>Article</source>
        <translation>Artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="22" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="23" />
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
        <source>A reference (INC-123, CHG-7…), a source-system key or words</source>
        <translation>En referens (INC-123, CHG-7…), en nyckel från källsystemet eller ord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/quick_open.py" line="72" />
        <source>source key %s</source>
        <translation>källnyckel %s</translation>
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
        <location filename="../../itsmdesk/views/forms/base.py" line="121" />
        <source>&amp;Merge</source>
        <translation>&amp;Sammanfoga</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="123" />
        <source>Choose, field by field, which of their values to keep, then save</source>
        <translation>Välj fält för fält vilka av deras värden som ska behållas och spara sedan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="126" />
        <source>&amp;Reload</source>
        <translation>&amp;Läs om</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="128" />
        <source>Drop your unsaved edits and show the record as saved now</source>
        <translation>Släpp dina osparade ändringar och visa posten som den är sparad nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="140" />
        <location filename="../../itsmdesk/views/forms/base.py" line="427" />
        <location filename="../../itsmdesk/views/forms/base.py" line="634" />
        <source>Stop waiting</source>
        <translation>Sluta vänta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="142" />
        <source>Keep the edits in the form and stop waiting for the database; the save may still arrive</source>
        <translation>Behåll ändringarna i formuläret och sluta vänta på databasen; sparningen kan fortfarande komma fram</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="146" />
        <source>&amp;Save</source>
        <translation>&amp;Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="149" />
        <source>Save (Ctrl+S)</source>
        <translation>Spara (Ctrl+S)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="163" />
        <source>Save</source>
        <translation>Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="170" />
        <location filename="../../itsmdesk/views/forms/base.py" line="633" />
        <source>Saving…</source>
        <translation>Sparar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="195" />
        <location filename="../../itsmdesk/views/forms/base.py" line="201" />
        <source>Loading…</source>
        <translation>Läser in…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="378" />
        <source>Nothing to save</source>
        <translation>Inget att spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="447" />
        <source>Saved {title}.</source>
        <translation>Sparat: {title}.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="499" />
        <source>Stopped waiting: your edits are still here. If the save reached the database after all, saving again will show it.</source>
        <translation>Slutade vänta: dina ändringar finns kvar. Om sparningen ändå nådde databasen visas det när du sparar igen.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="504" />
        <source>Waiting for the database…</source>
        <translation>Väntar på databasen…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="512" />
        <source>The earlier save did arrive; nothing was saved twice.</source>
        <translation>Den tidigare sparningen kom fram; ingenting sparades två gånger.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="550" />
        <source>Done. Your unsaved edits are kept; when you save, you choose what to keep where the record changed.</source>
        <translation>Klart. Dina osparade ändringar finns kvar; när du sparar väljer du vad som ska behållas där posten har ändrats.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="585" />
        <source>The save you stopped waiting for did reach the database.</source>
        <translation>Sparningen som du slutade vänta på nådde databasen.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="605" />
        <source>Changed by {who} at {time}</source>
        <translation>Ändrad av {who} kl. {time}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="608" />
        <source>Changed by {who}</source>
        <translation>Ändrad av {who}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="610" />
        <source>Someone else changed this record after you opened it</source>
        <translation>Någon annan ändrade posten efter att du öppnade den</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="612" />
        <source>your edits are kept: merge them with theirs, or reload.</source>
        <translation>dina ändringar finns kvar: sammanfoga dem med deras eller läs om.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="636" />
        <source>Saving — waiting for the database…</source>
        <translation>Sparar — väntar på databasen…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="638" />
        <source>Cancel</source>
        <translation>Avbryt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="665" />
        <source>Unsaved changes</source>
        <translation>Osparade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="666" />
        <source>{title} has unsaved changes. Save them?</source>
        <translation>{title} har osparade ändringar. Vill du spara dem?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="677" />
        <source>Still saving</source>
        <translation>Sparar fortfarande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/forms/base.py" line="678" />
        <source>{title} is still being saved. Close it anyway? The save goes on.</source>
        <translation>{title} håller fortfarande på att sparas. Vill du stänga ändå? Sparningen fortsätter.</translation>
    </message>
</context>
<context>
    <name>ReleaseForm</name>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="102" />
        <location filename="../../itsmdesk/views/releases/release_form.py" line="401" />
        <source>New release</source>
        <translation>Ny release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="114" />
        <source>&amp;Move</source>
        <translation>&amp;Flytta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="117" />
        <source>Release plan P&amp;DF…</source>
        <translation>Releaseplan som &amp;PDF…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="121" />
        <source>Move to:</source>
        <translation>Flytta till:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="129" />
        <source>&amp;Details</source>
        <translation>&amp;Detaljer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="130" />
        <source>&amp;Changes</source>
        <translation>&amp;Ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="131" />
        <source>&amp;Plan</source>
        <translation>P&amp;lan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="132" />
        <source>&amp;Media library</source>
        <translation>&amp;Mediebibliotek</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="133" />
        <source>&amp;History</source>
        <translation>&amp;Historik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="171" />
        <source>&amp;Name</source>
        <translation>&amp;Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="172" />
        <source>&amp;Version</source>
        <translation>&amp;Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="173" />
        <source>&amp;Type</source>
        <translation>&amp;Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="174" />
        <source>Release &amp;manager</source>
        <translation>&amp;Releaseansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="175" />
        <source>Release t&amp;eam</source>
        <translation>Releaset&amp;eam</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="176" />
        <source>Planned &amp;start</source>
        <translation>Planerad st&amp;art</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="177" />
        <source>Planned &amp;end</source>
        <translation>Planerat sl&amp;ut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="178" />
        <source>Descr&amp;iption</source>
        <translation>Beskr&amp;ivning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="179" />
        <source>&amp;Backout plan</source>
        <translation>&amp;Återställningsplan</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="180" />
        <location filename="../../itsmdesk/views/releases/release_form.py" line="186" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185" />
        <location filename="../../itsmdesk/views/releases/release_form.py" line="219" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="185" />
        <source>Approved</source>
        <translation>Godkänd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="192" />
        <source>CHG-000123</source>
        <translation>CHG-000123</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="194" />
        <source>&amp;Add change</source>
        <translation>Lägg till ä&amp;ndring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="196" />
        <source>&amp;Remove</source>
        <translation>Ta &amp;bort</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="217" />
        <source>Owner</source>
        <translation>Ägare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="218" />
        <source>Planned start</source>
        <translation>Planerad start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="218" />
        <source>Planned end</source>
        <translation>Planerat slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="218" />
        <source>Actual start</source>
        <translation>Faktisk start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="219" />
        <source>Actual end</source>
        <translation>Faktiskt slut</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="219" />
        <source>After</source>
        <translation>Efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="228" />
        <source>Add s&amp;tep…</source>
        <translation>Lägg till s&amp;teg…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="235" />
        <source>Set stat&amp;us</source>
        <translation>Ange stat&amp;us</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="237" />
        <source>&amp;Edit step…</source>
        <translation>&amp;Redigera steg…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="241" />
        <source>De&amp;lete step</source>
        <translation>Ta &amp;bort steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="243" />
        <source>Deplo&amp;y wave…</source>
        <translation>Driftsätt &amp;våg…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="245" />
        <source>Update the software CIs at the wave's site to the versions in the media library</source>
        <translation>Uppdatera programvaru-CI:na på vågens plats till versionerna i mediebiblioteket</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271" />
        <source>Item</source>
        <translation>Objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271" />
        <location filename="../../itsmdesk/views/releases/release_form.py" line="276" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271" />
        <source>Checksum</source>
        <translation>Kontrollsumma</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="271" />
        <source>Master CI</source>
        <translation>Huvud-CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="274" />
        <source>Item name</source>
        <translation>Objektnamn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="278" />
        <source>sha256:…</source>
        <translation>sha256:…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="279" />
        <source>Add &amp;item</source>
        <translation>Lägg till &amp;objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="281" />
        <source>Remo&amp;ve item</source>
        <translation>Ta bort o&amp;bjekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="290" />
        <source>Software this release delivers (each is a software CI in the CMDB). Deploying a wave sets the version of the matching software CIs at the wave's site.</source>
        <translation>Programvara som den här releasen levererar (var och en är ett programvaru-CI i CMDB). När en våg driftsätts sätts versionen på motsvarande programvaru-CI:n på vågens plats.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="328" />
        <source>(nobody)</source>
        <translation>(ingen)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="329" />
        <source>(no team)</source>
        <translation>(inget team)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="346" />
        <source>all changes approved</source>
        <translation>alla ändringar godkända</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="347" />
        <source>no changes bundled</source>
        <translation>inga ändringar ingår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="348" />
        <source>{n} change(s) not approved: cannot deploy</source>
        <translation>{n} ändring(ar) inte godkända: kan inte driftsättas</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="352" />
        <source>Status &lt;b&gt;{status}&lt;/b&gt; · type {type} · risk &lt;b&gt;&lt;span style='color:{rc}'&gt;{risk}&lt;/span&gt;&lt;/b&gt; · &lt;span style='color:{ac}'&gt;{approval}&lt;/span&gt; · manager {manager}</source>
        <translation>Status &lt;b&gt;{status}&lt;/b&gt; · typ {type} · risk &lt;b&gt;&lt;span style='color:{rc}'&gt;{risk}&lt;/span&gt;&lt;/b&gt; · &lt;span style='color:{ac}'&gt;{approval}&lt;/span&gt; · ansvarig {manager}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="366" />
        <source>no factors</source>
        <translation>inga faktorer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="372" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="372" />
        <source>NO</source>
        <translation>NEJ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="379" />
        <source>no changes</source>
        <translation>inga ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="314" />
        <source>Affected services: {names}</source>
        <translation>Berörda tjänster: {names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="551" />
        <source>Delete step</source>
        <translation>Ta bort steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="552" />
        <source>Delete '{name}' from the plan?</source>
        <translation>Vill du ta bort '{name}' från planen?</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="571" />
        <source>Deploy '{wave}' at {site}?

{count} software CI(s) will be updated:
{names}</source>
        <translation>Vill du driftsätta '{wave}' på {site}?

{count} programvaru-CI(:n) kommer att uppdateras:
{names}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="575" />
        <source>…and {n} more</source>
        <translation>…och {n} till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="576" />
        <source>Deploy wave</source>
        <translation>Driftsätt våg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/release_form.py" line="581" />
        <source>{wave}: {n} CI(s) updated; release is {status}</source>
        <translation>{wave}: {n} CI(:n) uppdaterade; releasen är {status}</translation>
    </message>
</context>
<context>
    <name>ReleaseListModel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="51" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="52" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="52" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="53" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="53" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="54" />
        <source>Start</source>
        <translation>Start</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="54" />
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
        <location filename="../../itsmdesk/views/releases/preview.py" line="52" />
        <source>all bundled changes approved</source>
        <translation>alla ingående ändringar godkända</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="53" />
        <source>no changes bundled</source>
        <translation>inga ändringar ingår</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="54" />
        <source>{n} of {m} changes NOT approved: deployment is blocked</source>
        <translation>{n} av {m} ändringar INTE godkända: driftsättning är spärrad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58" />
        <source>Field</source>
        <translation>Fält</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="58" />
        <source>Value</source>
        <translation>Värde</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="88" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="59" />
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="60" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="71" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="79" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="60" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="71" />
        <source>Risk</source>
        <translation>Risk</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="61" />
        <source>Planned window</source>
        <translation>Planerat fönster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="62" />
        <location filename="../../itsmdesk/views/releases/preview.py" line="93" />
        <source>Release manager</source>
        <translation>Releaseansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="62" />
        <source>Release team</source>
        <translation>Releaseteam</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="63" />
        <source>Change approval</source>
        <translation>Ändringsgodkännande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="68" />
        <source>Factor</source>
        <translation>Faktor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="68" />
        <source>Level</source>
        <translation>Nivå</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="68" />
        <source>Why</source>
        <translation>Varför</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71" />
        <source>Change</source>
        <translation>Ändring</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="71" />
        <source>Approved</source>
        <translation>Godkänd</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="72" />
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="76" />
        <source>None</source>
        <translation>Ingen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>Step</source>
        <translation>Steg</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>Owner</source>
        <translation>Ägare</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>Site</source>
        <translation>Plats</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="78" />
        <source>Planned</source>
        <translation>Planerad</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="79" />
        <source>Actual</source>
        <translation>Utfall</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="79" />
        <source>After</source>
        <translation>Efter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="88" />
        <source>Item</source>
        <translation>Objekt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="88" />
        <source>Checksum</source>
        <translation>Kontrollsumma</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="88" />
        <source>Master CI</source>
        <translation>Huvud-CI</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93" />
        <source>Change manager</source>
        <translation>Ändringsansvarig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="93" />
        <source>CAB chair</source>
        <translation>CAB-ordförande</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94" />
        <source>Role</source>
        <translation>Roll</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94" />
        <source>Signature</source>
        <translation>Underskrift</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="94" />
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="105" />
        <source>Save release plan PDF</source>
        <translation>Spara releaseplan som PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="106" />
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="132" />
        <source>Release plan {ref}</source>
        <translation>Releaseplan {ref}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/preview.py" line="135" />
        <source>Save PDF…</source>
        <translation>Spara PDF…</translation>
    </message>
</context>
<context>
    <name>ReleasesPanel</name>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="105" />
        <source>Open releases</source>
        <translation>Öppna releaser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="106" />
        <source>All releases</source>
        <translation>Alla releaser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="111" />
        <source>Search reference, name, version…</source>
        <translation>Sök referens, namn, version…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="113" />
        <source>&amp;New release</source>
        <translation>&amp;Ny release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="202" />
        <source>Release plan PDF</source>
        <translation>Releaseplan som PDF</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="203" />
        <source>Release reference (e.g. REL-000001):</source>
        <translation>Releasereferens (t.ex. REL-000001):</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="210" />
        <source>New &amp;release</source>
        <translation>Ny &amp;release</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/releases/panel.py" line="214" />
        <source>Release &amp;plan PDF…</source>
        <translation>Release&amp;plan som PDF…</translation>
    </message>
</context>
<context>
    <name>ReplicaLabel</name>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="39" />
        <source>never</source>
        <translation>aldrig</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="42" />
        <source>Replica {site} of {hub} · scope: {scope} · last synced {when}</source>
        <translation>Replik {site} av {hub} · omfång: {scope} · senast synkroniserad {when}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="46" />
        <source>Replica {site} of {hub} · last synced {when}</source>
        <translation>Replik {site} av {hub} · senast synkroniserad {when}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="48" />
        <source>Hub: {hub}
Local journal rows waiting to be sent: {n}</source>
        <translation>Nav: {hub}
Lokala journalrader som väntar på att skickas: {n}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="51" />
        <source>Scope: {scope} (their CIs, tickets, problems, changes and releases, and all reference data)</source>
        <translation>Omfång: {scope} (deras CI:er, ärenden, problem, ändringar och releaser, samt alla referensdata)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="62" />
        <source>site {code}</source>
        <translation>plats {code}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="64" />
        <source>sites {codes}</source>
        <translation>platser {codes}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="66" />
        <source>team {name}</source>
        <translation>team {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/replica_label.py" line="68" />
        <source>teams {names}</source>
        <translation>team {names}</translation>
    </message>
</context>
<context>
    <name>RunPage</name>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="440" />
        <source>Dry run</source>
        <translation>Testkörning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="440" />
        <location filename="../../itsmdesk/views/importer/wizard.py" line="506" />
        <source>Import</source>
        <translation>Importera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="441" />
        <source>Reads and checks everything; writes nothing.</source>
        <translation>Läser och kontrollerar allt; skriver ingenting.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="442" />
        <source>Writes in one transaction: all rows or, if cancelled, none.</source>
        <translation>Skriver i en transaktion: alla rader eller, om det avbryts, inga.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="450" />
        <source>&amp;Cancel import</source>
        <translation>&amp;Avbryt import</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="463" />
        <source>Rows that would be rejected (line, column, reason):</source>
        <translation>Rader som skulle avvisas (rad, kolumn, orsak):</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="464" />
        <source>Rejected rows:</source>
        <translation>Avvisade rader:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="467" />
        <source>Import the valid rows and save the rejected ones to:</source>
        <translation>Importera de giltiga raderna och spara de avvisade till:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="469" />
        <source>rejected rows (.csv)</source>
        <translation>avvisade rader (.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="470" />
        <source>B&amp;rowse…</source>
        <translation>B&amp;läddra…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="499" />
        <source>Working…</source>
        <translation>Arbetar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="509" />
        <source>Save rejected rows</source>
        <translation>Spara avvisade rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="510" />
        <source>CSV files (*.csv)</source>
        <translation>CSV-filer (*.csv)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="525" />
        <source>Reading the file…</source>
        <translation>Läser filen…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="526" />
        <source>Checking rows…</source>
        <translation>Kontrollerar rader…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="527" />
        <source>Writing…</source>
        <translation>Skriver…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="528" />
        <source>Writing records…</source>
        <translation>Skriver poster…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="529" />
        <source>Updating records…</source>
        <translation>Uppdaterar poster…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="530" />
        <source>Writing history…</source>
        <translation>Skriver historik…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="537" />
        <source>Cancelling…</source>
        <translation>Avbryter…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="566" />
        <source>Rejected rows were saved to {path}</source>
        <translation>Avvisade rader sparades till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="572" />
        <source>… and {n} more</source>
        <translation>… och {n} till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="578" />
        <source>Nothing was imported: {n} rows are invalid.</source>
        <translation>Ingenting importerades: {n} rader är ogiltiga.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="580" />
        <source>{n} rows are invalid: fix the file or the mapping and go back, or import only the valid rows (below).</source>
        <translation>{n} rader är ogiltiga: rätta filen eller mappningen och gå tillbaka, eller importera endast de giltiga raderna (nedan).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="583" />
        <source>Every row is valid. Import writes the following:</source>
        <translation>Alla rader är giltiga. Importen skriver följande:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="584" />
        <source>Imported.</source>
        <translation>Importerat.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="587" />
        <source>Rows read</source>
        <translation>Lästa rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="588" />
        <source>Records to create</source>
        <translation>Poster att skapa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="588" />
        <source>Records created</source>
        <translation>Skapade poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="590" />
        <source>Records to update</source>
        <translation>Poster att uppdatera</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="590" />
        <source>Records updated</source>
        <translation>Uppdaterade poster</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="592" />
        <source>Unchanged</source>
        <translation>Oförändrade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="593" />
        <source>Rejected rows</source>
        <translation>Avvisade rader</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="594" />
        <source>New people</source>
        <translation>Nya personer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="595" />
        <source>New teams</source>
        <translation>Nya team</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="596" />
        <source>New categories</source>
        <translation>Nya kategorier</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="597" />
        <source>New CIs</source>
        <translation>Nya CI:n</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="598" />
        <source>New CI classes</source>
        <translation>Nya CI-klasser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="599" />
        <source>New sites</source>
        <translation>Nya platser</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="600" />
        <source>New linked problems</source>
        <translation>Nya kopplade problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="601" />
        <source>New linked changes</source>
        <translation>Nya kopplade ändringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="602" />
        <source>New linked incidents</source>
        <translation>Nya länkade incidenter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="603" />
        <source>Affected CIs linked</source>
        <translation>Berörda CI länkade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="604" />
        <source>Rows left out ([[skip]])</source>
        <translation>Utelämnade rader ([[skip]])</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="605" />
        <source>Warnings</source>
        <translation>Varningar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/importer/wizard.py" line="606" />
        <source>History entries</source>
        <translation>Historikposter</translation>
    </message>
</context>
<context>
    <name>ServiceDeskActions</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="29" />
        <source>Sign in as</source>
        <translation>Logga in som</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="29" />
        <source>Person</source>
        <translation>Person</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="39" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="49" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="52" />
        <source>Notifications</source>
        <translation>Aviseringar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="39" />
        <source>Sign in first (Ctrl+Shift+P).</source>
        <translation>Logga in först (Ctrl+Shift+P).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="49" />
        <source>No unread notifications.</source>
        <translation>Inga olästa aviseringar.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="55" />
        <source>{n} notifications read</source>
        <translation>{n} aviseringar lästa</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="69" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="73" />
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="83" />
        <source>Import holidays</source>
        <translation>Importera helgdagar</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="70" />
        <source>Create a business calendar first (itsmdesk business-calendar create).</source>
        <translation>Skapa en arbetstidskalender först (itsmdesk business-calendar create).</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="73" />
        <source>Calendar</source>
        <translation>Kalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="76" />
        <source>Holidays (.ics)</source>
        <translation>Helgdagar (.ics)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="77" />
        <source>iCalendar files (*.ics)</source>
        <translation>iCalendar-filer (*.ics)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="84" />
        <source>{added} holidays added, {skipped} already there.</source>
        <translation>{added} helgdagar tillagda, {skipped} fanns redan.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="97" />
        <source>Escalation check: {f} newly at risk, {b} newly breached</source>
        <translation>Eskaleringskontroll: {f} nya i SLA-fara, {b} nya med bruten SLA</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="120" />
        <source>Sign in &amp;as…</source>
        <translation>&amp;Logga in som…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="121" />
        <source>&amp;Notifications…</source>
        <translation>&amp;Aviseringar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="122" />
        <source>Run SLA &amp;escalation now</source>
        <translation>Kör SLA-&amp;eskalering nu</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="123" />
        <source>&amp;SLA targets…</source>
        <translation>&amp;SLA-mål…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="124" />
        <source>Priority &amp;matrix…</source>
        <translation>Prioritets&amp;matris…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="125" />
        <source>Import &amp;holidays (.ics)…</source>
        <translation>Importera &amp;helgdagar (.ics)…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/actions.py" line="126" />
        <source>&amp;Diagnostic scripts…</source>
        <translation>&amp;Diagnosskript…</translation>
    </message>
</context>
<context>
    <name>SettingsDialogs</name>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="38" />
        <source>SLA targets ({kind})</source>
        <translation>SLA-mål ({kind})</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="40" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="40" />
        <source>Response (min)</source>
        <translation>Svarstid (min)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="40" />
        <source>Resolution (min)</source>
        <translation>Lösningstid (min)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="41" />
        <source>Calendar</source>
        <translation>Kalender</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="61" />
        <source>Escalate at</source>
        <translation>Eskalera vid</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="71" />
        <source>Targets count business minutes on the SLA's calendar and stop while a ticket is pending.</source>
        <translation>Målen räknas i arbetsminuter enligt SLA:ns kalender och stannar medan ett ärende är väntande.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="85" />
        <source>24x7</source>
        <translation>Dygnet runt</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="119" />
        <source>Priority matrix</source>
        <translation>Prioritetsmatris</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="121" />
        <source>Impact \ Urgency</source>
        <translation>Påverkan \ Brådska</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="122" />
        <source>high</source>
        <translation>hög</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="122" />
        <source>medium</source>
        <translation>medel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/dialogs/settings_dialogs.py" line="122" />
        <source>low</source>
        <translation>låg</translation>
    </message>
</context>
<context>
    <name>SignIn</name>
    <message>
        <location filename="../../itsmdesk/views/changes/cab_meeting_form.py" line="55" />
        <location filename="../../itsmdesk/views/signin/__init__.py" line="31" />
        <source>Needs the role {role}</source>
        <translation>Kräver rollen {role}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="70" />
        <location filename="../../itsmdesk/views/signin/__init__.py" line="87" />
        <source>Sign in</source>
        <translation>Logga in</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="77" />
        <source>&lt;b&gt;Sign in to itsmdesk&lt;/b&gt;</source>
        <translation>&lt;b&gt;Logga in i itsmdesk&lt;/b&gt;</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="83" />
        <location filename="../../itsmdesk/views/signin/__init__.py" line="151" />
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="61" />
        <source>&amp;Login</source>
        <translation>&amp;Inloggning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="84" />
        <location filename="../../itsmdesk/views/signin/__init__.py" line="152" />
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="63" />
        <source>&amp;Password</source>
        <translation>&amp;Lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="95" />
        <source>Demo data: the IT staff sign in with their login, for example &lt;b&gt;emma.haddad&lt;/b&gt; (head of IT, administrator and change manager) or &lt;b&gt;henrik.nilsson&lt;/b&gt; (service desk agent); every password is &lt;b&gt;demo&lt;/b&gt;.</source>
        <translation>Demodata: IT-personalen loggar in med sitt användarnamn, till exempel &lt;b&gt;emma.haddad&lt;/b&gt; (IT-chef, administratör och ändringsansvarig) eller &lt;b&gt;henrik.nilsson&lt;/b&gt; (handläggare på servicedesken); alla lösenord är &lt;b&gt;demo&lt;/b&gt;.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="137" />
        <source>Welcome: create the administrator</source>
        <translation>Välkommen: skapa administratören</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="138" />
        <source>This database has no accounts yet. The administrator you create now adds the other people and gives them their roles.</source>
        <translation>Databasen har inga konton än. Administratören du skapar nu lägger till övriga personer och ger dem deras roller.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="150" />
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="60" />
        <source>&amp;Name</source>
        <translation>&amp;Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="153" />
        <source>&amp;Again</source>
        <translation>&amp;Igen</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="168" />
        <source>The two passwords differ.</source>
        <translation>De två lösenorden skiljer sig åt.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/__init__.py" line="178" />
        <source>Create the administrator</source>
        <translation>Skapa administratören</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="52" />
        <source>New account</source>
        <translation>Nytt konto</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="62" />
        <source>&amp;E-mail</source>
        <translation>&amp;E-post</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="64" />
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="81" />
        <source>Roles</source>
        <translation>Roller</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="78" />
        <source>Manage people</source>
        <translation>Hantera personer</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="81" />
        <source>Login</source>
        <translation>Inloggning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="81" />
        <source>Name</source>
        <translation>Namn</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="87" />
        <source>&amp;New account…</source>
        <translation>&amp;Nytt konto…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="88" />
        <source>&amp;Roles…</source>
        <translation>&amp;Roller…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="89" />
        <source>Reset &amp;password…</source>
        <translation>Återställ &amp;lösenord…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="147" />
        <source>Roles of {name}</source>
        <translation>Roller för {name}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="166" />
        <source>Reset password</source>
        <translation>Återställ lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/signin/people_dialog.py" line="167" />
        <source>New password for {login}</source>
        <translation>Nytt lösenord för {login}</translation>
    </message>
</context>
<context>
    <name>SmtpSettingsWidget</name>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="48" />
        <source>Outgoing mail (SMTP)</source>
        <translation>Utgående e-post (SMTP)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="50" />
        <source>e.g. smtp.example.org</source>
        <translation>t.ex. smtp.example.org</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="52" />
        <source>587 for STARTTLS, 465 for SMTPS</source>
        <translation>587 för STARTTLS, 465 för SMTPS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="54" />
        <source>STARTTLS</source>
        <translation>STARTTLS</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="55" />
        <source>SSL/TLS (SMTPS)</source>
        <translation>SSL/TLS (SMTPS)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="56" />
        <source>None (a relay on this network only)</source>
        <translation>Ingen (bara för en relästation i det här nätet)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="62" />
        <source>e.g. Service desk &lt;servicedesk@example.org&gt;</source>
        <translation>t.ex. Servicedesk &lt;servicedesk@example.org&gt;</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="64" />
        <source>only for a server with a private certificate</source>
        <translation>bara för en server med ett privat certifikat</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="66" />
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="67" />
        <source>Port</source>
        <translation>Port</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="68" />
        <source>Security</source>
        <translation>Säkerhet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="69" />
        <source>Login</source>
        <translation>Inloggning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="70" />
        <source>Password</source>
        <translation>Lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="71" />
        <source>From</source>
        <translation>Från</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="72" />
        <source>CA certificate file</source>
        <translation>CA-certifikatfil</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="74" />
        <source>your address</source>
        <translation>din adress</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="75" />
        <source>Send test mail to</source>
        <translation>Skicka testbrev till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="78" />
        <source>Save</source>
        <translation>Spara</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="79" />
        <source>Send test mail</source>
        <translation>Skicka testbrev</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="114" />
        <source>(kept in the keyring; type to replace)</source>
        <translation>(sparat i nyckelringen; skriv för att ersätta)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="116" />
        <source>(no keyring here: use ITSMDESK_SMTP_PASSWORD)</source>
        <translation>(ingen nyckelring här: använd ITSMDESK_SMTP_PASSWORD)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="134" />
        <source>Saved.</source>
        <translation>Sparat.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="151" />
        <source>Type the address to send the test mail to.</source>
        <translation>Skriv adressen som testbrevet ska skickas till.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="154" />
        <source>Sending a test mail to {to}…</source>
        <translation>Skickar ett testbrev till {to}…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/smtp_settings.py" line="158" />
        <source>{server} took the test mail for {to}.</source>
        <translation>{server} tog emot testbrevet till {to}.</translation>
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
    <name>SubscribersWidget</name>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="43" />
        <source>name or e-mail address</source>
        <translation>namn eller e-postadress</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="51" />
        <source>Add</source>
        <translation>Lägg till</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="52" />
        <source>Remove selected</source>
        <translation>Ta bort markerade</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="62" />
        <source>These people get the service's outage announcements by mail, with a calendar invitation of the window.</source>
        <translation>De här personerna får tjänstens avbrottsmeddelanden med e-post, med en kalenderinbjudan för tidsfönstret.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/mail/subscribers.py" line="81" />
        <source>Nobody gets this service's announcements by mail yet: type a name or an address below, then Add.</source>
        <translation>Ingen får tjänstens meddelanden med e-post än: skriv ett namn eller en adress nedan och klicka Lägg till.</translation>
    </message>
</context>
<context>
    <name>SuggestionsWidget</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="42" />
        <source>&amp;Link</source>
        <translation>&amp;Koppla</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="43" />
        <source>Apply &amp;workaround</source>
        <translation>Tillämpa &amp;tillfällig lösning</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="44" />
        <source>Open</source>
        <translation>Öppna</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/suggestions.py" line="52" />
        <source>Known errors and articles that may match</source>
        <translation>Kända fel och artiklar som kan matcha</translation>
    </message>
</context>
<context>
    <name>SyncDialog</name>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="70" />
        <source>Sync with hub</source>
        <translation>Synkronisera med navet</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="78" />
        <source>Looking up the hub…</source>
        <translation>Slår upp navet…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="94" />
        <source>Stop the sync; what was sent is safe on the hub and the next sync goes on from there</source>
        <translation>Avbryt synkroniseringen; det som skickats är säkert på navet och nästa synkronisering fortsätter därifrån</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="124" />
        <source>This database is not a replica: there is no hub to sync with.</source>
        <translation>Den här databasen är inte en replik: det finns inget nav att synkronisera med.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="127" />
        <source>Replica {site}: syncing with {hub}</source>
        <translation>Replik {site}: synkroniserar med {hub}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="132" />
        <source>Hub password</source>
        <translation>Navets lösenord</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="133" />
        <source>Password for the hub {hub}:</source>
        <translation>Lösenord för navet {hub}:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="136" />
        <source>Not synced: no password given.</source>
        <translation>Inte synkroniserad: inget lösenord angavs.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="149" />
        <source>Starting…</source>
        <translation>Startar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="173" />
        <source>{n} change(s) to send; sending, then receiving the hub's</source>
        <translation>{n} ändring(ar) att skicka; skickar, tar sedan emot navets</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="175" />
        <source>Sending changes: {done} of {total}</source>
        <translation>Skickar ändringar: {done} av {total}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="176" />
        <source>Receiving the hub's changes: {done} of {total}</source>
        <translation>Tar emot navets ändringar: {done} av {total}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="178" />
        <source>Finishing…</source>
        <translation>Avslutar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="192" />
        <source>Stopping…</source>
        <translation>Avbryter…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="200" />
        <source>Not synced.</source>
        <translation>Inte synkroniserad.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="205" />
        <source>The sync could not be started: {why}</source>
        <translation>Synkroniseringen kunde inte startas: {why}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="214" />
        <source>Sync stopped. What was sent is safe on the hub; sync again to finish.</source>
        <translation>Synkroniseringen avbröts. Det som skickats är säkert på navet; synkronisera igen för att slutföra.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="219" />
        <source>Synced: sent {pushed} change(s), received {pulled} journal row(s)</source>
        <translation>Synkroniserad: skickade {pushed} ändring(ar), tog emot {pulled} journalrad(er)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="222" />
        <source>{n} new conflict(s) to decide in the Sync conflicts dock.</source>
        <translation>{n} ny(a) konflikt(er) att avgöra i panelen Synkroniseringskonflikter.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="223" />
        <source>no new conflicts.</source>
        <translation>inga nya konflikter.</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="228" />
        <source>the sync process ended with code {code}</source>
        <translation>synkroniseringsprocessen avslutades med kod {code}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/conflicts/sync_dialog.py" line="232" />
        <source>Not synced: {reason}</source>
        <translation>Inte synkroniserad: {reason}</translation>
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
        <location filename="../../itsmdesk/cli.py" line="29" />
        <source>usage: </source>
        <translation>användning: </translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="30" />
        <source>positional arguments</source>
        <translation>positionsargument</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="31" />
        <source>options</source>
        <translation>flaggor</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="32" />
        <source>show this help message and exit</source>
        <translation>visa detta hjälpmeddelande och avsluta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="33" />
        <source>show program's version number and exit</source>
        <translation>visa programmets versionsnummer och avsluta</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="34" />
        <source>%(prog)s: error: %(message)s
</source>
        <translation>%(prog)s: fel: %(message)s
</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="35" />
        <source>argument %(argument_name)s: %(message)s</source>
        <translation>argument %(argument_name)s: %(message)s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="36" />
        <source>invalid choice: %(value)r (choose from %(choices)s)</source>
        <translation>ogiltigt val: %(value)r (välj bland %(choices)s)</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="37" />
        <source>invalid %(type)s value: %(value)r</source>
        <translation>ogiltigt %(type)s-värde: %(value)r</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="38" />
        <source>the following arguments are required: %s</source>
        <translation>följande argument krävs: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="39" />
        <source>unrecognized arguments: %s</source>
        <translation>okända argument: %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="40" />
        <source>expected one argument</source>
        <translation>ett argument förväntades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="41" />
        <source>expected at least one argument</source>
        <translation>minst ett argument förväntades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="42" />
        <source>expected at most one argument</source>
        <translation>högst ett argument förväntades</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="43" />
        <source>ambiguous option: %(option)s could match %(matches)s</source>
        <translation>tvetydig flagga: %(option)s kan avse %(matches)s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="44" />
        <source>not allowed with argument %s</source>
        <translation>inte tillåtet tillsammans med argumentet %s</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="45" />
        <source>one of the arguments %s is required</source>
        <translation>ett av argumenten %s krävs</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/cli.py" line="46" />
        <source>can't open '%(filename)s': %(error)s</source>
        <translation>kan inte öppna '%(filename)s': %(error)s</translation>
    </message>
</context>
<context>
    <name>availability</name>
    <message>
        <location filename="../../itsmdesk/views/availability/panel.py" line="229" />
        <source>Availability report (PDF)…</source>
        <translation>Tillgänglighetsrapport (PDF)…</translation>
    </message>
</context>
<context>
    <name>cmdb</name>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="52" />
        <source>line {line}, column {column}: {reason}</source>
        <translation>rad {line}, kolumn {column}: {reason}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="257" />
        <source>Export CIs as CSV</source>
        <translation>Exportera CI:n som CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="258" />
        <source>{n} CIs written to {path}</source>
        <translation>{n} CI:n skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="259" />
        <source>Export relations as CSV</source>
        <translation>Exportera relationer som CSV</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="260" />
        <source>{n} relations written to {path}</source>
        <translation>{n} relationer skrivna till {path}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/dialogs.py" line="273" />
        <source>Exporting…</source>
        <translation>Exporterar…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="116" />
        <source>Import CIs/relations from CSV…</source>
        <translation>Importera CI:n/relationer från CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="118" />
        <source>Export CIs as CSV…</source>
        <translation>Exportera CI:n som CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="120" />
        <source>Export relations as CSV…</source>
        <translation>Exportera relationer som CSV…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="122" />
        <source>CMDB baselines…</source>
        <translation>CMDB-baslinjer…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="124" />
        <source>Audit CMDB against a scan…</source>
        <translation>Granska CMDB mot en skanning…</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/cmdb/panel.py" line="126" />
        <source>New CI</source>
        <translation>Nytt CI</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <location filename="../../itsmdesk/i18n.py" line="81" />
        <source>Unexpected error: {error}</source>
        <translation>Oväntat fel: {error}</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/messages.py" line="21" />
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
        <source>'{value}' is outside the dates itsmdesk works with ({first} to {last})</source>
        <translation>'{value}' ligger utanför de datum itsmdesk arbetar med ({first} till {last})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="20" />
        <source>'{value}' is too large (at most {max})</source>
        <translation>'{value}' är för stort (högst {max})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="21" />
        <source>A CAB meeting needs a date and time</source>
        <translation>Ett CAB-möte måste ha datum och tid</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="22" />
        <source>A CI cannot relate to itself ({name})</source>
        <translation>Ett CI kan inte ha en relation till sig självt ({name})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="23" />
        <source>A CI named '{value}' already exists</source>
        <translation>Det finns redan ett CI med namnet '{value}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="24" />
        <source>A CI needs a class</source>
        <translation>Ett CI måste ha en klass</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="25" />
        <source>A PostgreSQL database is backed up with pg_dump, which is not installed here; install the PostgreSQL client tools, or run pg_dump -Fc -f FILE DBNAME on the server</source>
        <translation>En PostgreSQL-databas säkerhetskopieras med pg_dump, som inte är installerat här; installera PostgreSQL:s klientverktyg, eller kör pg_dump -Fc -f FIL DBNAMN på servern</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="26" />
        <source>A PostgreSQL database is restored with pg_restore from a backup pg_dump wrote: pg_restore --clean --if-exists -d DBNAME FILE</source>
        <translation>En PostgreSQL-databas återställs med pg_restore från en säkerhetskopia som pg_dump skrev: pg_restore --clean --if-exists -d DBNAMN FIL</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="27" />
        <source>A PostgreSQL role named {login} exists already; choose another login for the administrator</source>
        <translation>En PostgreSQL-roll med namnet {login} finns redan; välj en annan inloggning för administratören</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="28" />
        <source>A baseline named '{value}' already exists</source>
        <translation>Det finns redan en baslinje med namnet '{value}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="29" />
        <source>A baseline needs a name</source>
        <translation>En baslinje måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="30" />
        <source>A business calendar needs working hours on at least one day</source>
        <translation>En arbetstidskalender behöver arbetstider minst en dag</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="31" />
        <source>A calendar named {name} already exists</source>
        <translation>Det finns redan en kalender med namnet {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="32" />
        <source>A calendar needs a name</source>
        <translation>En kalender måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="33" />
        <source>A category is for incidents or for requests, not {kind}</source>
        <translation>En kategori gäller antingen incidenter eller tjänstebegäranden, inte {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="34" />
        <source>A category name is at most 200 characters</source>
        <translation>Ett kategorinamn får vara högst 200 tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="35" />
        <source>A category needs a name</source>
        <translation>En kategori måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="36" />
        <source>A diagnostic script is a list of steps</source>
        <translation>Ett diagnosskript är en lista med steg</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="39" />
        <source>A login is 1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter ('{login}' is not)</source>
        <translation>Ett inloggningsnamn är 1 till 63 gemena bokstäver, siffror, '.', '_' eller '-' och börjar med en bokstav ('{login}' är inte det)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="40" />
        <source>A mail becomes an incident or a request, not {value}</source>
        <translation>Ett brev blir en incident eller en beställning, inte {value}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="41" />
        <source>A password for the administrator {login} is needed</source>
        <translation>Ett lösenord för administratören {login} behövs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="42" />
        <source>A password needs at least {n} characters</source>
        <translation>Ett lösenord behöver minst {n} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="43" />
        <source>A phase cannot sit inside another phase</source>
        <translation>En fas kan inte ligga inuti en annan fas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="44" />
        <source>A planned window needs a start and an end</source>
        <translation>Ett planerat fönster måste ha en start och ett slut</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="45" />
        <source>A problem cannot go from {old} to {new}</source>
        <translation>Ett problem kan inte gå från {old} till {new}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="46" />
        <source>A queue filter needs a field, an operator and a value: {f}</source>
        <translation>Ett köfilter måste ha ett fält, en operator och ett värde: {f}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="47" />
        <source>A queue needs a name</source>
        <translation>En kö måste ha ett namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="48" />
        <source>A resolution code is required to resolve</source>
        <translation>En lösningskod krävs för att lösa</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="49" />
        <source>A role prefix is 1 to 31 lowercase letters, digits or '_', starting with a letter ('{prefix}' is not)</source>
        <translation>Ett rollprefix är 1 till 31 gemener, siffror eller '_' och börjar med en bokstav ('{prefix}' gör inte det)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="50" />
        <source>A scope is written teams=NAME,NAME and/or site=CODE (parts joined by ';'), not '{text}'.</source>
        <translation>Ett omfång skrivs teams=NAMN,NAMN och/eller site=KOD (delar åtskilda med ';'), inte '{text}'.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="51" />
        <source>A shared database is a PostgreSQL database (postgresql://...)</source>
        <translation>En delad databas är en PostgreSQL-databas (postgresql://...)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="52" />
        <source>A site code is 2 to 8 letters or digits (for example OSL), not '{code}'.</source>
        <translation>En platskod är 2 till 8 bokstäver eller siffror (till exempel OSL), inte '{code}'.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="53" />
        <source>A target is for a service (an SLA) or for a team (an OLA), not both</source>
        <translation>Ett mål gäller en tjänst (ett SLA) eller ett team (ett OLA), inte båda</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="54" />
        <source>A ticket cannot be its own parent</source>
        <translation>Ett ärende kan inte vara överordnat sig självt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="55" />
        <source>A work log note needs some text</source>
        <translation>En anteckning i arbetsloggen måste innehålla text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="56" />
        <source>A {role} may not move a change from {source} to {target}</source>
        <translation>En {role} får inte flytta en ändring från {source} till {target}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="57" />
        <source>A {type} change cannot go from {source} to {target} (allowed: {options})</source>
        <translation>En ändring av typen {type} kan inte gå från {source} till {target} (tillåtet: {options})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="58" />
        <source>An action needs a text</source>
        <translation>En åtgärd måste ha en text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="59" />
        <source>An announcement cannot end before it starts</source>
        <translation>Ett meddelande kan inte sluta innan det börjar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="60" />
        <source>An announcement needs a title</source>
        <translation>Ett meddelande måste ha en rubrik</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="61" />
        <source>An in-memory database cannot be backed up</source>
        <translation>En databas i minnet kan inte säkerhetskopieras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="62" />
        <source>Another import created the record {key} while this one was getting ready; nothing was imported. Run the import again: it will update what is there instead of doubling it.</source>
        <translation>En annan import skapade posten {key} medan den här förbereddes; inget importerades. Kör importen igen: den uppdaterar det som finns i stället för att dubblera det.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="63" />
        <source>Another {kind} record already has external key {key}; nothing was saved</source>
        <translation>En annan post av typen {kind} har redan den externa nyckeln {key}; ingenting sparades</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="64" />
        <source>Another {kind} record already has this external key; nothing was saved</source>
        <translation>En annan post av typen {kind} har redan den här externa nyckeln; ingenting sparades</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="65" />
        <source>Answer {m} of step {n} is longer than {max} characters</source>
        <translation>Svar {m} i steg {n} är längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="66" />
        <source>Answer {m} of step {n} needs a label</source>
        <translation>Svar {m} i steg {n} måste ha en text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="67" />
        <source>Approve</source>
        <translation>Godkänn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="68" />
        <source>Approve (pre-approved)</source>
        <translation>Godkänn (förgodkänd)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="69" />
        <source>Articles link to CIs, known errors and incidents, not {kind}</source>
        <translation>Artiklar kopplas till CI:n, kända fel och incidenter, inte {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="70" />
        <source>Assess</source>
        <translation>Bedöm</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="71" />
        <source>Assignee</source>
        <translation>Handläggare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="72" />
        <source>Attribute {attr} is required for class {cls}</source>
        <translation>Attributet {attr} är obligatoriskt för klassen {cls}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="73" />
        <source>Attribute {attr}: '{value}' is not a valid {type}</source>
        <translation>Attributet {attr}: '{value}' är inte en giltig {type}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="74" />
        <source>Attribute {attr}: '{value}' is not one of: {allowed}</source>
        <translation>Attributet {attr}: '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="75" />
        <source>Availability is computed by ci or service, not {by}</source>
        <translation>Tillgänglighet beräknas per ci eller service, inte {by}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="76" />
        <source>Backed out</source>
        <translation>Återställd</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="77" />
        <source>Backup to {path} failed: {reason}</source>
        <translation>Säkerhetskopiering till {path} misslyckades: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="79" />
        <source>Bad database URL '{url}': a file or folder name may be at most {most} bytes long, the whole path {path_most}</source>
        <translation>Felaktig databas-URL '{url}': ett fil- eller mappnamn får vara högst {most} byte långt, hela sökvägen {path_most}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="81" />
        <source>Bad database URL '{url}': the file name holds a NUL character</source>
        <translation>Felaktig databas-URL '{url}': filnamnet innehåller ett NUL-tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="82" />
        <source>Bad database URL '{url}': write postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation>Felaktig databas-URL '{url}': skriv postgresql://USER:PASSWORD@HOST:PORT/DBNAME</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="83" />
        <source>Bad database URL '{url}': write sqlite:///relative.db or sqlite:////absolute.db</source>
        <translation>Felaktig databas-URL '{url}': skriv sqlite:///relative.db eller sqlite:////absolute.db</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="84" />
        <source>Bad database URL '{url}': write the characters / # ? @ of a password percent-encoded (/ as %2F, # as %23, ? as %3F, @ as %40)</source>
        <translation>Felaktig databas-URL '{url}': skriv tecknen / # ? @ i ett lösenord procentkodade (/ som %2F, # som %23, ? som %3F, @ som %40)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="85" />
        <source>Bad port in database URL '{url}'</source>
        <translation>Felaktig port i databas-URL:en '{url}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="87" />
        <source>Both an incident and a request category are named {name}; say which kind</source>
        <translation>Både en incidentkategori och en kategori för tjänstebegäranden heter {name}; ange vilken typ</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="88" />
        <source>CAB member</source>
        <translation>CAB-ledamot</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="89" />
        <source>CI</source>
        <translation>CI</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="90" />
        <source>CMDB owner</source>
        <translation>CMDB-ägare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="91" />
        <source>Caller</source>
        <translation>Anmälare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="92" />
        <source>Cannot create the folder {path}: {reason}</source>
        <translation>Kan inte skapa mappen {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="93" />
        <source>Cannot create {path}: {reason}</source>
        <translation>Kan inte skapa {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="94" />
        <source>Cannot import {kind} with a mapping</source>
        <translation>Kan inte importera {kind} med en mappning</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="95" />
        <source>Cannot read mapping {path}: {reason}</source>
        <translation>Kan inte läsa mappningen {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="96" />
        <source>Cannot read the rules from {path}: {reason}</source>
        <translation>Kan inte läsa reglerna från {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="97" />
        <source>Cannot read {path}: {error}</source>
        <translation>Kan inte läsa {path}: {error}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="98" />
        <source>Cannot read {path}: {reason}</source>
        <translation>Kan inte läsa {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="99" />
        <source>Cannot restore over {path}: {reason}; nothing was replaced</source>
        <translation>Kan inte återställa över {path}: {reason}; ingenting ersattes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="100" />
        <source>Cannot sort a queue by {field}</source>
        <translation>Kan inte sortera en kö efter {field}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="101" />
        <source>Cannot sort a queue by {name}</source>
        <translation>Kan inte sortera en kö efter {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="102" />
        <source>Cannot use the PostgreSQL database {db} at {host}:{port}: {reason}</source>
        <translation>Kan inte använda PostgreSQL-databasen {db} på {host}:{port}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="103" />
        <source>Cannot use {path}: {reason}</source>
        <translation>Kan inte använda {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="104" />
        <source>Cannot write the database file {path}</source>
        <translation>Kan inte skriva databasfilen {path}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="105" />
        <source>Cannot write the database file {path}: {reason}</source>
        <translation>Kan inte skriva databasfilen {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="106" />
        <source>Category</source>
        <translation>Kategori</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="107" />
        <source>Channel</source>
        <translation>Kanal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="108" />
        <source>Checking a shared database needs the superuser's connection (the one setup-shared used): {login} sees only the rows its roles show</source>
        <translation>Att kontrollera en delad databas kräver superanvändarens anslutning (den som setup-shared använde): {login} ser bara de rader dess roller visar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="109" />
        <source>Class {cls} has no attribute '{attr}'</source>
        <translation>Klassen {cls} har inget attribut '{attr}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="110" />
        <source>Close</source>
        <translation>Stäng</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="111" />
        <source>Connection security must be one of {choices}, not {value}</source>
        <translation>Anslutningssäkerheten måste vara en av {choices}, inte {value}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="112" />
        <source>Decision '{value}' is not one of: {allowed}</source>
        <translation>Beslutet '{value}' är inte ett av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="113" />
        <source>Defer / reassess</source>
        <translation>Skjut upp / bedöm på nytt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="114" />
        <source>Describe the solution to resolve</source>
        <translation>Beskriv lösningen för att kunna lösa</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="115" />
        <source>Due</source>
        <translation>Förfaller</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="116" />
        <source>Export format must be text or html, not {fmt}</source>
        <translation>Exportformatet måste vara text eller html, inte {fmt}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="117" />
        <source>Failed</source>
        <translation>Misslyckad</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="118" />
        <source>Fetch mail every 0 to 1440 minutes (0: only on demand), not {value}</source>
        <translation>Hämta e-post var 0 till 1440 minut (0: bara på begäran), inte {value}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="119" />
        <source>Field(s) {fields} cannot be bulk edited</source>
        <translation>Fälten {fields} kan inte massredigeras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="120" />
        <source>Folding an event log needs the column with each row's time</source>
        <translation>För att slå samman en händelselogg krävs kolumnen med varje rads tidpunkt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="121" />
        <source>Folding an event log needs the key column</source>
        <translation>För att slå samman en händelselogg krävs nyckelkolumnen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="122" />
        <source>Group by '{value}' is not one of: {allowed}</source>
        <translation>Gruppering efter '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="123" />
        <source>Impact</source>
        <translation>Påverkan</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="124" />
        <source>Implemented</source>
        <translation>Genomförd</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="125" />
        <source>Import cancelled; nothing was written.</source>
        <translation>Importen avbröts; ingenting skrevs.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="126" />
        <source>Importing {kind} needs a mapping: add --map MAPPING.toml or the name of a ready one (itsmdesk mappings lists them)</source>
        <oldsource>Importing {kind} needs a mapping: add --map MAPPING.toml (ready ones are in resources/import-maps/)</oldsource>
        <translation>Import av {kind} kräver en mappning: lägg till --map MAPPNING.toml eller namnet på en färdig (itsmdesk mappings listar dem)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="127" />
        <source>Kind</source>
        <translation>Typ</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="128" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks comma-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara kommaavgränsad; ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="129" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks pipe-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara avgränsad med lodstreck (|); ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="130" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks semicolon-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara semikolonavgränsad; ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="131" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}). The file looks tab-separated; set delimiter in [source].</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}). Filen ser ut att vara tabbavgränsad; ange delimiter i [source].</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="132" />
        <source>Line 1: column(s) {missing} named in the mapping are not in the file's header ({count} columns: {shown}).{hint}</source>
        <translation>Rad 1: kolumnerna {missing} som anges i mappningen finns inte i filens rubrikrad ({count} kolumner: {shown}).{hint}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="133" />
        <source>Line {line}: the file is not {encoding} (byte 0x{byte:02x}); set encoding = "{guess}" or "auto" in the mapping's [source]</source>
        <translation>Rad {line}: filen är inte {encoding} (byte 0x{byte:02x}); ange encoding = "{guess}" eller "auto" under [source] i mappningen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="134" />
        <source>Mail rule {number} is not a rule (match, value, kind...)</source>
        <translation>E-postregel {number} är ingen regel (match, value, kind...)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="135" />
        <source>Mail rule {number} needs a value to match</source>
        <translation>E-postregel {number} behöver ett värde att matcha</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="136" />
        <source>Mail rule {number}: a mail becomes an incident or a request, not {value}</source>
        <translation>E-postregel {number}: ett brev blir en incident eller en beställning, inte {value}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="137" />
        <source>Mail rule {number}: match by one of {choices}, not {value}</source>
        <translation>E-postregel {number}: matcha på en av {choices}, inte {value}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="138" />
        <source>Mail rule: there is no team {name}</source>
        <translation>E-postregel: det finns inget team {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="139" />
        <source>Mail rule: there is no {kind} category {name}</source>
        <translation>E-postregel: det finns ingen kategori {name} för {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="140" />
        <source>Map at least one column to a field</source>
        <translation>Mappa minst en kolumn till ett fält</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="141" />
        <source>Mapping {path} is for {mapped}, not {kind}</source>
        <translation>Mappningen {path} gäller {mapped}, inte {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="142" />
        <source>Mapping {path} is not valid TOML: {reason}</source>
        <translation>Mappningen {path} är inte giltig TOML: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="145" />
        <source>Mapping {path}: [fields] {field}: an event log ([events] fold = true) cannot fill it; import the links from a file with one row per record and linked row</source>
        <translation>Mappning {path}: [fields] {field}: en händelselogg ([events] fold = true) kan inte fylla det; importera länkarna från en fil med en rad per post och länkad rad</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="146" />
        <source>Mapping {path}: [fields] {field}: {reason}</source>
        <translation>Mappningen {path}: [fields] {field}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="151" />
        <source>Mapping {path}: importing {kind} needs key = "COLUMN": the source's id, kept as external key so that a re-import updates instead of duplicating</source>
        <translation>Mappningen {path}: import av {kind} kräver key = "COLUMN": källans id, som sparas som extern nyckel så att en ny import uppdaterar i stället för att skapa dubbletter</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="152" />
        <source>Mapping {path}: {field} is not a field of {kind} (fields: {known})</source>
        <translation>Mappningen {path}: {field} är inte ett fält i {kind} (fält: {known})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="153" />
        <source>Mapping {path}: {where}: {reason}</source>
        <translation>Mappningen {path}: {where}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="154" />
        <source>Meeting status '{value}' is not one of: planned, held, cancelled</source>
        <translation>Mötesstatusen '{value}' är inte något av: planned, held, cancelled</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="155" />
        <source>Name the folder mail is taken from (usually INBOX)</source>
        <translation>Ange mappen som e-posten hämtas från (oftast INBOX)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="156" />
        <source>No CAB action {id}</source>
        <translation>Ingen CAB-åtgärd {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="157" />
        <source>No CAB meeting {ref}</source>
        <translation>Inget CAB-möte {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="158" />
        <source>No CI is named '{name}'</source>
        <translation>Inget CI heter '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="159" />
        <source>No CI named '{name}'</source>
        <translation>Inget CI med namnet '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="160" />
        <source>No IMAP mailbox is set up: fill in the mail settings first</source>
        <translation>Ingen IMAP-brevlåda är inställd: fyll i e-postinställningarna först</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="161" />
        <source>No SMTP server is set: set {key} first</source>
        <translation>Ingen SMTP-server är inställd: ställ in {key} först</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="162" />
        <source>No account with login {login}</source>
        <translation>Inget konto med inloggningsnamnet {login}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="163" />
        <source>No announcement with id {id}</source>
        <translation>Inget meddelande med id {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="164" />
        <source>No baseline named '{name}'</source>
        <translation>Ingen baslinje med namnet '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="165" />
        <source>No business calendar {name}</source>
        <translation>Ingen arbetstidskalender {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="166" />
        <source>No business service named {name}</source>
        <translation>Ingen verksamhetstjänst heter {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="167" />
        <source>No category named {name}</source>
        <translation>Det finns ingen kategori som heter {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="168" />
        <source>No change with reference '{ref}'</source>
        <translation>Ingen ändring med referensen '{ref}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="169" />
        <source>No change {ref}</source>
        <translation>Ingen ändring {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="170" />
        <source>No default business calendar: create one named Default or pass --calendar NAME</source>
        <translation>Ingen standardkalender för arbetstid: skapa en med namnet Default eller ange --calendar NAME</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="171" />
        <source>No incident or request {ref}</source>
        <translation>Ingen incident eller begäran {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="172" />
        <source>No incident {ref}</source>
        <translation>Ingen incident {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="173" />
        <source>No new password for {login}: set ITSMDESK_NEW_PASSWORD or run the command in a terminal</source>
        <translation>Inget nytt lösenord för {login}: sätt ITSMDESK_NEW_PASSWORD eller kör kommandot i en terminal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="174" />
        <source>No password for {login}: set ITSMDESK_PASSWORD or run the command in a terminal</source>
        <translation>Inget lösenord för {login}: sätt ITSMDESK_PASSWORD eller kör kommandot i en terminal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="175" />
        <source>No password for {who}: set ITSMDESK_PASSWORD, remember it in the keyring (File &gt; Connect in the desktop app), or run the command in a terminal</source>
        <translation>Inget lösenord för {who}: sätt ITSMDESK_PASSWORD, spara det i nyckelringen (Arkiv &gt; Anslut i skrivbordsprogrammet) eller kör kommandot i en terminal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="176" />
        <source>No password is known for the mailbox {user}: enter it in the mail settings (it is kept in the keyring)</source>
        <translation>Inget lösenord är känt för brevlådan {user}: skriv in det i e-postinställningarna (det sparas i nyckelringen)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="177" />
        <source>No person with the login, e-mail address or name {text}</source>
        <translation>Ingen person har inloggningen, e-postadressen eller namnet {text}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="178" />
        <source>No problem or known error with id {id}</source>
        <translation>Inget problem eller känt fel med id {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="179" />
        <source>No problem {ref}</source>
        <translation>Inget problem {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="180" />
        <source>No release with reference '{ref}'</source>
        <translation>Ingen release med referensen '{ref}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="181" />
        <source>No site with code {code}</source>
        <translation>Ingen plats med koden {code}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="182" />
        <source>No site with id {id}</source>
        <translation>Ingen plats med id {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="183" />
        <source>No step '{step}' in this release</source>
        <translation>Inget steg '{step}' i den här releasen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="184" />
        <source>No such file: {path}</source>
        <translation>Filen finns inte: {path}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="185" />
        <source>No team {name}</source>
        <translation>Inget team {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="186" />
        <source>No {kind} with id {id}</source>
        <translation>Ingen {kind} med id {id}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="187" />
        <source>No {kind} {ref}</source>
        <translation>Ingen {kind} {ref}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="188" />
        <source>Nobody named {name} is in the directory</source>
        <translation>Ingen som heter {name} finns i katalogen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="189" />
        <source>Nothing has the reference or name '{ref}'</source>
        <translation>Inget har referensen eller namnet '{ref}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="190" />
        <source>Only its owner may change the private saved queue {name}.</source>
        <translation>Bara ägaren får ändra den privata sparade kön {name}.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="191" />
        <source>Opened</source>
        <translation>Öppnad</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="192" />
        <source>Other people were changing the same records at the same moment and the database could not put this change in order ({reason}); nothing was changed, try again.</source>
        <translation>Andra ändrade samma poster i samma ögonblick och databasen kunde inte ordna in den här ändringen ({reason}); ingenting ändrades, försök igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="193" />
        <source>Overriding the risk needs a reason</source>
        <translation>Att åsidosätta risken kräver en orsak</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="194" />
        <source>PIR outcome '{value}' is not one of: {allowed}</source>
        <translation>PIR-utfallet '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="195" />
        <source>Page size '{value}' is not one of: A4, Letter</source>
        <translation>Sidstorleken '{value}' är inte något av: A4, Letter</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="196" />
        <source>Pick at least one value for the filter on {name}</source>
        <translation>Välj minst ett värde för filtret på {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="197" />
        <source>PostgreSQL refused to change the login {login}: {reason}</source>
        <translation>PostgreSQL vägrade ändra inloggningen {login}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="198" />
        <source>Priority</source>
        <translation>Prioritet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="199" />
        <source>Propagation '{value}' is not one of: {allowed}</source>
        <translation>Spridningen '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="200" />
        <source>Record the permanent solution (or a workaround) before resolving the problem</source>
        <translation>Registrera den permanenta lösningen (eller en tillfällig lösning) innan problemet löses</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="201" />
        <source>Record the root cause before marking it known</source>
        <translation>Registrera grundorsaken innan den markeras som känd</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="202" />
        <source>Recording '{decision}' for {ref} against the votes (which say '{outcome}') needs a reason</source>
        <translation>Att registrera '{decision}' för {ref} mot rösterna (som säger '{outcome}') kräver en orsak</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="203" />
        <source>Reference</source>
        <translation>Referens</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="204" />
        <source>Reject</source>
        <translation>Avslå</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="205" />
        <source>Relation type '{value}' is not one of: {allowed}</source>
        <translation>Relationstypen '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="206" />
        <source>Resolved</source>
        <translation>Löst</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="207" />
        <source>Return to requester</source>
        <translation>Returnera till beställaren</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="208" />
        <source>Rework</source>
        <translation>Omarbeta</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="209" />
        <source>Risk level '{value}' is not one of: {allowed}</source>
        <translation>Risknivån '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="210" />
        <source>SLA</source>
        <translation>SLA</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="211" />
        <source>SLA targets must be positive minutes</source>
        <translation>SLA-mål måste vara ett positivt antal minuter</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="212" />
        <source>SLA: {n} more tickets like these</source>
        <translation>SLA: {n} ärenden till som dessa</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="213" />
        <source>SLA: {reason}</source>
        <translation>SLA: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="214" />
        <source>SQLite error on {path}: {reason}</source>
        <translation>SQLite-fel i {path}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="215" />
        <source>Say why the ticket goes to another team</source>
        <translation>Ange varför ärendet går till ett annat team</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="216" />
        <source>Say why the ticket is escalated</source>
        <translation>Ange varför ärendet eskaleras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="217" />
        <source>Say why the ticket is pending</source>
        <translation>Ange varför ärendet är väntande</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="218" />
        <source>Schedule</source>
        <translation>Schemalägg</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="219" />
        <source>Select the incidents to link first</source>
        <translation>Markera först de incidenter som ska kopplas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="220" />
        <source>Select the tickets to change</source>
        <translation>Markera de ärenden som ska ändras</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="221" />
        <source>Send to CAB</source>
        <translation>Skicka till CAB</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="222" />
        <source>Send to ECAB</source>
        <translation>Skicka till ECAB</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="223" />
        <source>Setting up a shared database needs a superuser, or a role with CREATEROLE that owns the database ({login} is neither)</source>
        <translation>Att sätta upp en delad databas kräver en superanvändare eller en roll med CREATEROLE som äger databasen ({login} är ingetdera)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="224" />
        <source>Show at least one column</source>
        <translation>Visa minst en kolumn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="225" />
        <source>Some of the affected CIs are no longer in the CMDB</source>
        <translation>Några av de berörda CI:na finns inte längre i CMDB</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="226" />
        <source>Standard changes are pre-approved and do not go before the CAB: {refs}</source>
        <translation>Standardändringar är förgodkända och behandlas inte av CAB: {refs}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="227" />
        <source>Start implementing</source>
        <translation>Påbörja genomförande</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="228" />
        <source>Start review (PIR)</source>
        <translation>Påbörja granskning (PIR)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="229" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="230" />
        <source>Status '{value}' is not one of: {allowed}</source>
        <translation>Statusen '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="231" />
        <source>Step '{name}' cannot depend on itself</source>
        <translation>Steget '{name}' kan inte bero på sig självt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="232" />
        <source>Step '{name}' cannot move from {old} to {new}</source>
        <translation>Steget '{name}' kan inte gå från {old} till {new}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="233" />
        <source>Step '{name}' waits for: {steps}</source>
        <translation>Steget '{name}' väntar på: {steps}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="234" />
        <source>Step {n} is not a question with answers</source>
        <translation>Steg {n} är inte en fråga med svar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="235" />
        <source>Step {n} needs a question</source>
        <translation>Steg {n} måste ha en fråga</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="236" />
        <source>Step {n} needs at least one answer</source>
        <translation>Steg {n} måste ha minst ett svar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="237" />
        <source>Step {n}: there is no team {team} to route to</source>
        <translation>Steg {n}: det finns inget team {team} att skicka ärendet till</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="238" />
        <source>Steps of different releases cannot depend on each other</source>
        <translation>Steg i olika releaser kan inte bero på varandra</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="239" />
        <source>Submit</source>
        <translation>Skicka in</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="240" />
        <source>Take 'hub' or 'replica', not '{take}'.</source>
        <translation>Välj 'hub' eller 'replica', inte '{take}'.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="241" />
        <source>Team</source>
        <translation>Team</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="242" />
        <source>Template {name} is not active</source>
        <translation>Mallen {name} är inte aktiv</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="244" />
        <source>The SLA target P{priority} was removed by someone else; nothing was saved.</source>
        <translation>SLA-målet P{priority} togs bort av någon annan; inget sparades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="245" />
        <source>The SMTP server {server} did not accept the test: {reason}</source>
        <translation>SMTP-servern {server} godtog inte testet: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="246" />
        <source>The business calendar has no working hours</source>
        <translation>Arbetstidskalendern har inga arbetstider</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="247" />
        <source>The business calendar {name} has no working hours</source>
        <translation>Arbetstidskalendern {name} har inga arbetstider</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="248" />
        <source>The conflict on {record} ({field}) was decided already, by {who} at {when} UTC.</source>
        <translation>Konflikten på {record} ({field}) är redan avgjord, av {who} {when} UTC.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="249" />
        <source>The copy of the hub is not consistent ({detail}); the replica was not made.</source>
        <translation>Kopian av navet är inte konsekvent ({detail}); repliken skapades inte.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="250" />
        <source>The database cannot be reached ({reason}).</source>
        <translation>Databasen går inte att nå ({reason}).</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="251" />
        <source>The database file {path} is busy: another connection of this program has been writing since {since}; nothing was changed, try again.</source>
        <translation>Databasfilen {path} är upptagen: en annan anslutning i det här programmet har skrivit sedan {since}; ingenting ändrades, försök igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="252" />
        <source>The database file {path} is busy: another program is writing to it ({reason}); nothing was changed, try again.</source>
        <translation>Databasfilen {path} är upptagen: ett annat program skriver i den ({reason}); ingenting ändrades, försök igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="253" />
        <source>The database file {path} is busy: process {pid} ({program} by {user} on {host}) has been writing since {since}; nothing was changed, try again.</source>
        <translation>Databasfilen {path} är upptagen: process {pid} ({program} av {user} på {host}) har skrivit sedan {since}; ingenting ändrades, försök igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="254" />
        <source>The database is busy with another writer ({reason}); nothing was saved, try again.</source>
        <translation>Databasen är upptagen med en annan skrivning ({reason}); ingenting sparades, försök igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="255" />
        <source>The diagnostic script routes to an unknown team: {team}</source>
        <translation>Diagnosskriptet skickar ärenden till ett okänt team: {team}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="256" />
        <source>The escalation share must be 1-100 %, not {pct}</source>
        <translation>Eskaleringsandelen måste vara 1–100 %, inte {pct}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="257" />
        <source>The file is empty (no header line)</source>
        <translation>Filen är tom (ingen rubrikrad)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="259" />
        <source>The filter on {name} needs a value</source>
        <translation>Filtret på {name} måste ha ett värde</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="260" />
        <source>The filters cannot be counted: {error}</source>
        <translation>Det går inte att räkna träffarna för filtren: {error}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="261" />
        <source>The first account must be an administrator's</source>
        <translation>Det första kontot måste vara en administratörs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="262" />
        <source>The folder {folder} does not exist; nothing was written.</source>
        <translation>Mappen {folder} finns inte; inget skrevs.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="263" />
        <source>The hub refused this sync: {who} may not write {table} there ({detail}). Nothing of it was applied; the site's changes wait on the replica. Someone whose roles allow that write on the hub must run the sync.</source>
        <translation>Navet vägrade synkroniseringen: {who} får inte skriva {table} där ({detail}). Inget av den tillämpades; platsens ändringar väntar på repliken. Någon vars roller tillåter den skrivningen på navet måste köra synkroniseringen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="264" />
        <source>The hub refused this sync: {who} may not write {table} there ({detail}). Nothing of it was applied; the site's changes wait on the replica. Someone with one of the roles {roles} on the hub must run the sync.</source>
        <translation>Navet vägrade synkroniseringen: {who} får inte skriva {table} där ({detail}). Inget av den tillämpades; platsens ändringar väntar på repliken. Någon med en av rollerna {roles} på navet måste köra synkroniseringen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="265" />
        <source>The hub {hub} is on schema version {found}, older than this itsmdesk ({ours}): upgrade the hub first.</source>
        <translation>Navet {hub} har schemaversion {found}, äldre än den här itsmdesk ({ours}): uppgradera navet först.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="266" />
        <source>The import would break a rule of the database ({reason}); nothing was imported. Run it with --dry-run to see the rows involved.</source>
        <translation>Importen skulle bryta mot en regel i databasen ({reason}); inget importerades. Kör den med --dry-run för att se vilka rader det gäller.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="267" />
        <source>The length given to changes without an end must be 0-{most} minutes, not {minutes}; nothing was changed.</source>
        <translation>Längden för ändringar utan slut måste vara 0–{most} minuter, inte {minutes}; inget ändrades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="268" />
        <source>The login {login} is not a person of this database</source>
        <translation>Inloggningen {login} hör inte till någon person i den här databasen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="269" />
        <source>The mail server {host}:{port} could not be used: {reason}</source>
        <translation>E-postservern {host}:{port} kunde inte användas: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="270" />
        <source>The mailbox has no folder {folder}</source>
        <translation>Brevlådan har ingen mapp {folder}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="271" />
        <source>The old password is wrong.</source>
        <translation>Det gamla lösenordet är fel.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="272" />
        <source>The period must end after it starts ({start} .. {end})</source>
        <translation>Perioden måste sluta efter att den börjar ({start} .. {end})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="273" />
        <source>The period must start before it ends ({start} is not before {end}).</source>
        <translation>Perioden måste börja innan den slutar ({start} är inte före {end}).</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="274" />
        <source>The port must be between 1 and 65535 (0 for the usual one), not {value}</source>
        <translation>Porten måste vara mellan 1 och 65535 (0 för den vanliga), inte {value}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="275" />
        <source>The priority matrix needs a priority 1-5 for impact,urgency {key}</source>
        <translation>Prioritetsmatrisen behöver en prioritet 1–5 för påverkan,brådska {key}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="276" />
        <source>The question of step {n} is longer than {max} characters</source>
        <translation>Frågan i steg {n} är längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="277" />
        <source>The replica kept changing during the sync; what was sent is safe on the hub. Sync again.</source>
        <translation>Repliken fortsatte att ändras under synkroniseringen; det som skickades är säkert på navet. Synkronisera igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="278" />
        <source>The report period must end after it starts</source>
        <translation>Rapportperioden måste sluta efter att den börjar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="279" />
        <source>The response target cannot be longer than the resolution target</source>
        <translation>Svarstidsmålet kan inte vara längre än lösningstidsmålet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="280" />
        <source>The rules file must hold a JSON list of rules</source>
        <translation>Regelfilen måste innehålla en JSON-lista med regler</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="281" />
        <source>The server name {value} contains spaces</source>
        <translation>Servernamnet {value} innehåller mellanslag</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="282" />
        <source>The setting {key} is {value}; use a port number such as 587</source>
        <translation>Inställningen {key} är {value}; använd ett portnummer, till exempel 587</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="283" />
        <source>The setting {key} is {value}; use starttls, ssl or none</source>
        <translation>Inställningen {key} är {value}; använd starttls, ssl eller none</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="284" />
        <source>The setting {key} was changed by someone else after you opened it (your version {yours}, now {theirs}); nothing was saved.</source>
        <translation>Inställningen {key} ändrades av någon annan efter att du öppnade den (din version {yours}, nu {theirs}); ingenting sparades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="285" />
        <source>The shared database refused this for your account ({reason}); nothing was changed. Ask an administrator for the role it needs.</source>
        <translation>Den delade databasen nekade ditt konto detta ({reason}); inget ändrades. Be en administratör om rollen som behövs.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="286" />
        <source>The two passwords differ</source>
        <translation>De två lösenorden skiljer sig åt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="287" />
        <source>The window is still reading from the database; nothing was changed, try again.</source>
        <translation>Fönstret läser fortfarande från databasen; ingenting ändrades, försök igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="288" />
        <source>There is already a file at {path}; a replica is made in a new file.</source>
        <translation>Det finns redan en fil på {path}; en replik skapas i en ny fil.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="289" />
        <source>There is already a {kind} category named {name}</source>
        <translation>Det finns redan en kategori av typen {kind} som heter {name}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="290" />
        <source>There is no database at {path}.</source>
        <translation>Det finns ingen databas på {path}.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="291" />
        <source>There is no database at {path}. Create one with 'itsmdesk --db {url} init', or try the demo with 'itsmdesk --demo ...'.</source>
        <translation>Det finns ingen databas i {path}. Skapa en med 'itsmdesk --db {url} init', eller prova demon med 'itsmdesk --demo ...'.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="292" />
        <source>There is no site with the code '{code}' on the hub.</source>
        <translation>Det finns ingen plats med koden '{code}' på navet.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="293" />
        <source>There is no sync conflict {id} in this database; list them with 'itsmdesk replica conflicts'.</source>
        <translation>Det finns ingen synkroniseringskonflikt {id} i den här databasen; lista dem med 'itsmdesk replica conflicts'.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="294" />
        <source>There is no sync file at {path}.</source>
        <translation>Det finns ingen synkfil på {path}.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="295" />
        <source>There is no team named '{name}' on the hub; the scope names teams by their exact name.</source>
        <translation>Det finns inget team som heter '{name}' på navet; omfånget anger team med deras exakta namn.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="296" />
        <source>This computer has no keyring to keep the SMTP password in; set ITSMDESK_SMTP_PASSWORD where the mail is sent from. The other settings were saved.</source>
        <translation>Den här datorn har ingen nyckelring att spara SMTP-lösenordet i; sätt ITSMDESK_SMTP_PASSWORD där e-posten skickas ifrån. De andra inställningarna sparades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="297" />
        <source>This database has accounts already: an administrator adds people.</source>
        <translation>Databasen har redan konton: en administratör lägger till personer.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="298" />
        <source>This database has accounts: sign in to change anything (--user LOGIN or ITSMDESK_USER; the password from ITSMDESK_PASSWORD or asked for).</source>
        <translation>Databasen har konton: logga in för att ändra något (--user INLOGGNING eller ITSMDESK_USER; lösenordet från ITSMDESK_PASSWORD eller efterfrågat).</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="299" />
        <source>This database has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk. The database was not changed.</source>
        <translation>Den här databasen har schemaversion {found}, som är nyare än vad den här versionen av itsmdesk förstår ({ours}); uppgradera itsmdesk. Databasen har inte ändrats.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="300" />
        <source>This database is a replica, not the hub: import a site's bundle at the hub ('itsmdesk --db HUB sync import-bundle FILE'). Nothing was applied.</source>
        <translation>Den här databasen är en replik, inte navet: importera en plats paket på navet ('itsmdesk --db HUB sync import-bundle FIL'). Inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="301" />
        <source>This database is not a replica: make one with 'itsmdesk replica create --from URL --site CODE FILE.db'.</source>
        <translation>Den här databasen är inte en replik: skapa en med 'itsmdesk replica create --from URL --site CODE FILE.db'.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="302" />
        <source>This is not a shared database set up with 'itsmdesk admin setup-shared'</source>
        <translation>Det här är ingen delad databas som satts upp med 'itsmdesk admin setup-shared'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="303" />
        <source>This mail is no longer waiting in the unmatched queue (it is {status}); nothing was changed.</source>
        <translation>Det här brevet väntar inte längre i kön med omatchad e-post (det är {status}); ingenting ändrades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="304" />
        <source>This replica has no key to sign a carried file with (it was made by an older itsmdesk): sync over the network once, or make the replica again.</source>
        <translation>Den här repliken har ingen nyckel att signera en buren fil med (den skapades av en äldre itsmdesk): synka över nätverket en gång, eller skapa repliken på nytt.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="305" />
        <source>This replica is on schema version {theirs} and the hub on {ours}: the hub must be upgraded first. Nothing was sent.</source>
        <translation>Den här repliken har schemaversion {theirs} och navet {ours}: navet måste uppgraderas först. Ingenting skickades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="306" />
        <source>This replica is on schema version {theirs} and the hub on {ours}: upgrade itsmdesk here and open the replica once (it is upgraded), then sync again. Nothing was sent.</source>
        <translation>Den här repliken har schemaversion {theirs} och navet {ours}: uppgradera itsmdesk här och öppna repliken en gång (den uppgraderas), synkronisera sedan igen. Ingenting skickades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="307" />
        <source>This replica was made from another database than {hub}; nothing was sent.</source>
        <translation>Den här repliken skapades från en annan databas än {hub}; ingenting skickades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="308" />
        <source>Title</source>
        <translation>Rubrik</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="309" />
        <source>Trends are counted by ci, service, category or team, not {by}</source>
        <translation>Trender räknas per ci, service, category eller team, inte {by}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="310" />
        <source>Unknown CI class '{value}'</source>
        <translation>Okänd CI-klass '{value}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="311" />
        <source>Unknown CSV kind '{value}' (use cis or relations)</source>
        <translation>Okänd CSV-typ '{value}' (använd cis eller relations)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="312" />
        <source>Unknown announcement kind {kind}</source>
        <translation>Okänd meddelandetyp {kind}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="313" />
        <source>Unknown audience {audience}: use everyone or it_staff</source>
        <translation>Okänd målgrupp {audience}: använd everyone eller it_staff</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="314" />
        <source>Unknown change status {status}; the statuses are {known}.</source>
        <translation>Okänd ändringsstatus {status}; statusarna är {known}.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="315" />
        <source>Unknown field(s) for {kind}: {fields}</source>
        <translation>Okända fält för {kind}: {fields}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="316" />
        <source>Unknown filter operator {op}</source>
        <translation>Okänd filteroperator {op}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="317" />
        <source>Unknown queue column(s): {cols}</source>
        <translation>Okända kökolumner: {cols}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="318" />
        <source>Unknown queue {key}</source>
        <translation>Okänd kö {key}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="319" />
        <source>Unknown record kind '{kind}'; choose one of: {kinds}</source>
        <translation>Okänd posttyp '{kind}'; välj något av: {kinds}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="320" />
        <source>Unknown role(s): {roles} (roles: {known})</source>
        <translation>Okänd(a) roll(er): {roles} (roller: {known})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="321" />
        <source>Unknown root cause analysis note(s): {names}</source>
        <translation>Okända anteckningar i grundorsaksanalysen: {names}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="322" />
        <source>Unknown time zone {tz}</source>
        <translation>Okänd tidszon {tz}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="323" />
        <source>Unknown weekday in {text}</source>
        <translation>Okänd veckodag i {text}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="324" />
        <source>Unschedule</source>
        <translation>Ta bort schemaläggning</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="325" />
        <source>Unsupported database URL '{url}': use sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation>Databas-URL:en '{url}' stöds inte: använd sqlite:///FILE eller postgresql://USER:PASSWORD@HOST:PORT/DBNAME</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="326" />
        <source>Updated</source>
        <translation>Uppdaterad</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="327" />
        <source>Urgency</source>
        <translation>Brådska</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="328" />
        <source>Vote '{value}' is not one of: {allowed}</source>
        <translation>Rösten '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="329" />
        <source>Wave '{name}' has no site</source>
        <translation>Vågen '{name}' har ingen plats</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="330" />
        <source>Wave '{name}' is already deployed</source>
        <translation>Vågen '{name}' är redan driftsatt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="331" />
        <source>Weekday must be 0 (Monday) to 6 (Sunday), not {day}</source>
        <translation>Veckodagen måste vara 0 (måndag) till 6 (söndag), inte {day}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="332" />
        <source>Working hours {span} are listed after a later span; list each day's hours in order</source>
        <translation>Arbetstiderna {span} står efter ett senare tidsspann; ange varje dags arbetstider i ordning</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="333" />
        <source>Working hours {span} are not HH:MM-HH:MM</source>
        <translation>Arbetstiden {span} har inte formatet HH:MM-HH:MM</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="334" />
        <source>Working hours {span} overlap {other}</source>
        <translation>Arbetstiderna {span} överlappar {other}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="335" />
        <source>Working hours {text} are not like "mon-fri 08:00-17:00"</source>
        <translation>Arbetstiderna {text} är inte som "mon-fri 08:00-17:00"</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="336" />
        <source>Wrong login or password.</source>
        <translation>Fel inloggningsnamn eller lösenord.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="338" />
        <source>You cannot deactivate your own account</source>
        <translation>Du kan inte inaktivera ditt eget konto</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="358" />
        <source>creating {kind} {name} would repeat {value}, which {other} is also created with</source>
        <translation>att skapa {kind} {name} skulle upprepa {value}, som {other} också skapas med</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="359" />
        <source>creating {kind} {name} would repeat {value}, which {record} already holds</source>
        <translation>att skapa {kind} {name} skulle upprepa {value}, som {record} redan har</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="360" />
        <source>creating {kind} {name}: its {field} would be longer than {max} characters ({length})</source>
        <translation>att skapa {kind} {name}: dess {field} skulle bli längre än {max} tecken ({length})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="391" />
        <source>no external key: the cell is {value}</source>
        <translation>ingen extern nyckel: cellen är {value}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="426" />
        <source>the hub</source>
        <translation>navet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="427" />
        <source>the key is longer than {max} characters ({length})</source>
        <translation>nyckeln är längre än {max} tecken ({length})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="428" />
        <source>the replica</source>
        <translation>repliken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="429" />
        <source>the same as line {first}: imported once</source>
        <translation>samma som rad {first}: importeras en gång</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="448" />
        <source>{db} is not an itsmdesk database: it holds {count} tables of something else (such as '{table}') and no itsmdesk schema. It was left untouched; give itsmdesk a new file or an empty database.</source>
        <translation>{db} är ingen itsmdesk-databas: den innehåller {count} tabeller från något annat (till exempel '{table}') och inget itsmdesk-schema. Den lämnades orörd; ge itsmdesk en ny fil eller en tom databas.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="457" />
        <source>{label} must be at most {max}</source>
        <translation>{label} får vara högst {max}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="462" />
        <source>{name} has no e-mail address; add one before subscribing them to {service}</source>
        <translation>{name} har ingen e-postadress; lägg till en innan du låter hen prenumerera på {service}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="463" />
        <source>{name} is an Outlook .msg file, which this installation cannot read (it needs the optional extract-msg package); save the mail as .eml in Outlook or drag it from Outlook on the web instead.</source>
        <translation>{name} är en Outlook .msg-fil, som den här installationen inte kan läsa (den behöver det valfria paketet extract-msg); spara brevet som .eml i Outlook eller dra det från Outlook på webben i stället.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="464" />
        <source>{name} is more than {max} bytes (it grew while being read); attachments may be at most {max} bytes</source>
        <translation>{name} är större än {max} byte (den växte medan den lästes); bilagor får vara högst {max} byte</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="465" />
        <source>{name} is not a business service; people subscribe to business services</source>
        <translation>{name} är ingen verksamhetstjänst; man prenumererar på verksamhetstjänster</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="466" />
        <source>{name} is not a mail file (.eml or .msg)</source>
        <translation>{name} är ingen e-postfil (.eml eller .msg)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="467" />
        <source>{name} is not a regular file (a device, a pipe or a folder); only files can be attached</source>
        <translation>{name} är ingen vanlig fil (en enhet, en pipe eller en mapp); bara filer kan bifogas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="468" />
        <source>{name} is not an Outlook mail that can be read (damaged, encrypted or not a .msg file).</source>
        <translation>{name} är inget Outlook-brev som kan läsas (skadat, krypterat eller ingen .msg-fil).</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="471" />
        <source>{name} of {kind} is longer than {max} characters ({length}); shorten it</source>
        <translation>{name} för {kind} är längre än {max} tecken ({length}); korta det</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="477" />
        <source>{n} record(s) changed while their duplicate external keys were renamed; nothing was changed</source>
        <translation>{n} post(er) ändrades medan deras dubblerade externa nycklar döptes om; ingenting ändrades</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="480" />
        <source>{path} cannot be read as a database ({reason}); nothing was restored</source>
        <translation>{path} kan inte läsas som en databas ({reason}); ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="481" />
        <source>{path} carries the hub's changes from journal id {start}, but this replica is current only to {checkpoint}: import the answer to an earlier bundle first, or sync over the network. Nothing was applied.</source>
        <translation>{path} innehåller navets ändringar från journal-id {start}, men repliken är aktuell bara till {checkpoint}: importera först svaret på ett tidigare paket, eller synka över nätverket. Inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="482" />
        <source>{path} has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk first. Nothing was restored</source>
        <translation>{path} har schemaversion {found}, nyare än den här versionen av itsmdesk förstår ({ours}); uppgradera itsmdesk först. Ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="483" />
        <source>{path} holds a batch of site {other} inside site {site}'s bundle; nothing was applied.</source>
        <translation>{path} innehåller en omgång från plats {other} i plats {site}s paket; inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="486" />
        <source>{path} is a site's bundle for the hub, not the hub's answer: import it at the hub ('itsmdesk --db HUB sync import-bundle FILE'). Nothing was applied.</source>
        <translation>{path} är en plats paket till navet, inte navets svar: importera det på navet ('itsmdesk --db HUB sync import-bundle FIL'). Inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="487" />
        <source>{path} is damaged (SQLite's integrity check: {detail}); nothing was restored</source>
        <translation>{path} är skadad (SQLite:s integritetskontroll: {detail}); ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="488" />
        <source>{path} is damaged (its checksum does not match what it says); nothing was applied. Carry the file again.</source>
        <translation>{path} är skadad (dess kontrollsumma stämmer inte); inget tillämpades. Bär filen igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="491" />
        <source>{path} is not a file; nothing was restored</source>
        <translation>{path} är inte en fil; ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="492" />
        <source>{path} is not a regular file (a device, a pipe or a socket); an itsmdesk database is a file</source>
        <translation>{path} är ingen vanlig fil (en enhet, en pipe eller en socket); en itsmdesk-databas är en fil</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="493" />
        <source>{path} is not an SQLite database (an itsmdesk backup is one); nothing was restored</source>
        <translation>{path} är inte en SQLite-databas (det är en säkerhetskopia från itsmdesk); ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="495" />
        <source>{path} is not an itsmdesk database (it has no schema version); nothing was restored</source>
        <translation>{path} är inte en itsmdesk-databas (den har ingen schemaversion); ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="497" />
        <source>{path} is not an itsmdesk sync file, or it is damaged (cut short?); nothing was applied.</source>
        <translation>{path} är ingen synkfil från itsmdesk, eller så är den skadad (avkortad?); inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="498" />
        <source>{path} is not an itsmdesk sync file; nothing was applied.</source>
        <translation>{path} är ingen synkfil från itsmdesk; inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="499" />
        <source>{path} is not signed by site {site}'s key (made elsewhere, or changed on the way); nothing was applied.</source>
        <translation>{path} är inte signerad med plats {site}s nyckel (skapad någon annanstans, eller ändrad på vägen); inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="501" />
        <source>{path} is open in another program (an itsmdesk window or command); close it and restore again. Nothing was replaced</source>
        <translation>{path} är öppen i ett annat program (ett itsmdesk-fönster eller kommando); stäng det och återställ igen. Ingenting ersattes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="502" />
        <source>{path} is the database itself; give a backup file</source>
        <translation>{path} är själva databasen; ange en säkerhetskopia</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="503" />
        <source>{path} is the hub's answer for a site, not a site's bundle: import it on the site's replica. Nothing was applied.</source>
        <translation>{path} är navets svar till en plats, inte en plats paket: importera det på platsens replik. Inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="504" />
        <source>{path} is the hub's answer for site {theirs}, not for this replica ({ours}); nothing was applied.</source>
        <translation>{path} är navets svar till plats {theirs}, inte till den här repliken ({ours}); inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="505" />
        <source>{path} is the name of an unfinished backup's temporary file; give another name</source>
        <translation>{path} är namnet på en ofärdig säkerhetskopias temporära fil; ange ett annat namn</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="506" />
        <source>{path} is the unfinished copy of an interrupted backup or restore, not a backup; nothing was restored</source>
        <translation>{path} är den ofärdiga kopian från en avbruten säkerhetskopiering eller återställning, inte en säkerhetskopia; ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="507" />
        <source>{path} was made by a replica of another database; nothing was applied.</source>
        <translation>{path} skapades av en replik av en annan databas; inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="508" />
        <source>{path} was written by a newer itsmdesk; upgrade itsmdesk here first. Nothing was applied.</source>
        <translation>{path} skrevs av en nyare itsmdesk; uppgradera itsmdesk här först. Inget tillämpades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="515" />
        <source>{path}, line {line}: a cell is longer than {limit} characters, the most a CSV cell may hold; shorten it (or close a quote left open)</source>
        <translation>{path}, rad {line}: en cell är längre än {limit} tecken, det mesta en CSV-cell kan rymma; korta den (eller stäng ett citattecken som lämnats öppet)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="516" />
        <source>{path}, line {line}: bad CSV ({reason})</source>
        <translation>{path}, rad {line}: felaktig CSV ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="528" />
        <source>{path}: journal row {row} was changed or removed after it was written (the hash chain breaks there); nothing was restored</source>
        <translation>{path}: journalrad {row} ändrades eller togs bort efter att den skrevs (hashkedjan bryts där); ingenting återställdes</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="531" />
        <source>{record} already has external key {key}; nothing was saved</source>
        <translation>{record} har redan den externa nyckeln {key}; ingenting sparades</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="533" />
        <source>{record} has no field {field} any more; keep the hub's value.</source>
        <translation>{record} har inte längre fältet {field}; behåll navets värde.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="534" />
        <source>{record} is no longer there (deleted since the conflict), so the replica's value cannot be taken; keep the hub's.</source>
        <translation>{record} finns inte längre (borttagen sedan konflikten), så replikens värde kan inte tas; behåll navets.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="536" />
        <source>{record}: the hub deleted what the replica changed, so only the hub's side can be kept.</source>
        <translation>{record}: navet tog bort det som repliken ändrade, så bara navets sida kan behållas.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="537" />
        <source>{record}: the row the replica added cannot be added back (it refers to something deleted since); keep the hub's side.</source>
        <translation>{record}: raden som repliken lade till kan inte läggas tillbaka (den hänvisar till något som tagits bort sedan dess); behåll navets sida.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="538" />
        <source>{record}: the row the replica changed is no longer there, so its value cannot be taken; keep the hub's.</source>
        <translation>{record}: raden som repliken ändrade finns inte längre, så dess värde kan inte tas; behåll navets.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="562" />
        <source>{table}: the unique index on external keys is missing (two imports at once could double records)</source>
        <translation>{table}: det unika indexet på externa nycklar saknas (två importer samtidigt kan dubblera poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="563" />
        <source>{table}: {n} external key(s) held by more than one record, e.g. {examples}</source>
        <translation>{table}: {n} extern(a) nyckel/nycklar finns på mer än en post, t.ex. {examples}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="564" />
        <source>{table}: {n} record(s) held an external key another record already had and were renamed to KEY#dup-N, e.g. {examples}; merge or delete them</source>
        <translation>{table}: {n} post(er) hade en extern nyckel som en annan post redan hade och döptes om till NYCKEL#dup-N, t.ex. {examples}; slå ihop eller ta bort dem</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="565" />
        <source>{table}: {n} record(s) with a {field} that is not allowed, e.g. {examples}</source>
        <translation>{table}: {n} post(er) med ett värde i {field} som inte är tillåtet, t.ex. {examples}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="570" />
        <source>{value} is already held by {record}: two records cannot share {fields}</source>
        <translation>{value} används redan av {record}: två poster kan inte dela {fields}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="571" />
        <source>{value} is also given on line {first}: two records cannot share {fields}</source>
        <translation>{value} anges också på rad {first}: två poster kan inte dela {fields}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="573" />
        <source>{value} is not a finite number</source>
        <translation>{value} är inte ett ändligt tal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="578" />
        <source>{value} is not on the scale {low} to {high}</source>
        <translation>{value} ligger inte på skalan {low} till {high}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="579" />
        <source>{value} is too large: a whole number here is between {min} and {max}</source>
        <translation>{value} är för stort: ett heltal här ligger mellan {min} och {max}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="581" />
        <source>{where} has schema version {found}, newer than this itsmdesk understands ({ours}); upgrade itsmdesk. Nothing was changed.</source>
        <translation>{where} har schemaversion {found}, nyare än den här itsmdesk förstår ({ours}); uppgradera itsmdesk. Ingenting ändrades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="582" />
        <source>{where} is not an itsmdesk database.</source>
        <translation>{where} är ingen itsmdesk-databas.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="583" />
        <source>{who} may not record another member's vote: that needs the role change manager.</source>
        <translation>{who} får inte registrera en annan ledamots röst: det kräver rollen ändringsansvarig.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="584" />
        <source>{who} may not {what}: that needs the role {role_name}.</source>
        <translation>{who} får inte {what}: det kräver rollen {role_name}.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="339" />
        <source>a CI cannot relate to itself</source>
        <translation>ett CI kan inte ha en relation till sig självt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="37" />
        <source>A file could not be read or written: {reason}.</source>
        <translation>En fil kunde inte läsas eller skrivas: {reason}.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="38" />
        <source>A file name or address holds a NUL character (code 0); remove it and try again. Nothing was changed.</source>
        <translation>Ett filnamn eller en adress innehåller ett NUL-tecken (kod 0); ta bort det och försök igen. Inget ändrades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="78" />
        <source>Bad database URL '{url}' ({reason}): write postgresql://USER:PASSWORD@HOST:PORT/DBNAME</source>
        <translation>Felaktig databas-URL '{url}' ({reason}): skriv postgresql://USER:PASSWORD@HOST:PORT/DBNAME</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="80" />
        <source>Bad database URL '{url}': it holds a NUL character</source>
        <translation>Felaktig databas-URL '{url}': den innehåller ett NUL-tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="86" />
        <source>Bad template {text}: {reason}</source>
        <translation>Felaktig mall {text}: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="143" />
        <source>Mapping {path} nests lists or tables too deeply to be a mapping</source>
        <translation>Mappningen {path} nästlar listor eller tabeller för djupt för att vara en mappning</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="144" />
        <source>Mapping {path}, line {line}: not UTF-8 text (byte {byte}); save the mapping as UTF-8</source>
        <translation>Mappningen {path}, rad {line}: inte UTF-8-text (byte {byte}); spara mappningen som UTF-8</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="147" />
        <source>Mapping {path}: [fields] {name}: create only applies to a link to another record</source>
        <translation>Mappningen {path}: [fields] {name}: create gäller bara en länk till en annan post</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="148" />
        <source>Mapping {path}: [fields] {name}: create.{key} = {value} is not a {model} {key}; allowed: {allowed}</source>
        <translation>Mappningen {path}: [fields] {name}: create.{key} = {value} är inte ett giltigt värde för {key} i {model}; tillåtna: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="149" />
        <source>Mapping {path}: [fields] {name}: create.{key} is not a field of {model} (fields: {allowed})</source>
        <translation>Mappningen {path}: [fields] {name}: create.{key} är inget fält i {model} (fält: {allowed})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="150" />
        <source>Mapping {path}: [fields] {name}: create.{key} must be text</source>
        <translation>Mappningen {path}: [fields] {name}: create.{key} måste vara text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="243" />
        <source>Text holding a NUL character (code 0) cannot be stored or searched; nothing was saved. Remove the character and try again.</source>
        <translation>Text som innehåller ett NUL-tecken (kod 0) kan inte sparas eller sökas; inget sparades. Ta bort tecknet och försök igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="258" />
        <source>The file {path} cannot be used: {reason}.</source>
        <translation>Filen {path} kan inte användas: {reason}.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="337" />
        <source>Years {first}-{last} cannot be expanded: give at most {most} years between {low} and {high}</source>
        <translation>Åren {first}-{last} kan inte gås igenom: ange högst {most} år mellan {low} och {high}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="340" />
        <source>a CI name is required</source>
        <translation>ett CI-namn krävs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="341" />
        <source>a class is required</source>
        <translation>en klass krävs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="342" />
        <source>a duration</source>
        <translation>en varaktighet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="343" />
        <source>a name is required</source>
        <translation>ett namn krävs</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="344" />
        <source>a period</source>
        <translation>en period</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="345" />
        <source>a time of day</source>
        <translation>en tid på dagen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="346" />
        <source>a value of another kind</source>
        <translation>ett värde av annat slag</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="347" />
        <source>administrator</source>
        <translation>administratör</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="348" />
        <source>agent</source>
        <translation>handläggare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="349" />
        <source>approve or reject a change</source>
        <translation>godkänna eller avslå en ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="350" />
        <source>cannot create {kind} {value}: its {field} may hold at most {max} characters</source>
        <translation>kan inte skapa {kind} {value}: dess {field} får vara högst {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="351" />
        <source>change categories, SLA targets and calendars</source>
        <translation>ändra kategorier, SLA-mål och kalendrar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="352" />
        <source>change manager</source>
        <translation>ändringsansvarig</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="353" />
        <source>change organisation settings</source>
        <translation>ändra organisationens inställningar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="354" />
        <source>ci: {n} CI(s) without a graph index entry; impact analysis cannot see them (repair with: itsmdesk check --repair)</source>
        <translation>ci: {n} CI utan post i grafindexet; konsekvensanalysen ser dem inte (reparera med: itsmdesk check --repair)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="355" />
        <source>class {cls} has no attribute '{attr}'</source>
        <translation>klassen {cls} har inget attribut '{attr}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="356" />
        <source>close a problem or publish a known error</source>
        <translation>stänga ett problem eller publicera ett känt fel</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="357" />
        <source>column appears twice</source>
        <translation>kolumnen förekommer två gånger</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="361" />
        <source>decide against the CAB's votes</source>
        <translation>besluta mot CAB:s röster</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="362" />
        <source>edit a private saved queue</source>
        <translation>redigera en privat sparad kö</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="363" />
        <source>edit a shared saved queue</source>
        <translation>redigera en delad sparad kö</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="364" />
        <source>edit change windows and templates</source>
        <translation>redigera ändringsfönster och mallar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="365" />
        <source>edit configuration items and their relations</source>
        <translation>redigera konfigurationsobjekt och deras relationer</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="366" />
        <source>edit organisations, sites and teams</source>
        <translation>redigera organisationer, platser och grupper</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="367" />
        <source>emergency change</source>
        <translation>akut ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="368" />
        <source>emergency release: shortened build and test</source>
        <translation>akut release: förkortad byggnad och test</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="369" />
        <source>external key longer than {max} characters</source>
        <translation>extern nyckel längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="370" />
        <source>highest risk of the bundled changes ({changes})</source>
        <translation>högsta risken bland de ingående ändringarna ({changes})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="371" />
        <source>implement a change</source>
        <translation>genomföra en ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="372" />
        <source>integrity: {detail}</source>
        <translation>integritet: {detail}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="373" />
        <source>journal row {row} was changed or removed after it was written (the journal's hash chain breaks there)</source>
        <translation>journalrad {row} ändrades eller togs bort efter att den skrevs (journalens hashkedja bryts där)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="374" />
        <source>journal: the triggers that keep it append-only were removed ({names})</source>
        <translation>journal: triggrarna som gör den till enbart tillägg har tagits bort ({names})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="375" />
        <source>key {key} again (first on line {first}); an event log needs [events] fold = true</source>
        <translation>nyckeln {key} igen (först på rad {first}); en händelselogg kräver [events] fold = true</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="376" />
        <source>line ends after {given} of {columns} columns (truncated line?)</source>
        <translation>raden slutar efter {given} av {columns} kolumner (avkortad rad?)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="377" />
        <source>longer than {max} characters</source>
        <translation>längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="378" />
        <source>longer than {max} characters ({length})</source>
        <translation>längre än {max} tecken ({length})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="379" />
        <source>major release</source>
        <translation>större release</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="380" />
        <source>manage people, their roles and passwords</source>
        <translation>hantera personer, deras roller och lösenord</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="381" />
        <source>manage releases, their plans and waves</source>
        <translation>hantera releaser, deras planer och vågor</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="382" />
        <source>move a change through its lifecycle</source>
        <translation>flytta en ändring genom dess livscykel</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="383" />
        <source>move a ticket to another team</source>
        <translation>flytta ett ärende till en annan grupp</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="384" />
        <source>no CI named '{name}'</source>
        <translation>inget CI med namnet '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="385" />
        <source>no backout plan</source>
        <translation>ingen återställningsplan</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="386" />
        <source>no category {value} (add create_missing = true to the mapping to create it)</source>
        <translation>kategorin {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="387" />
        <source>no change {value} (add create_missing = true to the mapping to create it)</source>
        <translation>ändringen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="388" />
        <source>no ci {value} (add create_missing = true to the mapping to create it)</source>
        <translation>CI:t {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="389" />
        <source>no ci_class {value} (add create_missing = true to the mapping to create it)</source>
        <translation>CI-klassen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="390" />
        <source>no event time</source>
        <translation>ingen händelsetid</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="392" />
        <source>no incident {value} (add create_missing = true to the mapping to create it)</source>
        <translation>ärendet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="393" />
        <source>no known_error {value} (add create_missing = true to the mapping to create it)</source>
        <translation>det kända felet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="394" />
        <source>no organisation {value} (add create_missing = true to the mapping to create it)</source>
        <translation>organisationen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="395" />
        <source>no outage</source>
        <translation>inget avbrott</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="396" />
        <source>no outage, downtime {minutes} min</source>
        <translation>inget avbrott, driftstopp {minutes} min</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="397" />
        <source>no person {value} (add create_missing = true to the mapping to create it)</source>
        <translation>personen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="398" />
        <source>no problem {value} (add create_missing = true to the mapping to create it)</source>
        <translation>problemet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="399" />
        <source>no site {value} (add create_missing = true to the mapping to create it)</source>
        <translation>platsen {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="400" />
        <source>no team {value} (add create_missing = true to the mapping to create it)</source>
        <translation>teamet {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="401" />
        <source>no {kind} {value} (add create_missing = true to the mapping to create it)</source>
        <translation>{kind} {value} finns inte (lägg till create_missing = true i mappningen för att skapa saknade poster)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="402" />
        <source>normal change</source>
        <translation>normal ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="403" />
        <source>pg_dump failed: {reason}</source>
        <translation>pg_dump misslyckades: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="404" />
        <source>problem manager</source>
        <translation>problemansvarig</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="405" />
        <source>publish service announcements</source>
        <translation>publicera driftmeddelanden</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="406" />
        <source>raise a ticket</source>
        <translation>anmäla ett ärende</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="407" />
        <source>raise and edit a change</source>
        <translation>registrera och redigera en ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="408" />
        <source>read and write private notes</source>
        <translation>läsa och skriva interna anteckningar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="409" />
        <source>record a CAB decision</source>
        <translation>registrera ett CAB-beslut</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="410" />
        <source>record another member's vote</source>
        <translation>registrera en annan ledamots röst</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="411" />
        <source>relation: {n} relation(s) whose graph index entries differ from their CIs'; impact analysis follows them wrongly (repair with: itsmdesk check --repair)</source>
        <translation>relation: {n} relation(er) vars poster i grafindexet skiljer sig från deras CI:ers; konsekvensanalysen följer dem fel (reparera med: itsmdesk check --repair)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="412" />
        <source>release manager</source>
        <translation>releaseansvarig</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="413" />
        <source>requester</source>
        <translation>beställare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="414" />
        <source>required column is missing</source>
        <translation>obligatorisk kolumn saknas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="415" />
        <source>rollout in {waves} waves to {sites} sites</source>
        <translation>utrullning i {waves} vågor till {sites} platser</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="416" />
        <source>rollout to {sites} sites</source>
        <translation>utrullning till {sites} platser</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="417" />
        <source>run CAB meetings (members, agenda, minutes)</source>
        <translation>leda CAB-möten (ledamöter, dagordning, protokoll)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="418" />
        <source>schedule a change</source>
        <translation>schemalägga en ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="419" />
        <source>see other people's tickets</source>
        <translation>se andras ärenden</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="420" />
        <source>see this ticket</source>
        <translation>se det här ärendet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="421" />
        <source>service outage</source>
        <translation>tjänsteavbrott</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="422" />
        <source>service outage, downtime {minutes} min</source>
        <translation>tjänsteavbrott, driftstopp {minutes} min</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="423" />
        <source>several release factors on top of risky changes</source>
        <translation>flera releasefaktorer utöver riskfyllda ändringar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="424" />
        <source>standard change</source>
        <translation>standardändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="425" />
        <source>team lead</source>
        <translation>gruppledare</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="430" />
        <source>the same relation is on line {first}</source>
        <translation>samma relation finns på rad {first}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="431" />
        <source>unknown CI class '{name}'</source>
        <translation>okänd CI-klass '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="432" />
        <source>unknown column (not a CI field or class attribute)</source>
        <translation>okänd kolumn (varken CI-fält eller klassattribut)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="433" />
        <source>unknown column (use source, type, target, redundant, propagates)</source>
        <translation>okänd kolumn (använd source, type, target, redundant, propagates)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="434" />
        <source>unknown site '{name}'</source>
        <translation>okänd plats '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="435" />
        <source>unknown team '{name}'</source>
        <translation>okänt team '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="436" />
        <source>unknown value {value} (the map knows: {known})</source>
        <translation>okänt värde {value} (mappningen känner till: {known})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="437" />
        <source>vote on a change</source>
        <translation>rösta om en ändring</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="438" />
        <source>work on problems</source>
        <translation>arbeta med problem</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="439" />
        <source>work on tickets</source>
        <translation>arbeta med ärenden</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="440" />
        <source>write knowledge articles</source>
        <translation>skriva kunskapsartiklar</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="441" />
        <source>{cells} cells but the header has {columns} columns</source>
        <translation>{cells} celler men rubrikraden har {columns} kolumner</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="442" />
        <source>{cells} cells but {columns} columns</source>
        <translation>{cells} celler men {columns} kolumner</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="443" />
        <source>{change} falls in blackout window '{window}'</source>
        <translation>{change} infaller i frysperioden '{window}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="444" />
        <source>{change} is outside the maintenance windows of {cis}</source>
        <translation>{change} ligger utanför underhållsfönstren för {cis}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="445" />
        <source>{change} overlaps {other} on {cis}</source>
        <translation>{change} överlappar {other} på {cis}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="446" />
        <source>{change} overlaps {other}; impact path via {cis}</source>
        <translation>{change} överlappar {other}; påverkansväg via {cis}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="447" />
        <source>{db} already holds records; use another --db, or --force to add demo data anyway</source>
        <translation>{db} innehåller redan poster; använd en annan --db, eller --force för att lägga till demodata ändå</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="449" />
        <source>{failed} of {finished} earlier change(s) on these CIs failed</source>
        <translation>{failed} av {finished} tidigare ändringar på dessa CI:n misslyckades</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="450" />
        <source>{field} is required but empty</source>
        <translation>{field} är obligatoriskt men tomt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="451" />
        <source>{field} is required: map it in [fields]</source>
        <translation>{field} är obligatoriskt: mappa det i [fields]</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="452" />
        <source>{label} '{value}' is already taken</source>
        <translation>{label} '{value}' är redan upptaget</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="453" />
        <source>{label} '{value}' is not one of: {allowed}</source>
        <translation>{label} '{value}' är inte något av: {allowed}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="454" />
        <source>{label} is longer than {max} characters</source>
        <translation>{label} är längre än {max} tecken</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="455" />
        <source>{label} is required</source>
        <translation>{label} är obligatoriskt</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="456" />
        <source>{label} must be a whole number of at least {min}</source>
        <translation>{label} måste vara ett heltal som är minst {min}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="458" />
        <source>{label}: '{value}' is not a date and time</source>
        <translation>{label}: '{value}' är inte ett datum med tid</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="459" />
        <source>{label}: the end ({end}) must come after the start ({start})</source>
        <translation>{label}: slutet ({end}) måste komma efter starten ({start})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="460" />
        <source>{local} does not exist in {zone} (the clocks jumped forward); read as {actual}</source>
        <translation>{local} finns inte i {zone} (klockan ställdes fram); läst som {actual}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="461" />
        <source>{login} is the last administrator: make someone else an administrator first</source>
        <translation>{login} är den sista administratören: gör någon annan till administratör först</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="469" />
        <source>{name} is {size} bytes; attachments may be at most {max} bytes</source>
        <translation>{name} är {size} byte; bilagor får vara högst {max} byte</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="470" />
        <source>{name} must be 1 (high), 2 (medium) or 3 (low)</source>
        <translation>{name} måste vara 1 (hög), 2 (medel) eller 3 (låg)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="472" />
        <source>{name} of {kind} is {value}, outside the numbers it can hold ({low} to {high})</source>
        <translation>{name} för {kind} är {value}, utanför de tal det kan rymma ({low} till {high})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="473" />
        <source>{name}={value} is not valid: {doc}</source>
        <translation>{name}={value} är inte giltigt: {doc}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="474" />
        <source>{n} business service(s) impacted</source>
        <translation>{n} verksamhetstjänst(er) påverkas</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="475" />
        <source>{n} business service(s) impacted: {services}</source>
        <translation>{n} verksamhetstjänst(er) påverkas: {services}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="476" />
        <source>{n} business service(s) impacted: {services} and {more} more</source>
        <translation>{n} verksamhetstjänst(er) påverkas: {services} och {more} till</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="478" />
        <source>{pairs} overlapping change(s), {blackouts} blackout(s)</source>
        <translation>{pairs} överlappande ändring(ar), {blackouts} frysperiod(er)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="479" />
        <source>{pairs} overlapping change(s), {blackouts} blackout(s), outside maintenance window</source>
        <translation>{pairs} överlappande ändring(ar), {blackouts} frysperiod(er), utanför underhållsfönster</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="484" />
        <source>{path} is a folder, not a database file</source>
        <translation>{path} är en mapp, inte en databasfil</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="485" />
        <source>{path} is a folder; give a file name for the backup</source>
        <translation>{path} är en mapp; ange ett filnamn för säkerhetskopian</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="489" />
        <source>{path} is empty</source>
        <translation>{path} är tom</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="490" />
        <source>{path} is not UTF-8 text</source>
        <translation>{path} är inte UTF-8-text</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="494" />
        <source>{path} is not an iCalendar file: {reason}</source>
        <translation>{path} är inte en iCalendar-fil: {reason}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="496" />
        <source>{path} is not an itsmdesk database or is corrupt ({reason})</source>
        <translation>{path} är ingen itsmdesk-databas eller är skadad ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="500" />
        <source>{path} is not valid JSON: {error}</source>
        <translation>{path} är inte giltig JSON: {error}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="509" />
        <source>{path}, line {line}: DTEND must be of the same type as DTSTART (both dates, or both dates and times)</source>
        <translation>{path}, rad {line}: DTEND måste vara av samma typ som DTSTART (båda datum, eller båda datum med tid)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="510" />
        <source>{path}, line {line}: DTEND {end} is before DTSTART {start}</source>
        <translation>{path}, rad {line}: DTEND {end} ligger före DTSTART {start}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="511" />
        <source>{path}, line {line}: DURATION '{raw}' is negative</source>
        <translation>{path}, rad {line}: DURATION '{raw}' är negativ</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="512" />
        <source>{path}, line {line}: DURATION '{raw}' is not a duration ({reason})</source>
        <translation>{path}, rad {line}: DURATION '{raw}' är ingen varaktighet ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="513" />
        <source>{path}, line {line}: DURATION must be a length such as P1D, not {what}</source>
        <translation>{path}, rad {line}: DURATION måste vara en längd som P1D, inte {what}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="514" />
        <source>{path}, line {line}: RRULE '{raw}' is not a rule itsmdesk can read ({reason})</source>
        <translation>{path}, rad {line}: RRULE '{raw}' är ingen regel som itsmdesk kan läsa ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="517" />
        <source>{path}, line {line}: the event has {count} {prop} lines; it may have one</source>
        <translation>{path}, rad {line}: händelsen har {count} {prop}-rader; den får ha en</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="518" />
        <source>{path}, line {line}: the event lasts {days} days; a holiday lasts at most {most}</source>
        <translation>{path}, rad {line}: händelsen varar {days} dagar; en helgdag varar högst {most}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="519" />
        <source>{path}, line {line}: the event reaches {day}, outside the dates itsmdesk works with ({first} to {last})</source>
        <translation>{path}, rad {line}: händelsen når {day}, utanför de datum itsmdesk arbetar med ({first} till {last})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="520" />
        <source>{path}, line {line}: the event repeats more than {most} times in {first}-{last}; is it a holiday?</source>
        <translation>{path}, rad {line}: händelsen upprepas fler än {most} gånger under {first}-{last}; är det en helgdag?</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="521" />
        <source>{path}, line {line}: the event's repetition cannot be computed ({reason})</source>
        <translation>{path}, rad {line}: händelsens upprepning kan inte beräknas ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="522" />
        <source>{path}, line {line}: the file names more than {most} holidays; is it a holiday list?</source>
        <translation>{path}, rad {line}: filen anger fler än {most} helgdagar; är det en lista över helgdagar?</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="523" />
        <source>{path}, line {line}: {prop} '{raw}' is not a date that exists ({reason})</source>
        <translation>{path}, rad {line}: {prop} '{raw}' är inget datum som finns ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="524" />
        <source>{path}, line {line}: {prop} '{raw}' is not a list of dates ({reason})</source>
        <translation>{path}, rad {line}: {prop} '{raw}' är ingen lista med datum ({reason})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="525" />
        <source>{path}, line {line}: {prop} must be a date or a date and time, not {what}</source>
        <translation>{path}, rad {line}: {prop} måste vara ett datum eller ett datum med tid, inte {what}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="526" />
        <source>{path}, line {line}: {prop} must hold dates, not {what}</source>
        <translation>{path}, rad {line}: {prop} måste innehålla datum, inte {what}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="527" />
        <source>{path}, line {line}: {prop} {day} is outside the dates itsmdesk works with ({first} to {last})</source>
        <translation>{path}, rad {line}: {prop} {day} ligger utanför de datum itsmdesk arbetar med ({first} till {last})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="529" />
        <source>{person} is not on the CAB for {category}</source>
        <translation>{person} ingår inte i CAB för {category}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="530" />
        <source>{raw} gives {name} {value}, which is not one of: {shown}</source>
        <translation>{raw} ger {name} {value}, som inte är något av: {shown}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="532" />
        <source>{record} changed while the import ran; nothing was imported. Run the import again.</source>
        <translation>{record} ändrades medan importen pågick; ingenting importerades. Kör importen igen.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="535" />
        <source>{record} was changed by {who} at {when} UTC after you opened it (your version {yours}, now {theirs}); nothing was saved.</source>
        <translation>{record} ändrades av {who} {when} UTC efter att du öppnade den (din version {yours}, nu {theirs}); ingenting sparades.</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="539" />
        <source>{ref} cannot be approved against the CAB's votes ({detail})</source>
        <translation>{ref} kan inte godkännas mot CAB:s röster ({detail})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="540" />
        <source>{ref} cannot go from {old} to {new}</source>
        <translation>{ref} kan inte gå från {old} till {new}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="541" />
        <source>{ref} has no CAB approval ({detail})</source>
        <translation>{ref} saknar CAB-godkännande ({detail})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="542" />
        <source>{ref} has no workaround to apply</source>
        <translation>{ref} har ingen tillfällig lösning att tillämpa</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="543" />
        <source>{ref} is not resolved yet; an article needs the resolution</source>
        <translation>{ref} är inte löst ännu; en artikel behöver lösningen</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="544" />
        <source>{ref} is {status}: changing its risk needs a reason (a new level sends it back for approval)</source>
        <translation>{ref} är {status}: att ändra dess risk kräver en orsak (en ny nivå skickar tillbaka den för godkännande)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="545" />
        <source>{ref} is {status}: its risk is no longer changed</source>
        <translation>{ref} är {status}: dess risk ändras inte längre</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="546" />
        <source>{ref} is {status}; a review follows implementation</source>
        <translation>{ref} är {status}; granskning sker efter genomförandet</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="547" />
        <source>{ref} is {status}; only changes not yet started can be rescheduled</source>
        <translation>{ref} är {status}; endast ändringar som inte har påbörjats kan planeras om</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="548" />
        <source>{ref} needs a planned start before it can be {target}</source>
        <translation>{ref} behöver en planerad start innan den kan bli {target}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="549" />
        <source>{ref} needs an implementation plan and a backout plan before submission</source>
        <translation>{ref} behöver en implementeringsplan och en återställningsplan innan den skickas in</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="550" />
        <source>{ref} was not rejected by the CAB ({detail})</source>
        <translation>{ref} avslogs inte av CAB ({detail})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="551" />
        <source>{ref}: stored SLA {stored} but its history gives {computed} (repair with: itsmdesk sla refresh)</source>
        <translation>{ref}: sparat SLA {stored} men historiken ger {computed} (rätta med: itsmdesk sla refresh)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="552" />
        <source>{release} already delivers '{name}'</source>
        <translation>{release} levererar redan '{name}'</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="553" />
        <source>{release} bundles no change; add the approved changes first</source>
        <translation>{release} innehåller ingen ändring; lägg först till de godkända ändringarna</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="554" />
        <source>{release} cannot move from {old} to {new} (allowed: {allowed})</source>
        <translation>{release} kan inte gå från {old} till {new} (tillåtet: {allowed})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="555" />
        <source>{release} cannot move to {new}: bundled change(s) not approved: {changes}</source>
        <translation>{release} kan inte gå till {new}: ingående ändringar är inte godkända: {changes}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="556" />
        <source>{release} is {status}; waves are deployed once it is approved</source>
        <translation>{release} är {status}; vågor driftsätts när den har godkänts</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="557" />
        <source>{report} needs --{option} REF</source>
        <translation>{report} kräver --{option} REF</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="558" />
        <source>{src} already {type} {tgt}</source>
        <translation>{src} {type} redan {tgt}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="559" />
        <source>{table} row {row}: points at a missing {parent}</source>
        <translation>{table} rad {row}: pekar på en saknad {parent}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="560" />
        <source>{table}.{column}: {n} row(s) point at a missing {parent}</source>
        <translation>{table}.{column}: {n} rad(er) pekar på en saknad {parent}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="561" />
        <source>{table}: reference {ref} used {n} times</source>
        <translation>{table}: referensen {ref} används {n} gånger</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="566" />
        <source>{text} is not a date (YYYY-MM-DD)</source>
        <translation>{text} är inget datum (ÅÅÅÅ-MM-DD)</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="567" />
        <source>{text} is not a duration like 30m, 8h or 1h30m</source>
        <translation>{text} är ingen tidslängd som 30m, 8h eller 1h30m</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="568" />
        <source>{text} is not years like 2026-2030</source>
        <translation>{text} är inga år som 2026-2030</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="569" />
        <source>{type} change</source>
        <translation>ändring av typen {type}</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="572" />
        <source>{value} is neither true ({true}) nor false ({false})</source>
        <translation>{value} är varken sant ({true}) eller falskt ({false})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="574" />
        <source>{value} is not a number</source>
        <translation>{value} är inte ett tal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="575" />
        <source>{value} is not a number (decimal separator {separator})</source>
        <translation>{value} är inte ett tal (decimaltecken {separator})</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="576" />
        <source>{value} is not a valid {name} (one of: {shown}); add a map</source>
        <translation>{value} är inte ett giltigt värde för {name} (något av: {shown}); lägg till en map</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="577" />
        <source>{value} is not a whole number</source>
        <translation>{value} är inte ett heltal</translation>
    </message>
    <message>
        <location filename="_service_messages.py" line="580" />
        <source>{value} matches none of the date formats {formats}</source>
        <translation>{value} passar inget av datumformaten {formats}</translation>
    </message>
</context>
<context>
    <name>knowledge</name>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="319" />
        <source>Article from incident</source>
        <translation>Artikel från incident</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="320" />
        <source>Reference of a resolved incident:</source>
        <translation>Referens till en löst incident:</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="337" />
        <source>New &amp;article</source>
        <translation>Ny &amp;artikel</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/knowledge/panel.py" line="340" />
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
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="49" />
        <source>Sync conflicts</source>
        <translation>Synkroniseringskonflikter</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/panels.py" line="50" />
        <source>Unmatched mail</source>
        <translation>Omatchad e-post</translation>
    </message>
</context>
<context>
    <name>problems</name>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="210" />
        <source>New &amp;problem</source>
        <translation>Nytt &amp;problem</translation>
    </message>
    <message>
        <location filename="../../itsmdesk/views/problems/panel.py" line="211" />
        <source>New &amp;known error</source>
        <translation>Nytt &amp;känt fel</translation>
    </message>
</context>
</TS>