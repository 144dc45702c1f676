"""The dockable panels: object name, title, and the module that builds each.

A panel module exposes ``create_panel(ctx: AppContext, window) -> QWidget``.  When its module is
not there yet the main window shows a placeholder, so the frame is complete from the start.
Optionally it exposes ``menu_actions(ctx, window) -> list[tuple[str, QAction]]`` where the
string names the menu ("File", "Records", "Reports", "Tools") the action belongs in.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt


def _t(text: str) -> str:
    return QCoreApplication.translate("panels", text)


@dataclass(frozen=True)
class PanelSpec:
    object_name: str
    title_source: str
    module: str
    area: Qt.DockWidgetArea
    shortcut: str = ""

    @property
    def title(self) -> str:
        return _t(self.title_source)


L, R, B = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
           Qt.DockWidgetArea.BottomDockWidgetArea)

# QT_TRANSLATE_NOOP equivalents: the titles are translated in PanelSpec.title.
PANELS: list[PanelSpec] = [
    PanelSpec("queuesDock", QT_TRANSLATE_NOOP("panels", "Ticket queues"), "itsmdesk.views.queue.panel", L, "Alt+1"),
    PanelSpec("cmdbDock", QT_TRANSLATE_NOOP("panels", "CMDB"), "itsmdesk.views.cmdb.panel", L, "Alt+2"),
    PanelSpec("calendarDock", QT_TRANSLATE_NOOP("panels", "Change calendar"), "itsmdesk.views.calendar.panel", B, "Alt+3"),
    PanelSpec("announcementsDock", QT_TRANSLATE_NOOP("panels", "Announcements"), "itsmdesk.views.announcements.panel", R, "Alt+4"),
    PanelSpec("knowledgeDock", QT_TRANSLATE_NOOP("panels", "Knowledge search"), "itsmdesk.views.knowledge.panel", R, "Alt+5"),
    PanelSpec("problemsDock", QT_TRANSLATE_NOOP("panels", "Problems and known errors"), "itsmdesk.views.problems.panel", L, "Alt+6"),
    PanelSpec("dashboardDock", QT_TRANSLATE_NOOP("panels", "Trends dashboard"), "itsmdesk.views.dashboard.panel", B, "Alt+7"),
    PanelSpec("availabilityDock", QT_TRANSLATE_NOOP("panels", "Availability"), "itsmdesk.views.availability.panel", B, "Alt+8"),
    PanelSpec("releasesDock", QT_TRANSLATE_NOOP("panels", "Releases"), "itsmdesk.views.releases.panel", L, "Alt+9"),
    PanelSpec("changesDock", QT_TRANSLATE_NOOP("panels", "Changes and CAB"), "itsmdesk.views.changes.panel", L, "Alt+0"),
    # hidden unless the database is a replica or has sync conflicts (ConflictsPanel.apply_visibility)
    PanelSpec("conflictsDock", QT_TRANSLATE_NOOP("panels", "Sync conflicts"), "itsmdesk.views.conflicts.panel", B, "Ctrl+Alt+Y"),
    PanelSpec("mailDock", QT_TRANSLATE_NOOP("panels", "Unmatched mail"), "itsmdesk.views.mail.panel", R),
]

# Record forms opened as tabs in the centre: record kind -> module with
# ``create_form(ctx, record_id_or_None, window, kind=kind) -> QWidget``; the widget may have
# ``title()``, a ``sig_title_changed(str)`` signal and ``can_close() -> bool``.
FORMS: dict[str, str] = {
    "incident": "itsmdesk.views.queue.incident_form",
    "request": "itsmdesk.views.queue.incident_form",
    "ci": "itsmdesk.views.cmdb.ci_form",
    "problem": "itsmdesk.views.problems.problem_form",
    "known_error": "itsmdesk.views.problems.known_error_form",
    "change": "itsmdesk.views.changes.change_form",
    "cab_meeting": "itsmdesk.views.changes.cab_meeting_form",
    "release": "itsmdesk.views.releases.release_form",
    "article": "itsmdesk.views.knowledge.article_form",
}

# Modules that only contribute menu actions (wizards, dialogs): each exposes
# ``menu_actions(ctx, window) -> list[tuple[str, QAction]]``.
MENU_MODULES: list[str] = [
    "itsmdesk.views.importer.actions",
    "itsmdesk.views.dialogs.actions",
]
